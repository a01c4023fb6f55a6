// Who peers with whom when some nodes are route reflectors (spec.bgp.routeReflectorClusterID),
// as calico-node configures BIRD: reflectors leave the mesh, their iBGP peers that are not
// reflectors of their cluster are clients, each side keeps its own AS; and the passwords a
// BGPPeer or the mesh take from Secrets, resolved from what the controller read.
import { describe, expect, it } from 'vitest';

import { type BgpNode, type PeerPlan, type SecretLookup, parseBgpConfiguration, parseBgpNode, planPeers, resolvePasswords, secretRefsOf } from '../../../src/agent/controllers/bgp-peers.js';
import { type AgentResource } from '../../../src/agent/ports.js';

function calicoNode(name: string, bgp: Record<string, unknown>, labels: Record<string, string> = {}): AgentResource {
  return { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name, labels }, spec: { bgp } };
}

function bgpPeer(name: string, spec: Record<string, unknown>): AgentResource {
  return { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec };
}

const configuration = (spec: Record<string, unknown>): AgentResource => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec });

const RR = { 'route-reflector': 'true' };

/** Two reflectors of cluster 10.255.0.1, one of 10.255.0.2, and three nodes, one of them in AS 65002. */
function cluster(overrides: Record<string, AgentResource> = {}): Map<string, BgpNode> {
  const resources = [
    calicoNode('rr1', { ipv4Address: '10.0.1.1/24', routeReflectorClusterID: '10.255.0.1' }, RR),
    calicoNode('rr2', { ipv4Address: '10.0.1.2/24', routeReflectorClusterID: '10.255.0.1' }, RR),
    calicoNode('rr3', { ipv4Address: '10.0.1.3/24', routeReflectorClusterID: '10.255.0.2' }, RR),
    calicoNode('c1', { ipv4Address: '10.0.1.11/24' }),
    calicoNode('c2', { ipv4Address: '10.0.1.12/24', asNumber: 65002 }),
    calicoNode('c3', { ipv4Address: '10.0.1.13/24' }),
  ].map((r) => overrides[r.metadata.name] ?? r);
  return new Map(resources.map((r) => [r.metadata.name, parseBgpNode(r)]));
}

const PEER_WITH_REFLECTORS = bgpPeer('peer-with-reflectors', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" });

function sessions(self: string, options: { mesh?: boolean; nodes?: Map<string, BgpNode>; peers?: AgentResource[] } = {}): string[] {
  const nodes = options.nodes ?? cluster();
  const me = nodes.get(self);
  if (!me) throw new Error(self);
  const plan = planPeers({ self: me, settings: parseBgpConfiguration(configuration({ nodeToNodeMeshEnabled: options.mesh ?? false })), nodes, bgpPeers: options.peers ?? [PEER_WITH_REFLECTORS] });
  expect(plan.problems).toEqual([]);
  return [...plan.peers.values()]
    .map((p) => `${p.address} as ${p.asn}${p.passive ? ' passive' : ''}${p.routeReflectorClient ? ' rr-client' : ''} (${p.source})`)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

describe('route reflection', () => {
  it('reads the cluster id of a Node', () => {
    expect(parseBgpNode(calicoNode('rr1', { ipv4Address: '10.0.1.1/24', routeReflectorClusterID: '10.255.0.1' }, RR))).toEqual({
      name: 'rr1',
      ipv4: '10.0.1.1',
      routeReflectorClusterId: '10.255.0.1',
      labels: RR,
    });
    expect(parseBgpNode(calicoNode('c1', { ipv4Address: '10.0.1.11/24', routeReflectorClusterID: '' })).routeReflectorClusterId).toBeUndefined();
  });

  it('a reflector treats its iBGP peers as clients, except reflectors of its own cluster; an eBGP peer is no client', () => {
    expect(sessions('rr1')).toEqual([
      // Same cluster: plain iBGP between the reflectors.
      '10.0.1.2 as 64512 (bgppeer/peer-with-reflectors)',
      // Another cluster's reflector is a client of this one (and this one of it).
      '10.0.1.3 as 64512 rr-client (bgppeer/peer-with-reflectors)',
      '10.0.1.11 as 64512 rr-client (bgppeer/peer-with-reflectors)',
      // c2 has its own AS: eBGP, which is not reflection.
      '10.0.1.12 as 65002 (bgppeer/peer-with-reflectors)',
      '10.0.1.13 as 64512 rr-client (bgppeer/peer-with-reflectors)',
    ]);
    expect(sessions('rr3')).toEqual([
      '10.0.1.1 as 64512 passive rr-client (bgppeer/peer-with-reflectors)',
      '10.0.1.2 as 64512 passive rr-client (bgppeer/peer-with-reflectors)',
      '10.0.1.11 as 64512 rr-client (bgppeer/peer-with-reflectors)',
      '10.0.1.12 as 65002 (bgppeer/peer-with-reflectors)',
      '10.0.1.13 as 64512 rr-client (bgppeer/peer-with-reflectors)',
    ]);
  });

  it('a client needs nothing special: it peers with every reflector, and only with them when the mesh is off', () => {
    expect(sessions('c1')).toEqual([
      '10.0.1.1 as 64512 passive (bgppeer/peer-with-reflectors)',
      '10.0.1.2 as 64512 passive (bgppeer/peer-with-reflectors)',
      '10.0.1.3 as 64512 passive (bgppeer/peer-with-reflectors)',
    ]);
    // c2 in its own AS peers with each reflector in theirs.
    expect(sessions('c2')).toEqual([
      '10.0.1.1 as 64512 passive (bgppeer/peer-with-reflectors)',
      '10.0.1.2 as 64512 passive (bgppeer/peer-with-reflectors)',
      '10.0.1.3 as 64512 passive (bgppeer/peer-with-reflectors)',
    ]);
  });

  it('with the mesh on, reflectors are left out of it: they mesh with no one and no one meshes with them', () => {
    expect(sessions('c1', { mesh: true, peers: [] })).toEqual(['10.0.1.12 as 65002 (mesh)', '10.0.1.13 as 64512 (mesh)']);
    expect(sessions('rr1', { mesh: true, peers: [] })).toEqual([]);
    // The BGPPeer still joins the clients to the reflectors.
    expect(sessions('c1', { mesh: true })).toEqual([
      '10.0.1.1 as 64512 passive (bgppeer/peer-with-reflectors)',
      '10.0.1.2 as 64512 passive (bgppeer/peer-with-reflectors)',
      '10.0.1.3 as 64512 passive (bgppeer/peer-with-reflectors)',
      '10.0.1.12 as 65002 (mesh)',
      '10.0.1.13 as 64512 (mesh)',
    ]);
  });

  it('a changed cluster id changes who is a client: rr3 joining cluster 10.255.0.1 is a plain peer of rr1; c1 becoming a reflector makes rr1 its client', () => {
    const joined = cluster({ rr3: calicoNode('rr3', { ipv4Address: '10.0.1.3/24', routeReflectorClusterID: '10.255.0.1' }, RR) });
    expect(sessions('rr1', { nodes: joined })).toContain('10.0.1.3 as 64512 (bgppeer/peer-with-reflectors)');
    const promoted = cluster({ c1: calicoNode('c1', { ipv4Address: '10.0.1.11/24', routeReflectorClusterID: '10.255.0.9' }) });
    // c1 is not labelled a reflector, so the BGPPeer still picks only the labelled ones; it reflects for them.
    expect(sessions('c1', { nodes: promoted })).toEqual([
      '10.0.1.1 as 64512 passive rr-client (bgppeer/peer-with-reflectors)',
      '10.0.1.2 as 64512 passive rr-client (bgppeer/peer-with-reflectors)',
      '10.0.1.3 as 64512 passive rr-client (bgppeer/peer-with-reflectors)',
    ]);
  });

  it('each side keeps its own AS: a reflector in AS 65010 has eBGP sessions, not clients', () => {
    const own = cluster({ rr1: calicoNode('rr1', { ipv4Address: '10.0.1.1/24', routeReflectorClusterID: '10.255.0.1', asNumber: 65010 }, RR) });
    expect(sessions('rr1', { nodes: own })).toEqual([
      '10.0.1.2 as 64512 (bgppeer/peer-with-reflectors)',
      '10.0.1.3 as 64512 (bgppeer/peer-with-reflectors)',
      '10.0.1.11 as 64512 (bgppeer/peer-with-reflectors)',
      '10.0.1.12 as 65002 (bgppeer/peer-with-reflectors)',
      '10.0.1.13 as 64512 (bgppeer/peer-with-reflectors)',
    ]);
    expect(sessions('c1', { nodes: own })[0]).toBe('10.0.1.1 as 65010 passive (bgppeer/peer-with-reflectors)');
  });

  it('a peerIP that is a reflector of the same cluster is a plain peer; any other iBGP peerIP is a client', () => {
    const peers = [
      bgpPeer('to-rr2', { node: 'rr1', peerIP: '10.0.1.2', asNumber: 64512 }),
      bgpPeer('tor', { node: 'rr1', peerIP: '10.0.1.254', asNumber: 64512 }),
      bgpPeer('upstream', { node: 'rr1', peerIP: '10.0.1.253', asNumber: 65100 }),
    ];
    expect(sessions('rr1', { peers })).toEqual([
      '10.0.1.2 as 64512 (bgppeer/to-rr2)',
      '10.0.1.253 as 65100 (bgppeer/upstream)',
      '10.0.1.254 as 64512 rr-client (bgppeer/tor)',
    ]);
  });
});

describe('passwords from Secrets', () => {
  const nodes = cluster();
  const self = nodes.get('c1');
  if (!self) throw new Error('c1');
  const peers = [
    bgpPeer('peer-with-reflectors', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'", password: { secretKeyRef: { name: 'bgp-passwords', key: 'reflectors' } } }),
    bgpPeer('tor', { peerIP: '10.0.1.254', asNumber: 65100, password: { secretKeyRef: { name: 'bgp-passwords', key: 'tor' } } }),
    bgpPeer('inline', { peerIP: '10.0.1.253', asNumber: 65100, password: 'inline-secret' }),
  ];
  const mesh = configuration({ nodeMeshPassword: { secretKeyRef: { name: 'mesh-password', key: 'password' } } });
  const plan = planPeers({ self, settings: parseBgpConfiguration(mesh), nodes, bgpPeers: peers });

  it('plans sessions naming the Secret key, and lists each key once', () => {
    expect(plan.problems).toEqual([]);
    expect(plan.peers.get('10.0.1.1')).toMatchObject({ md5Secret: { name: 'bgp-passwords', key: 'reflectors' } });
    expect(plan.peers.get('10.0.1.1')?.md5Password).toBeUndefined();
    expect(plan.peers.get('10.0.1.13')).toMatchObject({ source: 'mesh', md5Secret: { name: 'mesh-password', key: 'password' } });
    expect(secretRefsOf(plan.peers.values()).map((r) => `${r.name}/${r.key}`).sort()).toEqual(['bgp-passwords/reflectors', 'bgp-passwords/tor', 'mesh-password/password']);
  });

  it('fills in the passwords read', () => {
    const lookups = new Map<string, SecretLookup>([
      ['bgp-passwords/reflectors', { value: 'rr-secret' }],
      ['bgp-passwords/tor', { value: 'tor-secret' }],
      ['mesh-password/password', { value: 'mesh-secret' }],
    ]);
    const resolved = resolvePasswords(plan.peers, lookups);
    expect(resolved.problems).toEqual([]);
    const password = (address: string): string | undefined => resolved.peers.get(address)?.md5Password;
    expect([password('10.0.1.1'), password('10.0.1.3'), password('10.0.1.254'), password('10.0.1.253'), password('10.0.1.12')]).toEqual(['rr-secret', 'rr-secret', 'tor-secret', 'inline-secret', 'mesh-secret']);
  });

  it('leaves out the sessions whose Secret could not be read, saying why once per BGPPeer or for the mesh; the others run', () => {
    const lookups = new Map<string, SecretLookup>([
      ['bgp-passwords/reflectors', { problem: 'Secret twill-system/bgp-passwords has no key "reflectors", or does not exist' }],
      ['bgp-passwords/tor', { value: 'tor-secret' }],
      ['mesh-password/password', { problem: 'Secret twill-system/mesh-password cannot be read: this datastore has no Secrets' }],
    ]);
    const resolved = resolvePasswords(plan.peers, lookups);
    expect([...resolved.peers.keys()].sort()).toEqual(['10.0.1.253', '10.0.1.254']);
    expect(resolved.problems).toEqual([
      {
        peer: 'node-to-node mesh',
        reason: 'BGPConfiguration default: spec.nodeMeshPassword: Secret twill-system/mesh-password cannot be read: this datastore has no Secrets: not started without its password',
        addresses: ['10.0.1.12', '10.0.1.13'],
      },
      {
        peer: 'peer-with-reflectors',
        reason: 'spec.password: Secret twill-system/bgp-passwords has no key "reflectors", or does not exist: not started without its password',
        addresses: ['10.0.1.1', '10.0.1.2', '10.0.1.3'],
      },
    ]);
  });

  it('a Secret key not read at all counts as unreadable, never as no password', () => {
    const resolved = resolvePasswords(plan.peers, new Map());
    const kept: PeerPlan[] = [...resolved.peers.values()];
    expect(kept.map((p) => p.address)).toEqual(['10.0.1.253']);
    expect(resolved.problems.map((p) => p.reason)).toContain('spec.password: not read yet: not started without its password');
  });
});
