import { type CniResult, type PluginHandlers, runPlugin } from '@twill/cni-core';
import { MemoryStore } from '@twill/ipam';
import { describe, expect, it, vi } from 'vitest';

import { DatastoreNotReadyError, LinkExistsError, PodNotFoundError } from '../../src/plugin/errors.js';
import { endpointRegistryWithPolicy, StoreEndpointRegistry } from '../../src/plugin/endpoints.js';
import { createTwillPluginHandlers } from '../../src/plugin/handlers.js';
import { hostInterfaceName } from '../../src/plugin/names.js';
import { type DelegateIpam, type EndpointPolicyHooks, type EndpointRecord, type Plumbing, type PodDirectory, type PodPlumbingRequest, type TwillPluginPorts } from '../../src/plugin/ports.js';

// A kernel in a map: which host links exist, with what they were plumbed.
class FakePlumbing implements Plumbing {
  readonly links = new Map<string, PodPlumbingRequest>();
  failNext: Error | undefined;
  /** While set, every add waits for it before making its links. */
  gate: Promise<void> | undefined;
  /** Adds waiting at the gate. */
  waiting = 0;

  async add(request: PodPlumbingRequest): Promise<{ hostMac: string; podMac: string }> {
    if (this.gate !== undefined) {
      this.waiting += 1;
      await this.gate;
      this.waiting -= 1;
    }
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      return Promise.reject(error);
    }
    if (this.links.has(request.hostInterface)) return Promise.reject(new LinkExistsError(request.hostInterface, 'the node', 'remove it'));
    this.links.set(request.hostInterface, request);
    return Promise.resolve({ hostMac: 'ee:ee:ee:ee:ee:ee', podMac: '02:00:00:00:00:01' });
  }

  remove(request: { hostInterface: string }): Promise<void> {
    this.links.delete(request.hostInterface);
    return Promise.resolve();
  }

  check(request: PodPlumbingRequest): Promise<string[]> {
    const link = this.links.get(request.hostInterface);
    if (link === undefined) return Promise.resolve([`host: interface ${request.hostInterface} is missing`]);
    return Promise.resolve(request.addresses.filter((a) => !link.addresses.includes(a)).map((a) => `pod: lacks address ${a}`));
  }
}

// One call at a time in the datastore, as the warm agent gives its turns (serve.ts).
function oneAtATime(): () => Promise<() => Promise<void>> {
  let tail = Promise.resolve();
  return async () => {
    const previous = tail;
    let done!: () => void;
    tail = new Promise((resolve) => {
      done = resolve;
    });
    await previous;
    return () => {
      done();
      return Promise.resolve();
    };
  };
}

function setup(options: { delegate?: DelegateIpam; openFails?: boolean; logs?: unknown[][]; policy?: EndpointPolicyHooks; ports?: Partial<TwillPluginPorts> } = {}) {
  const store = new MemoryStore();
  const plumbing = new FakePlumbing();
  const registry = new StoreEndpointRegistry(store);
  const endpoints = options.policy === undefined ? registry : endpointRegistryWithPolicy(registry, options.policy);
  const turn = oneAtATime();
  const ports: TwillPluginPorts = {
    plumbing,
    openDatastore: async () => {
      if (options.openFails === true) throw new DatastoreNotReadyError('/nowhere/twill.db', 'EACCES');
      return { datastore: { store, endpoints, location: 'memory' }, release: await turn() };
    },
    delegate: options.delegate ?? {
      add: () => Promise.reject(new Error('no delegate')),
      del: () => Promise.reject(new Error('no delegate')),
      check: () => Promise.reject(new Error('no delegate')),
    },
    hostname: () => 'node-a',
    now: () => 1_000,
    ...(options.logs === undefined
      ? {}
      : {
          logger: (config) => ({
            info: (obj, msg) => options.logs?.push(['info', config.logLevel, obj, msg]),
            warn: (obj, msg) => options.logs?.push(['warn', config.logLevel, obj, msg]),
          }),
        }),
    ...options.ports,
  };
  return { store, plumbing, handlers: createTwillPluginHandlers(ports), endpoints: new StoreEndpointRegistry(store) };
}

// Blocks are claimed at random: any address of the pools, at full length.
const V4 = expect.stringMatching(/^10\.244\.0\.\d+\/32$/u) as unknown as string;
const V6 = expect.stringMatching(/^fd00:10::[0-9a-f]*\/128$/u) as unknown as string;

const poolConfig = { cniVersion: '1.1.0', name: 'net1', type: 'twill', mtu: 1450, ipam: { type: 'twill-ipam', pools: [{ cidr: '10.244.0.0/24', blockSize: 28 }, { cidr: 'fd00:10::/120', blockSize: 124 }] } };

async function call(handlers: PluginHandlers, command: string, config: object, env: Record<string, string> = {}): Promise<{ code: number; out: Record<string, unknown> | undefined }> {
  let stdout = '';
  const code = await runPlugin(
    {
      env: { CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/pod1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', CNI_ARGS: 'K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0', ...env },
      stdin: new TextEncoder().encode(JSON.stringify(config)),
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: () => true },
    },
    handlers,
  );
  return { code, out: stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>) };
}

describe('twill plugin handlers (fake kernel, memory store)', () => {
  it('ADD plumbs the pool addresses as /32 and /128 and answers 1.1.0 with routes via the link-local gateways', async () => {
    const { handlers, plumbing, endpoints } = setup();
    const { code, out } = await call(handlers, 'ADD', poolConfig);
    expect(code).toBe(0);
    const host = hostInterfaceName('c1', 'eth0');
    expect(out).toEqual({
      cniVersion: '1.1.0',
      interfaces: [
        { name: host, mac: 'ee:ee:ee:ee:ee:ee' },
        { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/run/netns/pod1' },
      ],
      ips: [
        { address: V4, gateway: '169.254.1.1', interface: 1 },
        { address: V6, gateway: 'fe80::1', interface: 1 },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '169.254.1.1' },
        { dst: '::/0', gw: 'fe80::1' },
      ],
    });
    expect(plumbing.links.get(host)).toMatchObject({ mtu: 1450, ifName: 'eth0', netns: '/run/netns/pod1' });
    expect(await endpoints.list('net1')).toEqual([
      { network: 'net1', containerId: 'c1', ifName: 'eth0', hostInterface: host, addresses: [V4, V6], netns: '/run/netns/pod1', namespace: 'shop', pod: 'web-0', since: 1_000, node: 'node-a' },
    ]);
  });

  it('a second ADD of an attached container fails with code 122 and leaves the first attachment alone', async () => {
    const { handlers, plumbing, endpoints } = setup();
    await call(handlers, 'ADD', poolConfig);
    const again = await call(handlers, 'ADD', poolConfig, { CNI_IFNAME: 'eth1' });
    expect(again.out).toMatchObject({ code: 122, msg: 'twill: container c1 is already attached to net1 (interface eth0)', details: 'run DEL for that attachment first' });
    expect([...plumbing.links.keys()]).toEqual([hostInterfaceName('c1', 'eth0')]);
    expect((await endpoints.list('net1')).map((e) => e.ifName)).toEqual(['eth0']);
  });

  it('converts the result to the version asked for (0.4.0)', async () => {
    const { handlers } = setup();
    const { out } = await call(handlers, 'ADD', { ...poolConfig, cniVersion: '0.4.0' });
    expect(out).toMatchObject({ cniVersion: '0.4.0', ips: [{ version: '4', address: V4, gateway: '169.254.1.1', interface: 1 }, { version: '6' }] });
  });

  it('a failed plumbing leaves nothing: the address goes back to the pool, no endpoint', async () => {
    const { handlers, plumbing, endpoints } = setup();
    plumbing.failNext = new LinkExistsError('eth0', '/run/netns/pod1', 'ask for another CNI_IFNAME');
    const failed = await call(handlers, 'ADD', poolConfig);
    expect(failed).toMatchObject({ code: 1, out: { code: 120, msg: 'twill: interface eth0 already exists in /run/netns/pod1', details: 'ask for another CNI_IFNAME' } });
    expect(plumbing.links.size).toBe(0);
    expect(await endpoints.list('net1')).toEqual([]);
    // The handle holds nothing, so the same container can ADD again.
    expect((await call(handlers, 'ADD', poolConfig)).code).toBe(0);
  });

  it('DEL releases by handle and is idempotent (twice, and without CNI_NETNS)', async () => {
    const { handlers, plumbing, endpoints } = setup();
    const first = await call(handlers, 'ADD', poolConfig);
    expect((await call(handlers, 'DEL', poolConfig)).code).toBe(0);
    expect((await call(handlers, 'DEL', poolConfig, { CNI_NETNS: '' })).code).toBe(0);
    expect(plumbing.links.size).toBe(0);
    expect(await endpoints.list('net1')).toEqual([]);
    // The released address rests (cooldown): a new pod gets another one, and no duplicate.
    const again = await call(handlers, 'ADD', poolConfig, { CNI_CONTAINERID: 'c2' });
    expect((again.out?.['ips'] as { address: string }[])[0]?.address).not.toBe((first.out?.['ips'] as { address: string }[])[0]?.address);
  });

  it('CHECK passes on what ADD made and reports drift with code 121 and every difference', async () => {
    const { handlers, plumbing } = setup();
    const { out } = await call(handlers, 'ADD', poolConfig);
    const prevResult = out as unknown as CniResult;
    expect((await call(handlers, 'CHECK', { ...poolConfig, prevResult })).code).toBe(0);
    plumbing.links.clear();
    const drift = await call(handlers, 'CHECK', { ...poolConfig, prevResult });
    expect(drift.out).toMatchObject({ code: 121, msg: 'twill: the attachment has drifted (1 difference)', details: `host: interface ${hostInterfaceName('c1', 'eth0')} is missing` });
  });

  it('GC removes links, addresses and endpoints of attachments not in cni.dev/valid-attachments', async () => {
    const { handlers, plumbing, endpoints } = setup();
    await call(handlers, 'ADD', poolConfig);
    await call(handlers, 'ADD', poolConfig, { CNI_CONTAINERID: 'c2' });
    const gc = await call(handlers, 'GC', { ...poolConfig, 'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'eth0' }] });
    expect(gc.code).toBe(0);
    expect([...plumbing.links.keys()]).toEqual([hostInterfaceName('c2', 'eth0')]);
    expect((await endpoints.list('net1')).map((e) => e.containerId)).toEqual(['c2']);
  });

  it('STATUS answers 50 while the datastore cannot be opened, and succeeds when it can', async () => {
    expect((await call(setup({ openFails: true }).handlers, 'STATUS', poolConfig)).out).toMatchObject({ code: 50, msg: 'twill: the datastore at /nowhere/twill.db is not ready' });
    expect((await call(setup().handlers, 'STATUS', poolConfig)).code).toBe(0);
  });

  it('delegates IPAM to ipam.type with the CNI variables and the whole configuration', async () => {
    const calls: { command: string; type: string; env: Record<string, string | undefined>; config: unknown }[] = [];
    const record =
      (command: string) =>
      (type: string, config: Uint8Array, options: { env: Record<string, string | undefined> }) => {
        calls.push({ command, type, env: options.env, config: JSON.parse(new TextDecoder().decode(config)) });
      };
    const delegate: DelegateIpam = {
      add: (type, config, options) => {
        record('ADD')(type, config, options);
        return Promise.resolve({ cniVersion: '1.1.0', ips: [{ address: '10.22.0.5/24', gateway: '10.22.0.1' }], dns: { nameservers: ['10.96.0.10'] } });
      },
      del: (type, config, options) => Promise.resolve(record('DEL')(type, config, options)),
      check: (type, config, options) => Promise.resolve(record('CHECK')(type, config, options)),
    };
    const { handlers } = setup({ delegate });
    const config = { cniVersion: '1.1.0', name: 'net2', type: 'twill', ipam: { type: 'host-local', subnet: '10.22.0.0/24' } };
    const { out } = await call(handlers, 'ADD', config);
    expect(out).toMatchObject({ ips: [{ address: '10.22.0.5/32', gateway: '169.254.1.1', interface: 1 }], dns: { nameservers: ['10.96.0.10'] } });
    await call(handlers, 'DEL', config);
    expect(calls.map((c) => [c.command, c.type, c.env['CNI_COMMAND'], c.env['CNI_CONTAINERID'], c.env['CNI_ARGS']])).toEqual([
      ['ADD', 'host-local', 'ADD', 'c1', 'K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0'],
      ['DEL', 'host-local', 'DEL', 'c1', 'K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0'],
    ]);
    expect(calls[0]?.config).toEqual(config);
  });

  it('logs each command with its attachment and outcome through the logger for the config', async () => {
    const logs: unknown[][] = [];
    const { handlers, plumbing } = setup({ logs });
    const host = hostInterfaceName('c1', 'eth0');
    await call(handlers, 'ADD', { ...poolConfig, logLevel: 'debug' });
    plumbing.failNext = new LinkExistsError('eth0', '/run/netns/pod1', 'ask for another CNI_IFNAME');
    await call(handlers, 'ADD', poolConfig, { CNI_CONTAINERID: 'c2' });
    expect(logs).toEqual([
      ['info', 'debug', { command: 'ADD', containerId: 'c1', ifName: 'eth0', hostInterface: host, ms: 0 }, 'ADD done'],
      [
        'warn',
        'info',
        { command: 'ADD', containerId: 'c2', ifName: 'eth0', hostInterface: hostInterfaceName('c2', 'eth0'), ms: 0, code: 120, error: 'twill: interface eth0 already exists in /run/netns/pod1: ask for another CNI_IFNAME' },
        'ADD failed',
      ],
    ]);
  });

  it('records the node: ipam.nodeName in pool mode, the host name with a delegated IPAM', async () => {
    const pools = setup();
    await call(pools.handlers, 'ADD', { ...poolConfig, ipam: { ...poolConfig.ipam, nodeName: 'rack1-n7' } });
    expect((await pools.endpoints.list('net1')).map((e) => e.node)).toEqual(['rack1-n7']);
    const delegate: DelegateIpam = {
      add: () => Promise.resolve({ cniVersion: '1.1.0', ips: [{ address: '10.22.0.5/24' }] }),
      del: () => Promise.resolve(),
      check: () => Promise.resolve(),
    };
    const delegated = setup({ delegate });
    await call(delegated.handlers, 'ADD', { cniVersion: '1.1.0', name: 'net2', type: 'twill', ipam: { type: 'host-local', subnet: '10.22.0.0/24' } });
    expect((await delegated.endpoints.list('net2')).map((e) => e.node)).toEqual(['node-a']);
  });
});

// Opens the plumbing's gate: every add waiting at it goes on.
function gated(plumbing: FakePlumbing): () => void {
  let open!: () => void;
  plumbing.gate = new Promise((resolve) => {
    open = resolve;
  });
  return () => {
    plumbing.gate = undefined;
    open();
  };
}

describe('twill plugin handlers with calls at once (the datastore one call at a time, as the warm agent gives it)', () => {
  it('the links of concurrent ADDs are made at the same time, outside the datastore\'s turn, with distinct addresses', async () => {
    const { handlers, plumbing, endpoints } = setup();
    const open = gated(plumbing);
    const adds = ['c1', 'c2', 'c3'].map((id) => call(handlers, 'ADD', poolConfig, { CNI_CONTAINERID: id }));
    // All three hold their addresses and records and wait in the kernel work together.
    await vi.waitFor(() => expect(plumbing.waiting).toBe(3));
    expect((await endpoints.list('net1')).map((e) => e.containerId).sort()).toEqual(['c1', 'c2', 'c3']);
    open();
    const results = await Promise.all(adds);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(new Set(results.map((r) => (r.out?.['ips'] as { address: string }[])[0]?.address)).size).toBe(3);
    expect(plumbing.links.size).toBe(3);
  });

  it('a second ADD of a container while the first is making its links is code 122, and the first completes', async () => {
    const { handlers, plumbing, endpoints } = setup();
    const open = gated(plumbing);
    const first = call(handlers, 'ADD', poolConfig);
    await vi.waitFor(() => expect(plumbing.waiting).toBe(1));
    const second = call(handlers, 'ADD', poolConfig, { CNI_IFNAME: 'eth1' });
    open();
    expect((await first).code).toBe(0);
    expect((await second).out).toMatchObject({ code: 122, msg: 'twill: container c1 is already attached to net1 (interface eth0)' });
    expect([...plumbing.links.keys()]).toEqual([hostInterfaceName('c1', 'eth0')]);
    expect((await endpoints.list('net1')).map((e) => e.ifName)).toEqual(['eth0']);
  });

  it('a DEL sent while its ADD is making the links waits for the ADD, then removes everything', async () => {
    const { handlers, plumbing, store, endpoints } = setup();
    const open = gated(plumbing);
    const added = call(handlers, 'ADD', poolConfig);
    await vi.waitFor(() => expect(plumbing.waiting).toBe(1));
    const deleted = call(handlers, 'DEL', poolConfig);
    // Other containers are not held back meanwhile.
    plumbing.gate = undefined;
    expect((await call(handlers, 'ADD', poolConfig, { CNI_CONTAINERID: 'c2' })).code).toBe(0);
    open();
    expect((await added).code).toBe(0);
    expect((await deleted).code).toBe(0);
    // No link outlives its record and address.
    expect([...plumbing.links.keys()]).toEqual([hostInterfaceName('c2', 'eth0')]);
    expect((await endpoints.list('net1')).map((e) => e.containerId)).toEqual(['c2']);
    expect((await store.list('twill-pools/handles/')).map((e) => e.key)).toEqual(['twill-pools/handles/net1.c2']);
  });

  it('GC waits for the ADDs in flight: one between its record and its links is removed whole, links included', async () => {
    const { handlers, plumbing, endpoints } = setup();
    const open = gated(plumbing);
    const added = call(handlers, 'ADD', poolConfig);
    await vi.waitFor(() => expect(plumbing.waiting).toBe(1));
    const gc = call(handlers, 'GC', { ...poolConfig, 'cni.dev/valid-attachments': [] });
    // Everything here is in memory: a GC that did not wait would be over by the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    open();
    expect((await added).code).toBe(0);
    expect((await gc).code).toBe(0);
    expect(plumbing.links.size).toBe(0);
    expect(await endpoints.list('net1')).toEqual([]);
  });
});

// The agent's policy hooks, recording what they were asked and what existed at the time.
class RecordingPolicy implements EndpointPolicyHooks {
  readonly calls: string[] = [];
  fail: Error | undefined;
  /** What `check` answers. */
  drift: string[] = [];
  linksAtEnforce: string[] = [];
  /** The kernel the handlers plumb, to see what exists when enforce is called. */
  plumbing: FakePlumbing | undefined;

  enforce(record: EndpointRecord): Promise<void> {
    this.calls.push(`enforce ${record.containerId} ${record.hostInterface} ${record.addresses.join(',')} node=${record.node ?? ''}`);
    this.linksAtEnforce = [...(this.plumbing?.links.keys() ?? [])];
    return this.fail === undefined ? Promise.resolve() : Promise.reject(this.fail);
  }

  forget(network: string, containerId: string): Promise<void> {
    this.calls.push(`forget ${network}/${containerId}`);
    return Promise.resolve();
  }

  check(record: EndpointRecord): Promise<readonly string[]> {
    this.calls.push(`check ${record.containerId}`);
    return Promise.resolve(this.drift);
  }
}

describe('twill plugin handlers with the agent\'s policy hooks', () => {
  function withPolicy() {
    const policy = new RecordingPolicy();
    const parts = setup({ policy });
    policy.plumbing = parts.plumbing;
    return { ...parts, policy };
  }

  it('ADD returns after the endpoint\'s policy is enforced, once its links exist; DEL forgets it', async () => {
    const { handlers, policy } = withPolicy();
    const host = hostInterfaceName('c1', 'eth0');
    const { code, out } = await call(handlers, 'ADD', poolConfig);
    expect(code).toBe(0);
    const address = (out?.['ips'] as { address: string }[]).map((ip) => ip.address).join(',');
    expect(policy.calls).toEqual([`enforce c1 ${host} ${address} node=node-a`]);
    expect(policy.linksAtEnforce).toEqual([host]);
    expect((await call(handlers, 'DEL', poolConfig)).code).toBe(0);
    expect(policy.calls.slice(1)).toEqual(['forget net1/c1']);
  });

  it('a policy that cannot be put in place fails ADD with code 11 naming the endpoint, and leaves nothing', async () => {
    const { handlers, plumbing, endpoints, policy } = withPolicy();
    policy.fail = new Error('nft: Could not process rule: No such file or directory');
    const failed = await call(handlers, 'ADD', poolConfig);
    expect(failed).toMatchObject({
      code: 1,
      out: {
        code: 11,
        msg: `twill: the policy of pod shop/web-0, container c1 on net1 (${hostInterfaceName('c1', 'eth0')}) could not be put in place`,
        details: 'nft: Could not process rule: No such file or directory',
      },
    });
    expect(plumbing.links.size).toBe(0);
    expect(await endpoints.list('net1')).toEqual([]);
    expect(policy.calls.at(-1)).toBe('forget net1/c1');
    // Nothing held: the runtime's retry succeeds once the policy can be programmed.
    policy.fail = undefined;
    expect((await call(handlers, 'ADD', poolConfig)).code).toBe(0);
  });

  it('GC forgets every endpoint it removes', async () => {
    const { handlers, policy } = withPolicy();
    await call(handlers, 'ADD', poolConfig);
    await call(handlers, 'ADD', poolConfig, { CNI_CONTAINERID: 'c2' });
    await call(handlers, 'GC', { ...poolConfig, 'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'eth0' }] });
    expect(policy.calls.filter((c) => c.startsWith('forget'))).toEqual(['forget net1/c1']);
  });

  it('CHECK reports the policy attachment\'s drift with the rest (code 121), and passes when it is in place', async () => {
    const { handlers, policy } = withPolicy();
    const { out } = await call(handlers, 'ADD', poolConfig);
    const prevResult = out as unknown as CniResult;
    expect((await call(handlers, 'CHECK', { ...poolConfig, prevResult })).code).toBe(0);
    expect(policy.calls.at(-1)).toBe('check c1');
    policy.drift = ['policy: endpoint shop/web-0 is not attached to the nftables dataplane'];
    const drift = await call(handlers, 'CHECK', { ...poolConfig, prevResult });
    expect(drift.out).toMatchObject({ code: 121, msg: 'twill: the attachment has drifted (1 difference)', details: 'policy: endpoint shop/web-0 is not attached to the nftables dataplane' });
  });
});

// The Pods of a Kubernetes API in a map, with what ADD and DEL recorded on them.
class FakePods implements PodDirectory {
  readonly pods = new Set<string>(['shop/web-0']);
  readonly calls: string[] = [];

  async require(namespace: string, pod: string): Promise<void> {
    this.calls.push(`require ${namespace}/${pod}`);
    if (!this.pods.has(`${namespace}/${pod}`)) throw new PodNotFoundError(namespace, pod);
  }

  async added(record: EndpointRecord): Promise<void> {
    this.calls.push(`added ${record.namespace}/${record.pod} ${record.containerId} ${record.addresses.length}`);
  }

  async deleted(record: EndpointRecord): Promise<void> {
    this.calls.push(`deleted ${record.namespace}/${record.pod} ${record.containerId}`);
  }
}

describe('twill plugin handlers on the Kubernetes datastore', () => {
  const kubeConfig = { ...poolConfig, datastore: 'kubernetes', agentSocket: '/run/twill/agent.sock' };

  it('standalone (no agent), every command fails with code 50 saying twill-agent is not running, and touches nothing', async () => {
    const { handlers, plumbing, store } = setup();
    for (const command of ['ADD', 'DEL', 'CHECK', 'STATUS']) {
      const { code, out } = await call(handlers, command, command === 'CHECK' ? { ...kubeConfig, prevResult: { cniVersion: '1.1.0', ips: [] } } : kubeConfig);
      expect({ command, code, out }).toEqual({
        command,
        code: 1,
        out: {
          cniVersion: '1.1.0',
          code: 50,
          msg: 'twill: twill-agent is not running (nothing answers on /run/twill/agent.sock): with the kubernetes datastore only the agent can serve the plugin',
          details: 'start twill-agent on this node (the twill DaemonSet) and try again',
        },
      });
    }
    expect(plumbing.links.size).toBe(0);
    expect(await store.list('')).toEqual([]);
  });

  it('an agent on one datastore refuses a configuration naming the other (code 7)', async () => {
    const { handlers } = setup({ ports: { datastore: 'kubernetes' } });
    expect((await call(handlers, 'ADD', poolConfig)).out).toMatchObject({
      code: 7,
      msg: 'twill: datastore: the network configuration says "sqlite", but twill-agent runs on the kubernetes datastore',
    });
    const sqliteAgent = setup({ ports: { datastore: 'sqlite' } });
    expect((await call(sqliteAgent.handlers, 'ADD', kubeConfig)).out).toMatchObject({ code: 7 });
  });

  it('ADD looks the Pod up first: a missing Pod fails with code 123 naming it and takes nothing', async () => {
    const pods = new FakePods();
    const { handlers, plumbing, store } = setup({ ports: { datastore: 'kubernetes', pods } });
    const { code, out } = await call(handlers, 'ADD', kubeConfig, { CNI_ARGS: 'K8S_POD_NAMESPACE=shop;K8S_POD_NAME=gone-1' });
    expect(code).toBe(1);
    expect(out).toEqual({ cniVersion: '1.1.0', code: 123, msg: 'twill: pod shop/gone-1 does not exist in the Kubernetes API', details: 'a stale request for a deleted pod: nothing was attached' });
    expect(pods.calls).toEqual(['require shop/gone-1']);
    expect(plumbing.links.size).toBe(0);
    expect(await store.list('')).toEqual([]);
  });

  it('ADD without the pod arguments fails with code 4 naming what is missing', async () => {
    const pods = new FakePods();
    const { handlers } = setup({ ports: { datastore: 'kubernetes', pods } });
    expect((await call(handlers, 'ADD', kubeConfig, { CNI_ARGS: 'K8S_POD_NAMESPACE=shop' })).out).toMatchObject({
      code: 4,
      msg: 'twill: CNI_ARGS has no K8S_POD_NAME: with the Kubernetes datastore every pod is looked up by namespace and name',
    });
    expect((await call(handlers, 'ADD', kubeConfig, { CNI_ARGS: 'IgnoreUnknown=1' })).out).toMatchObject({
      msg: 'twill: CNI_ARGS has no K8S_POD_NAMESPACE and no K8S_POD_NAME: with the Kubernetes datastore every pod is looked up by namespace and name',
    });
    expect(pods.calls).toEqual([]);
  });

  it('a successful ADD records the Pod\'s addresses after the attachment exists; DEL removes them after the record is gone', async () => {
    const pods = new FakePods();
    const { handlers, endpoints } = setup({ ports: { datastore: 'kubernetes', pods } });
    expect((await call(handlers, 'ADD', kubeConfig)).code).toBe(0);
    expect(pods.calls).toEqual(['require shop/web-0', 'added shop/web-0 c1 2']);
    expect(await call(handlers, 'DEL', kubeConfig)).toEqual({ code: 0, out: undefined });
    expect(pods.calls.at(-1)).toBe('deleted shop/web-0 c1');
    expect(await endpoints.list('net1')).toEqual([]);
    // DEL again (idempotent): no record, nothing to remove on the Pod.
    expect((await call(handlers, 'DEL', kubeConfig)).code).toBe(0);
    expect(pods.calls).toHaveLength(3);
  });
});
