// One IR rule → resolved rules. The remote side (peers and their ports) depends only on
// the index's population, so it is resolved once per rule and shared by every
// endpoint the rule's policy selects; the local side (a peer constraint on the
// endpoint itself, named ports) is resolved per endpoint, and only when the rule has one.

import { cidrContainsAddress, hostCidr, type Cidr, type IpAddress } from '../model/cidr.js';
import { type PortSpec, type Rule, type SideMatch } from '../model/policy.js';
import { matchPeer, type ResolvedSide } from '../evaluate/match.js';
import { type IndexedEndpoint, type IndexedNetworkSet } from '../evaluate/snapshot.js';
import { excludeAddresses, resolvePeer, restrictToAddresses, type PeerUniverse } from './peer-atoms.js';
import { type LocalMatch, type PeerAtom, type RemoteMatch, type ResolvedPort } from './types.js';
import { RESERVED_IDENTITY } from '../identity/reserved.js';

/** Which direction a rule is enforced in. */
export type Direction = 'ingress' | 'egress';

/** The side of a rule that the local endpoint is: the destination for ingress. */
export const localSideOf = (rule: Rule, direction: Direction): SideMatch | undefined => (direction === 'ingress' ? rule.destination : rule.source);

/** The side of a rule that the remote peer is: the source for ingress. */
export const remoteSideOf = (rule: Rule, direction: Direction): SideMatch | undefined => (direction === 'ingress' ? rule.source : rule.destination);

const ANY_PEER: readonly PeerAtom[] = [{}];

const ranges = (specs: readonly PortSpec[]): ResolvedPort[] =>
  specs.flatMap((s) => (s.kind === 'range' ? [{ first: s.first, last: s.last }] : []));

const namedOn = (specs: readonly PortSpec[], endpoint: IndexedEndpoint): ResolvedPort[] =>
  specs.flatMap((s) => (s.kind !== 'named' ? [] : (endpoint.endpoint.namedPorts ?? [])
    .filter((p) => p.name === s.name)
    .map((p) => ({ first: p.port, last: p.port, protocol: p.protocol }))));

const hasNamed = (specs: readonly PortSpec[] | undefined): boolean => specs?.some((s) => s.kind === 'named') ?? false;

/** What a side of a flow looks like when it is `endpoint` using `address`. */
export function sideOf(endpoint: IndexedEndpoint, address: IpAddress | undefined, networkSets: Iterable<IndexedNetworkSet>, kubeApiServer: readonly Cidr[]): ResolvedSide {
  const sets: IndexedNetworkSet[] = [];
  if (address !== undefined) for (const set of networkSets) if (set.nets.some((n) => cidrContainsAddress(n, address))) sets.push(set);
  return {
    endpoint,
    ...(address === undefined ? {} : { address }),
    networkSets: sets,
    kubeApiServer: address !== undefined && kubeApiServer.some((n) => cidrContainsAddress(n, address)),
  };
}

/** Whether `endpoint`, as the remote side, may match `peer` (from any local endpoint's view). */
export function endpointMayMatch(side: SideMatch | undefined, endpoint: IndexedEndpoint, universe: PeerUniverse): boolean {
  if (side?.peer === undefined) return false;
  const addresses = endpoint.addresses.length === 0 ? [undefined] : endpoint.addresses;
  // Entities host and remote-node depend on the local endpoint's node: try both views.
  const locals = endpoint.endpoint.kind === 'host' ? [undefined, endpoint] : [undefined];
  return addresses.some((address) => {
    const resolved = sideOf(endpoint, address, universe.networkSets, universe.kubeApiServer);
    return locals.some((local) => matchPeer(side.peer ?? { kind: 'any' }, resolved, local));
  });
}

/**
 * The remote side of `rule` in `direction`: one match, or several when the remote
 * ports name ports (one per group of peer endpoints that give the names the same
 * numbers, plus the rest). `[]` when the rule can match no peer.
 */
export function resolveRemote(rule: Rule, direction: Direction, universe: PeerUniverse, endpoints: Iterable<IndexedEndpoint>): RemoteMatch[] {
  const side = remoteSideOf(rule, direction);
  const peers: readonly PeerAtom[] = side?.peer === undefined ? ANY_PEER : resolvePeer(side.peer, universe);
  if (peers.length === 0) return [];
  const ports = side?.ports;
  const notPorts = side?.notPorts;
  const plain = (p: readonly ResolvedPort[] | undefined, n: readonly ResolvedPort[] | undefined): Omit<RemoteMatch, 'peers'> => ({
    ...(p === undefined ? {} : { ports: p }),
    ...(n === undefined || n.length === 0 ? {} : { notPorts: n }),
  });
  if (!hasNamed(ports) && !hasNamed(notPorts)) {
    return [{ peers, ...plain(ports && ranges(ports), notPorts && ranges(notPorts)) }];
  }
  // Group the peer endpoints by what the names resolve to on them. When the peer is
  // identities only, its endpoints are those identities' members (and hosts).
  const byIdentity = peers.every((a) => a.identities !== undefined && a.cidrs === undefined);
  const candidates: Iterable<IndexedEndpoint> = byIdentity ? peerMembers(peers, universe) : endpoints;
  const groups = new Map<string, { ports: ResolvedPort[]; notPorts: ResolvedPort[]; addresses: Cidr[] }>();
  for (const endpoint of candidates) {
    const named = namedOn(ports ?? [], endpoint);
    const namedNot = namedOn(notPorts ?? [], endpoint);
    if (named.length + namedNot.length === 0 || endpoint.addresses.length === 0) continue;
    if (!byIdentity && side?.peer !== undefined && !endpointMayMatch(side, endpoint, universe)) continue;
    const key = JSON.stringify([named, namedNot]);
    const group = groups.get(key) ?? { ports: named, notPorts: namedNot, addresses: [] };
    group.addresses.push(...endpoint.addresses.map(hostCidr));
    groups.set(key, group);
  }
  const out: RemoteMatch[] = [];
  const baseRanges = ports && ranges(ports);
  const baseNot = notPorts && ranges(notPorts);
  // Sorted by what the names resolve to, so that equal populations give equal results.
  for (const [, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    group.addresses.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    const groupPeers = restrictToAddresses(peers, group.addresses);
    const groupPorts = baseRanges && [...baseRanges, ...group.ports];
    if (groupPeers.length === 0 || groupPorts?.length === 0) continue;
    out.push({ peers: groupPeers, ...plain(groupPorts, baseNot && [...baseNot, ...group.notPorts]) });
  }
  // The rest: with named notPorts the grouped endpoints must not fall through to it.
  const grouped = [...groups.values()].flatMap((g) => g.addresses);
  const restPeers = hasNamed(notPorts) ? excludeAddresses(peers, grouped) : peers;
  if (restPeers.length > 0 && baseRanges?.length !== 0) out.push({ peers: restPeers, ...plain(baseRanges, baseNot) });
  return out;
}

function peerMembers(peers: readonly PeerAtom[], universe: PeerUniverse): IndexedEndpoint[] {
  const ids = new Set(peers.flatMap((a) => a.identities ?? []));
  const out = [...ids].flatMap((id) => [...universe.members(id)]);
  if (ids.has(RESERVED_IDENTITY.HOST) || ids.has(RESERVED_IDENTITY.REMOTE_NODE)) out.push(...universe.hosts);
  return out;
}

/** Whether the local side of `rule` is the same for every endpoint (no peer constraint, no named port). */
export function localIsShared(rule: Rule, direction: Direction): boolean {
  const side = localSideOf(rule, direction);
  return (side?.peer === undefined || side.peer.kind === 'any') && !hasNamed(side?.ports) && !hasNamed(side?.notPorts);
}

/**
 * The local side of `rule` for `endpoint`: the endpoint's addresses the rule's local
 * peer matches, named ports resolved on it. `undefined` when the rule can never match
 * this endpoint.
 */
export function resolveLocal(rule: Rule, direction: Direction, endpoint: IndexedEndpoint | undefined, universe: PeerUniverse): LocalMatch | undefined {
  const side = localSideOf(rule, direction);
  if (side === undefined) return {};
  let addresses: string[] | undefined;
  if (side.peer !== undefined && side.peer.kind !== 'any' && endpoint !== undefined) {
    const candidates = endpoint.addresses.length === 0 ? [undefined] : endpoint.addresses;
    const matching = candidates.filter((address) => matchPeer(side.peer ?? { kind: 'any' }, sideOf(endpoint, address, universe.networkSets, universe.kubeApiServer), endpoint));
    if (matching.length === 0) return undefined;
    if (matching.length < candidates.length) addresses = matching.map((a) => a?.text ?? '');
  }
  const resolve = (specs: readonly PortSpec[]): ResolvedPort[] => [...ranges(specs), ...(endpoint === undefined ? [] : namedOn(specs, endpoint))];
  const ports = side.ports && resolve(side.ports);
  if (ports !== undefined && ports.length === 0) return undefined;
  const notPorts = side.notPorts && resolve(side.notPorts);
  return {
    ...(addresses === undefined ? {} : { addresses }),
    ...(ports === undefined ? {} : { ports }),
    ...(notPorts === undefined || notPorts.length === 0 ? {} : { notPorts }),
  };
}
