import { describe, expect, it } from 'vitest';

import { runPlugin } from '@twill/cni-core';

import { StoreFailureError } from '../../src/errors.js';
import { createIpamPluginHandlers, type IpamPluginPorts, parseResolvConf } from '../../src/plugin/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { type Store } from '../../src/store/store.js';

// Every command through runPlugin in-process: the JSON a runtime reads on stdout and the
// exit code, over a memory store shared by the calls (closing it is a no-op here).
const RESOLV_CONF = `# written by hand
nameserver 10.96.0.10
nameserver fd00::a
domain cluster.local
search default.svc.cluster.local svc.cluster.local
options ndots:5 edns0
bogus
`;

function shared(store: Store = new MemoryStore()): IpamPluginPorts & { opened: string[] } {
  const opened: string[] = [];
  return {
    opened,
    openStore: (location) => {
      opened.push(`${location.kind} ${location.dataDir}`);
      const unclosable: Store = {
        get: (key) => store.get(key),
        list: (prefix) => store.list(prefix),
        commit: (ops) => store.commit(ops),
        close: () => Promise.resolve(),
      };
      return Promise.resolve(unclosable);
    },
    readResolvConf: (path) => (path === '/etc/test-resolv.conf' ? Promise.resolve(RESOLV_CONF) : Promise.reject(new Error(`ENOENT: ${path}`))),
  };
}

function netconf(ipam: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'net1', type: 'bridge', ipam: { type: 'twill-ipam', ...ipam }, ...extra };
}

async function call(ports: IpamPluginPorts, command: string, config: Record<string, unknown>, env: Record<string, string> = {}) {
  let stdout = '';
  const code = await runPlugin(
    {
      env: { CNI_COMMAND: command, CNI_CONTAINERID: 'ctr1', CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...env },
      stdin: JSON.stringify(config),
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: () => true },
    },
    createIpamPluginHandlers(ports),
  );
  return { code, output: stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>) };
}

const DUAL = { ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd01::/64' }]], routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd01::1' }] };

describe('twill-ipam handlers', () => {
  it('ADD returns ips with gateways, routes and the resolv.conf as dns, in the requested version', async () => {
    const ports = shared();
    const { code, output } = await call(ports, 'ADD', netconf({ ...DUAL, resolvConf: '/etc/test-resolv.conf' }));
    expect(code).toBe(0);
    expect(output).toEqual({
      cniVersion: '1.0.0',
      ips: [
        { address: '10.1.0.2/24', gateway: '10.1.0.1' },
        { address: 'fd01::2/64', gateway: 'fd01::1' },
      ],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd01::1' }],
      dns: {
        nameservers: ['10.96.0.10', 'fd00::a'],
        domain: 'cluster.local',
        search: ['default.svc.cluster.local', 'svc.cluster.local'],
        options: ['ndots:5', 'edns0'],
      },
    });
    expect(ports.opened).toEqual(['files /var/lib/cni/networks']);
  });

  it('ADD answers 0.4.0 with ip versions and 0.2.0 with ip4, as host-local does', async () => {
    const v04 = await call(shared(), 'ADD', netconf(DUAL, { cniVersion: '0.4.0' }));
    expect(v04.output).toMatchObject({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.2/24' }, { version: '6', address: 'fd01::2/64' }] });
    const v02 = await call(shared(), 'ADD', netconf({ subnet: '10.2.0.0/16', gateway: '10.2.0.254' }, { cniVersion: '0.2.0' }));
    expect(v02.output).toEqual({ cniVersion: '0.2.0', ip4: { ip: '10.2.0.1/16', gateway: '10.2.0.254' } });
  });

  it('ADD with store "sqlite" and a dataDir opens that store there', async () => {
    const ports = shared();
    await call(ports, 'ADD', netconf({ ...DUAL, store: 'sqlite', dataDir: '/run/twill/ipam' }));
    expect(ports.opened).toEqual(['sqlite /run/twill/ipam']);
  });

  it('ADD honours CNI_ARGS IP= and refuses a second ADD of the same attachment', async () => {
    const ports = shared();
    const first = await call(ports, 'ADD', netconf(DUAL), { CNI_ARGS: 'IgnoreUnknown=1;IP=10.1.0.77' });
    expect(first.output).toMatchObject({ ips: [{ address: '10.1.0.77/24' }, { address: 'fd01::2/64' }] });
    const again = await call(ports, 'ADD', netconf(DUAL));
    expect(again).toMatchObject({ code: 1, output: { code: 112, msg: '10.1.0.77 has been allocated to ctr1, duplicate allocation is not allowed' } });
  });

  it('bad configuration fails with code 7 naming the field', async () => {
    expect(await call(shared(), 'ADD', netconf({ ...DUAL, store: 'etcd' }))).toEqual({
      code: 1,
      output: { cniVersion: '1.0.0', code: 7, msg: 'ipam.store: must be one of "files", "sqlite" (got "etcd")' },
    });
    expect((await call(shared(), 'ADD', netconf({ ranges: [[{ subnet: '10.1.0.0/33' }]] }))).output).toMatchObject({ code: 7, msg: expect.stringContaining('ipam.ranges[0][0].subnet') as unknown });
  });

  it('ADD fails with code 5 and holds nothing when resolvConf cannot be read', async () => {
    const store = new MemoryStore();
    const ports = shared(store);
    const { code, output } = await call(ports, 'ADD', netconf({ ...DUAL, resolvConf: '/missing' }));
    expect(code).toBe(1);
    expect(output).toMatchObject({ code: 5, msg: 'cannot read resolvConf /missing' });
    expect(await store.list('net1/')).toEqual([]);
  });

  it('DEL releases the addresses and is idempotent', async () => {
    const store = new MemoryStore();
    const ports = shared(store);
    await call(ports, 'ADD', netconf(DUAL));
    expect(await call(ports, 'DEL', netconf(DUAL))).toEqual({ code: 0, output: undefined });
    expect((await store.list('net1/')).map((e) => e.key)).toEqual(['net1/last_reserved_ip.0', 'net1/last_reserved_ip.1']);
    expect(await call(ports, 'DEL', netconf(DUAL), { CNI_NETNS: '' })).toEqual({ code: 0, output: undefined });
  });

  it('CHECK passes while the attachment holds its addresses and fails once they are gone', async () => {
    const ports = shared();
    const added = await call(ports, 'ADD', netconf(DUAL));
    const withPrev = netconf(DUAL, { prevResult: added.output });
    expect(await call(ports, 'CHECK', withPrev)).toEqual({ code: 0, output: undefined });
    // Another attachment's address in prevResult is not this one's.
    const foreign = { ...added.output, ips: [{ address: '10.1.0.9/24', gateway: '10.1.0.1' }] };
    expect((await call(ports, 'CHECK', netconf(DUAL, { prevResult: foreign }))).output).toMatchObject({
      code: 999,
      msg: 'twill-ipam: 10.1.0.9 of prevResult is not held by container ctr1 interface eth0',
    });
    await call(ports, 'DEL', netconf(DUAL));
    expect((await call(ports, 'CHECK', withPrev)).output).toMatchObject({ code: 999, msg: 'twill-ipam: failed to find address added by container ctr1' });
  });

  it('GC frees every address not held by a valid attachment', async () => {
    const store = new MemoryStore();
    const ports = shared(store);
    for (const id of ['keep', 'gone1', 'gone2']) await call(ports, 'ADD', netconf(DUAL, { cniVersion: '1.1.0' }), { CNI_CONTAINERID: id });
    const gc = netconf(DUAL, { cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] });
    expect(await call(ports, 'GC', gc)).toEqual({ code: 0, output: undefined });
    const left = (await store.list('net1/')).filter((e) => !e.key.includes('last_reserved'));
    expect(left.map((e) => `${e.key} ${e.value}`)).toEqual(['net1/10.1.0.2 keep\r\neth0', 'net1/fd01::2 keep\r\neth0']);
  });

  it('STATUS succeeds on a writable store and leaves nothing behind; code 50 when it cannot be written', async () => {
    const store = new MemoryStore();
    const status = netconf(DUAL, { cniVersion: '1.1.0' });
    expect(await call(shared(store), 'STATUS', status)).toEqual({ code: 0, output: undefined });
    expect(await store.list('net1/')).toEqual([]);

    const broken: IpamPluginPorts = {
      openStore: () => Promise.reject(new StoreFailureError('cannot open the SQLite store /ro/twill-ipam.db', { cause: new Error('SQLITE_CANTOPEN') })),
      readResolvConf: () => Promise.resolve(''),
    };
    expect(await call(broken, 'STATUS', netconf({ ...DUAL, store: 'sqlite', dataDir: '/ro' }, { cniVersion: '1.1.0' }))).toEqual({
      code: 1,
      output: {
        cniVersion: '1.1.0',
        code: 50,
        msg: 'twill-ipam: the sqlite store at /ro cannot be written',
        details: 'cannot open the SQLite store /ro/twill-ipam.db: SQLITE_CANTOPEN',
      },
    });
    const readOnly = new MemoryStore();
    readOnly.commit = () => Promise.reject(new StoreFailureError('cannot write /ro/net1/.twill-ipam-status', { cause: new Error('EROFS') }));
    expect((await call(shared(readOnly), 'STATUS', status)).output).toMatchObject({ code: 50, details: 'cannot write /ro/net1/.twill-ipam-status: EROFS' });
  });
});

describe('parseResolvConf', () => {
  it('reads resolv.conf as host-local does', () => {
    expect(parseResolvConf('; comment\nnameserver 1.1.1.1 ignored\ndomain a.example\ndomain b.example\nsearch x y\nsearch z\noptions\n')).toEqual({
      nameservers: ['1.1.1.1'],
      domain: 'b.example',
      search: ['x', 'y', 'z'],
    });
    expect(parseResolvConf('')).toEqual({});
  });
});
