import { describe, expect, it } from 'vitest';

import { type PeerPlanInput, parseBgpConfiguration, parsePeerIp, planPeers } from '../../../src/agent/controllers/bgp-peers.js';
import { type NodeInfo, parseNode } from '../../../src/agent/controllers/route-model.js';
import { type AgentResource } from '../../../src/agent/ports.js';

import { node } from './route-fixtures.js';

function bgpPeer(name: string, spec: Record<string, unknown>): AgentResource {
  return { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec };
}

const nodes = new Map<string, NodeInfo>(
  [
    node('n1', { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64' }, { rack: 'r1' }),
    node('n2', { ipv4Address: '10.0.0.2/24', ipv6Address: 'fd00::2/64' }, { rack: 'r1' }),
    node('n3', { ipv4Address: '10.0.0.3/24', asNumber: 65003 }, { rack: 'r2', 'route-reflector': 'true' }),
  ].map((r) => [r.metadata.name, parseNode(r)]),
);

function input(self: string, bgpPeers: AgentResource[] = [], config?: AgentResource): PeerPlanInput {
  const info = nodes.get(self);
  if (!info) throw new Error(self);
  return { self: info, settings: parseBgpConfiguration(config), nodes, bgpPeers };
}

const summary = (plan: ReturnType<typeof planPeers>): string[] =>
  [...plan.peers.values()].map((p) => `${p.address} as ${p.asn}${p.port ? ` port ${p.port}` : ''} from ${p.localAddress ?? '-'}${p.passive ? ' passive' : ''}${p.md5Password ? ' md5' : ''} (${p.source})`).sort();

describe('parseBgpConfiguration', () => {
  it("fills in Calico's defaults", () => {
    expect(parseBgpConfiguration(undefined)).toEqual({ asNumber: 64512, nodeToNodeMeshEnabled: true, listenPort: 179 });
    expect(
      parseBgpConfiguration({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 65000, nodeToNodeMeshEnabled: false, listenPort: 1790 } }),
    ).toEqual({ asNumber: 65000, nodeToNodeMeshEnabled: false, listenPort: 1790 });
  });
});

describe('parsePeerIp', () => {
  it.each([
    ['10.0.0.5', { address: '10.0.0.5' }],
    ['10.0.0.5:1790', { address: '10.0.0.5', port: 1790 }],
    ['fd00::5', { address: 'fd00::5' }],
    ['[fd00::5]:1790', { address: 'fd00::5', port: 1790 }],
    ['[fd00::5]', { address: 'fd00::5' }],
    ['10.0.0.300', undefined],
    ['router.example', undefined],
    ['10.0.0.5:70000', undefined],
  ])('%s', (text, expected) => {
    expect(parsePeerIp(text)).toEqual(expected);
  });
});

describe('planPeers', () => {
  it('meshes with every other node per family; of each pair the lower address connects and the higher waits', () => {
    expect(summary(planPeers(input('n1')))).toEqual([
      '10.0.0.2 as 64512 from 10.0.0.1 (mesh)',
      '10.0.0.3 as 65003 from 10.0.0.1 (mesh)',
      'fd00::2 as 64512 from fd00::1 (mesh)',
    ]);
    expect(summary(planPeers(input('n2')))).toEqual([
      '10.0.0.1 as 64512 from 10.0.0.2 passive (mesh)',
      '10.0.0.3 as 65003 from 10.0.0.2 (mesh)',
      'fd00::1 as 64512 from fd00::2 passive (mesh)',
    ]);
  });

  it('uses the cluster AS and listen port of BGPConfiguration, and no mesh when it is off', () => {
    const config = (spec: Record<string, unknown>): AgentResource => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec });
    expect(summary(planPeers(input('n3', [], config({ asNumber: 65000, listenPort: 1790 }))))).toEqual([
      '10.0.0.1 as 65000 port 1790 from 10.0.0.3 passive (mesh)',
      '10.0.0.2 as 65000 port 1790 from 10.0.0.3 passive (mesh)',
    ]);
    expect(summary(planPeers(input('n1', [], config({ nodeToNodeMeshEnabled: false }))))).toEqual([]);
  });

  it('gives the mesh sessions BGPConfiguration\'s nodeMeshPassword, and a BGPPeer its ttlSecurity', () => {
    const config: AgentResource = { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeMeshPassword: 'mesh-secret' } };
    const plan = planPeers(input('n1', [bgpPeer('tor', { peerIP: '10.0.0.254', asNumber: 65100, ttlSecurity: 1 }), bgpPeer('off', { peerIP: '10.0.0.253', asNumber: 65100, ttlSecurity: 0 })], config));
    expect(summary(plan)).toEqual([
      '10.0.0.2 as 64512 from 10.0.0.1 md5 (mesh)',
      '10.0.0.253 as 65100 from 10.0.0.1 (bgppeer/off)',
      '10.0.0.254 as 65100 from 10.0.0.1 (bgppeer/tor)',
      '10.0.0.3 as 65003 from 10.0.0.1 md5 (mesh)',
      'fd00::2 as 64512 from fd00::1 md5 (mesh)',
    ]);
    expect(plan.peers.get('10.0.0.2')?.md5Password).toBe('mesh-secret');
    expect(plan.peers.get('10.0.0.254')?.ttlSecurity).toEqual({ hops: 1 });
    // ttlSecurity 0 is Calico's "off".
    expect(plan.peers.get('10.0.0.253')?.ttlSecurity).toBeUndefined();
  });

  it('adds the BGPPeers of this node: global, by node name, by node selector; an explicit peer wins over the mesh', () => {
    const peers = [
      bgpPeer('tor', { peerIP: '10.0.0.254', asNumber: 65100 }),
      bgpPeer('only-n2', { node: 'n2', peerIP: '[fd00::fe]:1790', asNumber: 65101 }),
      bgpPeer('rack1', { nodeSelector: "rack == 'r1'", peerIP: '10.0.0.253', asNumber: 65102, password: 's3cret' }),
      bgpPeer('rack2', { nodeSelector: "rack == 'r2'", peerIP: '10.0.0.252', asNumber: 65103 }),
      bgpPeer('to-n2', { peerIP: '10.0.0.2', asNumber: 65002, sourceAddress: 'None' }),
    ];
    expect(summary(planPeers(input('n1', peers)))).toEqual([
      '10.0.0.2 as 65002 from - (bgppeer/to-n2)',
      '10.0.0.253 as 65102 from 10.0.0.1 md5 (bgppeer/rack1)',
      '10.0.0.254 as 65100 from 10.0.0.1 (bgppeer/tor)',
      '10.0.0.3 as 65003 from 10.0.0.1 (mesh)',
      'fd00::2 as 64512 from fd00::1 (mesh)',
    ]);
    expect(summary(planPeers(input('n2', peers)))).toContain('fd00::fe as 65101 port 1790 from fd00::2 (bgppeer/only-n2)');
  });

  it('peers with the nodes a peerSelector picks, and they peer back (Calico\'s automatic reverse peering); never with itself', () => {
    const peers = [bgpPeer('to-rr', { nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' })];
    const config: AgentResource = { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false } };
    // Both ends have the session: of each pair the lower address connects, as in the mesh.
    expect(summary(planPeers(input('n1', peers, config)))).toEqual(['10.0.0.3 as 65003 from 10.0.0.1 (bgppeer/to-rr)']);
    expect(summary(planPeers(input('n3', peers, config)))).toEqual(['10.0.0.1 as 64512 from 10.0.0.3 passive (bgppeer/to-rr)', '10.0.0.2 as 64512 from 10.0.0.3 passive (bgppeer/to-rr)']);
    // reversePeering: Manual: only the nodes the BGPPeer applies to have the session, and they connect.
    const manual = [bgpPeer('to-rr', { nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)', reversePeering: 'Manual' })];
    expect(summary(planPeers(input('n3', manual, config)))).toEqual([]);
    expect(summary(planPeers(input('n2', manual, config)))).toEqual(['10.0.0.3 as 65003 from 10.0.0.2 (bgppeer/to-rr)']);
    const self = [bgpPeer('loop', { peerIP: '10.0.0.1', asNumber: 65000 })];
    expect(summary(planPeers(input('n1', self, config)))).toEqual([]);
  });

  it('reports a BGPPeer it cannot use and keeps the others', () => {
    const peers = [
      bgpPeer('bad-ip', { peerIP: 'router.example', asNumber: 65000 }),
      bgpPeer('no-as', { peerIP: '10.0.0.250' }),
      bgpPeer('bad-selector', { nodeSelector: 'rack ==' }),
      bgpPeer('good', { peerIP: '10.0.0.254', asNumber: 65100 }),
    ];
    const plan = planPeers(input('n1', peers));
    expect(summary(plan)).toContain('10.0.0.254 as 65100 from 10.0.0.1 (bgppeer/good)');
    expect(plan.problems.map((p) => p.peer)).toEqual(['bad-ip', 'bad-selector', 'no-as']);
    expect(plan.problems[0]?.reason).toBe('spec.peerIP "router.example" is not an address (10.0.0.5, 10.0.0.5:1790, [fd00::5]:1790)');
    expect(plan.problems[1]?.reason).toMatch(/^spec\.nodeSelector: /);
    expect(plan.problems[2]?.reason).toBe('spec.asNumber is required with spec.peerIP');
  });
});
