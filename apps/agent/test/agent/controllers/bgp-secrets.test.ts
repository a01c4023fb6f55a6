// The BGP controller reading TCP MD5 passwords from Secrets (`password.secretKeyRef`), without
// sessions: a transport whose connections never answer records the key each peer gets on
// the listener, which is where the password goes. The datastore is the shared memory one
// with a strict readSecret beside it: it answers only for the agent's namespace and
// counts its reads.
import { type PeerSocketOptions, type SpeakerTransport } from '@twill/bgp';
import { MemoryStore } from '@twill/ipam';
import { afterEach, describe, expect, it } from 'vitest';

import { BgpController } from '../../../src/agent/controllers/bgp.js';
import { KernelFibSink } from '../../../src/agent/controllers/route-fib.js';
import { type ClosableResourceDatastore } from '../../../src/agent/datastore/index.js';
import { type AgentResource } from '../../../src/agent/ports.js';

import { MemoryRouteTable, memoryDatastore, node, until } from './route-fixtures.js';

/** Silent connections; `keys` holds each configured peer's listener key (`address md5=...`), as the kernel would. */
function keyRecordingTransport(keys: Map<string, string>): () => SpeakerTransport {
  return () => ({
    connect: () => ({ localAddress: undefined, write: () => undefined, close: () => undefined }),
    listen: () => Promise.resolve(),
    addPeer: (peer: PeerSocketOptions) => void keys.set(peer.address, peer.md5Password ?? '(none)'),
    removePeer: (address: string) => void keys.delete(address),
    close: () => Promise.resolve(),
  });
}

/** Secrets by `namespace/name`, each a map of keys to decoded values. */
type Secrets = Map<string, Record<string, string>>;

/** `real` with readSecret over `secrets`, refusing any namespace but `namespace` as an RBAC-limited agent would be refused. */
function withSecrets(real: ClosableResourceDatastore, secrets: Secrets, namespace: string, reads: string[], outage: { down: boolean } = { down: false }): ClosableResourceDatastore {
  return {
    store: real.store,
    get: real.get.bind(real),
    list: real.list.bind(real),
    apply: real.apply.bind(real),
    delete: real.delete.bind(real),
    watch: real.watch.bind(real),
    watchEntries: real.watchEntries.bind(real),
    close: real.close.bind(real),
    readSecret: (ns: string, name: string, key: string): Promise<string | undefined> => {
      reads.push(`${ns}/${name}/${key}`);
      if (outage.down) return Promise.reject(new Error('get secrets: the Kubernetes API at https://10.96.0.1:443 cannot be reached: ECONNREFUSED'));
      if (ns !== namespace) return Promise.reject(new Error(`secrets "${name}" is forbidden: cannot get resource "secrets" in the namespace "${ns}"`));
      return Promise.resolve(secrets.get(`${ns}/${name}`)?.[key]);
    },
  };
}

const bgpPeer = (name: string, spec: Record<string, unknown>): AgentResource => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec });
const fromSecret = (name: string, key: string): { secretKeyRef: { name: string; key: string } } => ({ secretKeyRef: { name, key } });

describe('BgpController passwords from Secrets', () => {
  let datastore: ClosableResourceDatastore | undefined;
  let controller: BgpController | undefined;

  afterEach(async () => {
    await controller?.stop();
    await datastore?.close();
    controller = undefined;
    datastore = undefined;
  });

  async function start(options: { secrets?: Secrets; reads?: string[]; outage?: { down: boolean }; secretNamespace?: string; secretRecheckMs?: number; keys: Map<string, string>; resources: AgentResource[] }): Promise<BgpController> {
    const real = memoryDatastore(new MemoryStore());
    datastore = real;
    for (const r of [node('n1', { ipv4Address: '10.0.0.1/24' }), ...options.resources]) await real.apply(r);
    const ds = options.secrets ? withSecrets(real, options.secrets, 'kube-system', options.reads ?? [], options.outage) : real;
    controller = new BgpController({
      datastore: ds,
      nodeName: 'n1',
      fib: new KernelFibSink({ table: new MemoryRouteTable() }),
      transport: keyRecordingTransport(options.keys),
      ...(options.secretNamespace === undefined ? {} : { secretNamespace: options.secretNamespace }),
      ...(options.secretRecheckMs === undefined ? {} : { secretRecheckMs: options.secretRecheckMs }),
    });
    await controller.start();
    return controller;
  }

  it('keys a peer with the password its Secret holds, read from the agent\'s namespace', async () => {
    const keys = new Map<string, string>();
    const reads: string[] = [];
    const secrets: Secrets = new Map([['kube-system/bgp-passwords', { tor: 'tor-secret' }]]);
    const c = await start({ secrets, reads, secretNamespace: 'kube-system', keys, resources: [bgpPeer('tor', { peerIP: '10.0.0.254', asNumber: 65100, password: fromSecret('bgp-passwords', 'tor') })] });
    expect(c.peers().map((p) => p.address)).toEqual(['10.0.0.254']);
    expect(keys.get('10.0.0.254')).toBe('tor-secret');
    expect(c.status().problems).toEqual([]);
    expect(reads).toEqual(['kube-system/bgp-passwords/tor']);
  });

  it('a missing Secret or key leaves that peer out and says why; the others run; the Secret created later is found by the periodic re-check', async () => {
    const keys = new Map<string, string>();
    const secrets: Secrets = new Map([['kube-system/bgp-passwords', { other: 'x' }]]);
    const c = await start({
      secrets,
      secretNamespace: 'kube-system',
      secretRecheckMs: 10,
      keys,
      resources: [
        bgpPeer('tor', { peerIP: '10.0.0.254', asNumber: 65100, password: fromSecret('bgp-passwords', 'tor') }),
        bgpPeer('spine', { peerIP: '10.0.0.253', asNumber: 65200, password: fromSecret('spine-password', 'password') }),
        bgpPeer('plain', { peerIP: '10.0.0.252', asNumber: 65300 }),
      ],
    });
    expect(c.peers().map((p) => p.address)).toEqual(['10.0.0.252']);
    expect(c.status().problems).toEqual([
      { peer: 'spine', reason: 'spec.password: Secret kube-system/spine-password has no key "password", or does not exist: not started without its password', addresses: ['10.0.0.253'] },
      { peer: 'tor', reason: 'spec.password: Secret kube-system/bgp-passwords has no key "tor", or does not exist: not started without its password', addresses: ['10.0.0.254'] },
    ]);

    secrets.set('kube-system/bgp-passwords', { other: 'x', tor: 'tor-secret' });
    await until('the tor peer once its key exists', () => c.peers().map((p) => p.address).sort(), (a) => a.length === 2);
    expect(keys.get('10.0.0.254')).toBe('tor-secret');
    expect(c.status().problems.map((p) => p.peer)).toEqual(['spine']);
  });

  it('a changed password re-keys the peer: at the periodic re-check, and at once when the BGPPeer changes', async () => {
    const keys = new Map<string, string>();
    const reads: string[] = [];
    const secrets: Secrets = new Map([['kube-system/bgp-passwords', { tor: 'first', tor2: 'second' }]]);
    const c = await start({ secrets, reads, secretNamespace: 'kube-system', secretRecheckMs: 10, keys, resources: [bgpPeer('tor', { peerIP: '10.0.0.254', asNumber: 65100, password: fromSecret('bgp-passwords', 'tor') })] });
    expect(keys.get('10.0.0.254')).toBe('first');
    secrets.set('kube-system/bgp-passwords', { tor: 'rotated', tor2: 'second' });
    await until('the rotated password on the listener', () => keys.get('10.0.0.254'), (k) => k === 'rotated');
    expect(c.peers().map((p) => p.address)).toEqual(['10.0.0.254']);

    // The BGPPeer now names another key: read at once, without waiting for a re-check.
    await datastore?.apply(bgpPeer('tor', { peerIP: '10.0.0.254', asNumber: 65100, password: fromSecret('bgp-passwords', 'tor2') }));
    await until('the new key\'s password on the listener', () => keys.get('10.0.0.254'), (k) => k === 'second');
    expect(reads).toContain('kube-system/bgp-passwords/tor2');
  });

  it('keeps a peer keyed with the password read before while the API cannot be reached, at re-checks and BGPPeer changes', async () => {
    const keys = new Map<string, string>();
    const reads: string[] = [];
    const outage = { down: false };
    const secrets: Secrets = new Map([['kube-system/bgp-passwords', { tor: 'tor-secret' }]]);
    const peer = (maxRestartTime: string): AgentResource => bgpPeer('tor', { peerIP: '10.0.0.254', asNumber: 65100, maxRestartTime, password: fromSecret('bgp-passwords', 'tor') });
    const c = await start({ secrets, reads, outage, secretNamespace: 'kube-system', secretRecheckMs: 10, keys, resources: [peer('90s')] });
    expect(keys.get('10.0.0.254')).toBe('tor-secret');
    outage.down = true;
    const before = reads.length;
    await until('two re-checks during the outage', () => reads.length, (n) => n >= before + 2);
    // A BGPPeer change reads its Secret again, during the outage too.
    await datastore?.apply(peer('60s'));
    await until('the changed BGPPeer read', () => reads.length, (n) => n >= before + 3);
    expect(c.peers().map((p) => p.address)).toEqual(['10.0.0.254']);
    expect(keys.get('10.0.0.254')).toBe('tor-secret');
    expect(c.status().problems).toEqual([]);
  });

  it('a read the API refuses is reported in its words, and the peer waits', async () => {
    const keys = new Map<string, string>();
    const c = await start({ secrets: new Map(), keys, resources: [bgpPeer('tor', { peerIP: '10.0.0.254', asNumber: 65100, password: fromSecret('bgp-passwords', 'tor') })] });
    // No secretNamespace: the default twill-system, which this datastore refuses.
    expect(c.peers()).toEqual([]);
    expect(c.status().problems).toEqual([
      {
        peer: 'tor',
        reason: 'spec.password: could not read Secret twill-system/bgp-passwords: secrets "bgp-passwords" is forbidden: cannot get resource "secrets" in the namespace "twill-system": not started without its password',
        addresses: ['10.0.0.254'],
      },
    ]);
  });

  it('on a datastore without Secrets the mesh password from a Secret leaves the mesh down, saying so; an inline BGPPeer password still works', async () => {
    const keys = new Map<string, string>();
    const c = await start({
      keys,
      resources: [
        node('n2', { ipv4Address: '10.0.0.2/24' }),
        { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeMeshPassword: fromSecret('mesh', 'password') } },
        bgpPeer('tor', { peerIP: '10.0.0.254', asNumber: 65100, password: 'inline' }),
      ],
    });
    expect(c.peers().map((p) => p.address)).toEqual(['10.0.0.254']);
    expect(keys.get('10.0.0.254')).toBe('inline');
    expect(c.status().problems).toEqual([
      {
        peer: 'node-to-node mesh',
        reason:
          'BGPConfiguration default: spec.nodeMeshPassword: Secret twill-system/mesh cannot be read: the embedded SQLite datastore has no Secrets; give the password inline (password: "...") or run on the Kubernetes datastore: not started without its password',
        addresses: ['10.0.0.2'],
      },
    ]);
  });
});
