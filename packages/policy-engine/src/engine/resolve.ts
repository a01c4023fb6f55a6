// One IR rule → resolved rules. The remote side (peers and their ports) depends only on
// the index's population, so it is resolved once per rule and shared by every
// endpoint the rule's policy selects; the local side (a peer constraint on the
// endpoint itself, named ports) is resolved per endpoint, and only when the rule has one.

import { cidrContainsAddress, type Cidr, type IpAddress } from '../model/cidr.js';
import { type PortSpec, type Rule, type SideMatch } from '../model/policy.js';
import { matchPeer, type ResolvedSide } from '../evaluate/match.js';
import { type IndexedEndpoint, type IndexedNetworkSet } from '../evaluate/snapshot.js';
import { buildGrouping, groupingKey, groupingOutput } from './named-groups.js';
import { remoteInPeers, resolvePeer, type PeerUniverse } from './peer-atoms.js';
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
  if (side === undefined || (!hasNamed(ports) && !hasNamed(notPorts))) {
    return [{ peers, ...plain(ports && ranges(ports), notPorts && ranges(notPorts)) }];
  }
  // Grouping walks the peer's endpoints: do it once per distinct peer and names, kept
  // up to date while the population holds (policies often share a rule shape: "to the
  // monitoring namespace on port metrics"), the way peers are resolved once.
  const key = groupingKey(side);
  let grouping = universe.groupings?.get(key);
  if (grouping === undefined) {
    grouping = buildGrouping(peers, side, candidatesOf(peers, universe, endpoints));
    universe.groupings?.set(key, grouping);
  }
  return groupingOutput(grouping, side, universe);
}

function plain(p: readonly ResolvedPort[] | undefined, n: readonly ResolvedPort[] | undefined): Omit<RemoteMatch, 'peers'> {
  return {
    ...(p === undefined ? {} : { ports: p }),
    ...(n === undefined || n.length === 0 ? {} : { notPorts: n }),
  };
}

// The peer's candidate endpoints: when every atom names identities, those identities'
// members (and hosts); otherwise every endpoint. Either way the resolved atoms say which
// candidates the peer selects: matching the IR peer again per endpoint cost seconds at
// 5,000 pods.
function candidatesOf(peers: readonly PeerAtom[], universe: PeerUniverse, endpoints: Iterable<IndexedEndpoint>): Iterable<IndexedEndpoint> {
  return peers.some((a) => a.identities === undefined && a.cidrs === undefined)
    ? endpoints
    : new Set([...peerMembers(peers, universe), ...endpointsInNets(peers, universe, endpoints)]);
}

/**
 * The endpoints inside the CIDRs of `peers`' address-only atoms (a network set's nets),
 * cached per recomputation by the atoms' text: the same sets recur across policies.
 */
function endpointsInNets(peers: readonly PeerAtom[], universe: PeerUniverse, endpoints: Iterable<IndexedEndpoint>): IndexedEndpoint[] {
  const atoms = peers.filter((a) => a.identities === undefined && a.cidrs !== undefined);
  if (atoms.length === 0) return [];
  const key = JSON.stringify(atoms);
  const cached = universe.inNets?.get(key);
  if (cached !== undefined) return cached;
  const inside = remoteInPeers(atoms);
  const found: IndexedEndpoint[] = [];
  for (const endpoint of endpoints) if (inside(endpoint)) found.push(endpoint);
  universe.inNets?.set(key, found);
  return found;
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
