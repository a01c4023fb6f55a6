import { CniError, type CniResult } from '@twill/cni-core';
import { deleteNetns } from '@twill/sys';
import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { hostInterfaceName } from '../../src/plugin/names.js';
import { NODE_ADDRESS, NodeLab, podIp, startTcpServer, tcpConnect } from './node-lab.js';

const reason = rootSkipReason();

interface IpLink {
  ifname: string;
  mtu: number;
}

async function failure(promise: Promise<unknown>): Promise<CniError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CniError) return error;
    throw error;
  }
  throw new Error('succeeded');
}

describe.skipIf(reason)(`twill plugin on a scratch node as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: NodeLab;
  const stops: (() => void)[] = [];

  beforeEach(async () => {
    lab = await NodeLab.create();
  });

  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    await lab.cleanup();
  });

  const twLinks = (): string[] => lab.ipJson<IpLink[]>(lab.node, 'link').map((l) => l.ifname).filter((n) => /^tw[0-9a-f]{13}$/u.test(n));
  const handles = async (): Promise<number> => {
    const store = lab.openStore();
    try {
      return (await store.list('twill-pools/handles/')).length + (await store.list('twill-endpoints/twill-test/')).length;
    } finally {
      await store.close();
    }
  };

  it('standalone, chained with portmap and bandwidth: ADD, CHECK, DEL; dual-stack pods reach each other, the node and a host port over TCP', { timeout: 90_000 }, async () => {
    // Debian's portmap and bandwidth speak up to 1.0.0: twill's 1.1.0 result is converted.
    const list = lab.conflist([{ type: 'portmap', capabilities: { portMappings: true } }, { type: 'bandwidth', capabilities: { bandwidth: true } }], {}, '1.0.0');
    const runtime = lab.runtime();
    const [a, b] = [lab.scratch.netns(), lab.scratch.netns()];
    const rtA = { containerId: 'pod-a', netns: a!.path, ifName: 'eth0', args: [['K8S_POD_NAMESPACE', 'shop'], ['K8S_POD_NAME', 'a']] as [string, string][], capabilityArgs: { bandwidth: { ingressRate: 1_000_000_000, ingressBurst: 100_000_000, egressRate: 1_000_000_000, egressBurst: 100_000_000 } } };
    // Real work for both chained plugins: a host port to pod B, and rate limits (bandwidth's
    // CHECK dereferences its limits, so it needs some).
    const bandwidth = { ingressRate: 1_000_000_000, ingressBurst: 100_000_000, egressRate: 1_000_000_000, egressBurst: 100_000_000 };
    const rtB = {
      containerId: 'pod-b',
      netns: b!.path,
      ifName: 'eth0',
      capabilityArgs: { portMappings: [{ hostPort: 30080, containerPort: 8080, protocol: 'tcp' }], bandwidth },
    };
    const resultA = await runtime.add(list, rtA);
    const resultB = await runtime.add(list, rtB);
    expect(resultA).toMatchObject({
      cniVersion: '1.0.0',
      ips: [
        { address: expect.stringMatching(/^10\.244\.\d+\.\d+\/32$/u) as unknown, gateway: '169.254.1.1', interface: 1 },
        { address: expect.stringMatching(/^fd00:10:244::[0-9a-f]+\/128$/u) as unknown, gateway: 'fe80::1', interface: 1 },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '169.254.1.1' },
        { dst: '::/0', gw: 'fe80::1' },
      ],
    });
    // twill's two interfaces first; bandwidth appends its ifb device.
    expect('interfaces' in resultA ? resultA.interfaces?.slice(0, 2) : undefined).toMatchObject([{ name: hostInterfaceName('pod-a', 'eth0') }, { name: 'eth0', sandbox: a!.path }]);
    expect(podIp(resultA)).not.toBe(podIp(resultB));
    // What the pod sees: eth0 with the /32 and MTU from the config, the default route on-link.
    expect(lab.scratch.ip(a!, '-4', '-o', 'addr', 'show', 'dev', 'eth0')).toContain(`inet ${podIp(resultA)}/32`);
    expect(lab.ipJson<IpLink[]>(a!, 'link', 'show', 'eth0')[0]?.mtu).toBe(1400);
    expect(lab.scratch.ip(a!, 'route').trim()).toBe('default via 169.254.1.1 dev eth0 onlink');
    expect(lab.scratch.ip(a!, '-6', 'route', 'show', 'default').trim()).toBe('default via fe80::1 dev eth0 metric 1024 onlink pref medium');
    expect(lab.scratch.ip(lab.node, 'route', 'show', `${podIp(resultA)}/32`).trim()).toBe(`${podIp(resultA)} dev ${hostInterfaceName('pod-a', 'eth0')} scope link`);

    stops.push(await startTcpServer(b!, 8080), await startTcpServer(lab.node, 8081), await startTcpServer(a!, 8082));
    expect(await tcpConnect(a!, podIp(resultB), 8080)).toBe(`hello from ${b!.name}`);
    expect(await tcpConnect(a!, podIp(resultB, 1), 8080)).toBe(`hello from ${b!.name}`);
    expect(await tcpConnect(b!, NODE_ADDRESS, 8081)).toBe(`hello from ${lab.node.name}`);
    expect(await tcpConnect(lab.node, podIp(resultA), 8082)).toBe(`hello from ${a!.name}`);
    // portmap's DNAT on the node: from outside the node to its host port, into pod B.
    expect(await tcpConnect(lab.world, NODE_ADDRESS, 30080)).toBe(`hello from ${b!.name}`);

    // CHECK through all three plugins. Not for pod B: Debian's portmap CHECK of a host port
    // looks for the IPv4 DNAT rules in ip6tables too ("could not check ipv6 dnat") and fails.
    await runtime.check(list, rtA);
    await runtime.del(list, rtA);
    await runtime.del(list, rtB);
    expect(twLinks()).toEqual([]);
    // Nor bandwidth's ifb devices: only lo and the uplink remain.
    expect(lab.ipJson<IpLink[]>(lab.node, 'link')).toHaveLength(2);
    expect(lab.scratch.ip(lab.node, 'route', 'show', 'root', '10.244.0.0/16')).toBe('');
    expect(await handles()).toBe(0);
  });

  it('forwarded: DEL twice in a row and with the netns gone succeeds and leaves nothing', { timeout: 60_000 }, async () => {
    await lab.serve();
    const list = lab.conflist();
    const runtime = lab.runtime();
    const pod = lab.scratch.netns();
    const rt = { containerId: 'gone-1', netns: pod.path, ifName: 'eth0' };
    await runtime.add(list, rt);
    pod.handle.close();
    deleteNetns(pod.name);
    await runtime.del(list, rt);
    await runtime.del(list, rt);
    await runtime.del(list, { ...rt, netns: '' });
    expect(twLinks()).toEqual([]);
    expect(await handles()).toBe(0);
  });

  it('a name clash fails with code 120 and a message saying what to do; nothing is left and the other link stays', { timeout: 60_000 }, async () => {
    await lab.serve();
    const pod = lab.scratch.netns();
    const taken = hostInterfaceName('clash-1', 'eth0');
    lab.scratch.ip(lab.node, 'link', 'add', taken, 'type', 'veth', 'peer', 'name', 'twt-peer');
    const error = await failure(lab.runtime().add(lab.conflist(), { containerId: 'clash-1', netns: pod.path, ifName: 'eth0' }));
    expect(error.code).toBe(120);
    expect(error.msg).toContain(`twill: interface ${taken} already exists in the node`);
    expect(error.details).toContain(`ip link del ${taken}`);
    expect(twLinks()).toEqual([taken]);
    expect(lab.ipJson<IpLink[]>(pod, 'link').map((l) => l.ifname)).toEqual(['lo']);
    expect(await handles()).toBe(0);
  });

  it('a netns that does not exist fails with code 3 and releases its address', { timeout: 60_000 }, async () => {
    await lab.serve();
    const error = await failure(lab.runtime().add(lab.conflist(), { containerId: 'nons-1', netns: '/run/netns/twt-does-not-exist', ifName: 'eth0' }));
    expect(error.code).toBe(3);
    expect(error.msg).toContain('/run/netns/twt-does-not-exist does not exist');
    expect(twLinks()).toEqual([]);
    expect(await handles()).toBe(0);
  });

  it('CHECK reports drift with code 121 naming what changed', { timeout: 60_000 }, async () => {
    await lab.serve();
    const list = lab.conflist();
    const runtime = lab.runtime();
    const pod = lab.scratch.netns();
    const rt = { containerId: 'drift-1', netns: pod.path, ifName: 'eth0' };
    const result: CniResult = await runtime.add(list, rt);
    await runtime.check(list, rt);
    lab.scratch.ip(pod, 'route', 'del', 'default');
    lab.scratch.ip(lab.node, 'link', 'set', hostInterfaceName('drift-1', 'eth0'), 'mtu', '1300');
    const error = await failure(runtime.check(list, rt));
    expect(error.code).toBe(121);
    expect(error.details?.split('\n')).toEqual([
      `host: ${hostInterfaceName('drift-1', 'eth0')} has MTU 1300, want 1400`,
      'pod: no default route via 169.254.1.1 dev eth0',
    ]);
    expect(podIp(result)).toMatch(/^10\.244\./u);
    await runtime.del(list, rt);
  });

  it('GC removes the links, addresses and endpoints of attachments not in cni.dev/valid-attachments', { timeout: 60_000 }, async () => {
    await lab.serve();
    const [keep, stale] = [lab.scratch.netns(), lab.scratch.netns()];
    for (const [id, pod] of [['keep-1', keep], ['stale-1', stale]] as const) {
      expect((await lab.execTwill({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: pod!.path, CNI_IFNAME: 'eth0' }, lab.twillConfig())).exitCode).toBe(0);
    }
    const gc = await lab.execTwill({ CNI_COMMAND: 'GC' }, { ...lab.twillConfig(), 'cni.dev/valid-attachments': [{ containerID: 'keep-1', ifname: 'eth0' }] });
    expect(gc).toEqual({ exitCode: 0, stdout: '' });
    expect(twLinks()).toEqual([hostInterfaceName('keep-1', 'eth0')]);
    expect(lab.ipJson<IpLink[]>(stale!, 'link').map((l) => l.ifname)).toEqual(['lo']);
    const store = lab.openStore();
    try {
      expect((await store.list('twill-pools/handles/')).map((e) => e.key)).toEqual(['twill-pools/handles/twill-test.keep-1']);
      expect((await store.list('twill-endpoints/twill-test/')).map((e) => e.key)).toEqual(['twill-endpoints/twill-test/keep-1']);
    } finally {
      await store.close();
    }
  });

  it('STATUS succeeds with a writable datastore and answers 50 when it cannot be created', { timeout: 60_000 }, async () => {
    await lab.serve();
    const runtime = lab.runtime();
    await runtime.status(lab.conflist());
    const error = await failure(runtime.status(lab.conflist([], { dataDir: '/dev/null/twill' })));
    expect(error.code).toBe(50);
    expect(error.msg).toContain('/dev/null/twill/twill.db is not ready');
  });
});
