// Remote named ports: a rule's peer endpoints grouped by what the names resolve to on
// them. A grouping is built once per distinct (peer, port names) over the population and
// then kept up to date by delta: when endpoints move without the population of
// identities moving (a pod relabelled into an identity that already exists), only the
// moved endpoints leave or join their groups, instead of walking thousands of peer
// endpoints again (100 Calico policies sharing "namespaceSelector env != prod, port
// metrics" matched about 3,300 pods on every relabel).

import { hostCidr } from '../model/cidr.js';
import { type PortSpec, type SideMatch } from '../model/policy.js';
import { type IndexedEndpoint } from '../evaluate/snapshot.js';
import { RESERVED_IDENTITY, type NumericIdentity } from '../identity/reserved.js';
import { deepEqual } from './equal.js';
import { excludeAddresses, remoteInPeers, restrictToAddresses, type PeerUniverse } from './peer-atoms.js';
import { type PeerAtom, type RemoteMatch, type ResolvedPort } from './types.js';

/** A group of peer endpoints on which the remote named ports resolve the same. */
interface Group {
  readonly key: string;
  readonly ports: readonly ResolvedPort[];
  readonly notPorts: readonly ResolvedPort[];
  readonly members: Set<IndexedEndpoint>;
  /** How many members each workload identity has here. */
  readonly identities: Map<number, number>;
}

/**
 * The peer endpoints of one (peer, named ports, named notPorts), grouped. Internal to
 * the engine: held in `PeerUniverse.groupings` until the population of identities,
 * hosts or network sets moves.
 */
export interface NamedGrouping {
  readonly peers: readonly PeerAtom[];
  readonly ports: readonly PortSpec[] | undefined;
  readonly notPorts: readonly PortSpec[] | undefined;
  /** Whether an endpoint is among the peer's candidates (before the named ports and `selects`). */
  readonly candidate: (endpoint: IndexedEndpoint) => boolean;
  /** What the atoms select, when they are not identities alone. */
  readonly selects: ((endpoint: IndexedEndpoint) => boolean) | undefined;
  readonly groups: Map<string, Group>;
  readonly memberOf: Map<IndexedEndpoint, Group>;
  /** How many members each workload identity has in the groups: whether it is whole depends on the others. */
  readonly identities: Map<number, number>;
  /** Bumped whenever a group gains or loses a member. */
  version: number;
  /** The remote matches made for each side text (sides differ by numeric ports), and the version they are of. */
  readonly outputs: Map<string, { readonly version: number; readonly result: RemoteMatch[] }>;
}

const ranges = (specs: readonly PortSpec[]): ResolvedPort[] =>
  specs.flatMap((s) => (s.kind === 'range' ? [{ first: s.first, last: s.last }] : []));

const hasNamed = (specs: readonly PortSpec[] | undefined): boolean => specs?.some((s) => s.kind === 'named') ?? false;

const namesKey = (specs: readonly PortSpec[] | undefined): string => (specs ?? []).flatMap((s) => (s.kind === 'named' ? [s.name] : [])).join('\u0000');

const portsKey = (ports: readonly ResolvedPort[]): string => ports.map((p) => `${p.first}-${p.last}/${p.protocol ?? ''}`).join(',');

/** What a list of port specs' names resolve to on one endpoint, and the key of that resolution. */
interface NamedOnEndpoint {
  readonly ports: ResolvedPort[];
  readonly key: string;
}

// Per endpoint (an IndexedEndpoint is replaced, never changed, when its endpoint moves)
// and list of names: what they resolve to. Grouping asks this of thousands of endpoints.
const namedCache = new WeakMap<IndexedEndpoint, Map<string, NamedOnEndpoint>>();

function namedOnCached(specs: readonly PortSpec[] | undefined, endpoint: IndexedEndpoint): NamedOnEndpoint {
  const specsKey = namesKey(specs);
  let byNames = namedCache.get(endpoint);
  if (byNames === undefined) {
    byNames = new Map();
    namedCache.set(endpoint, byNames);
  }
  let found = byNames.get(specsKey);
  if (found === undefined) {
    const ports = (specs ?? []).flatMap((s) => (s.kind !== 'named' ? [] : (endpoint.endpoint.namedPorts ?? [])
      .filter((p) => p.name === s.name)
      .map((p) => ({ first: p.port, last: p.port, protocol: p.protocol }))));
    found = { ports, key: portsKey(ports) };
    byNames.set(specsKey, found);
  }
  return found;
}

/** The key of a grouping: the peer and the names, not the numeric ports (which only the output adds). */
export const groupingKey = (side: SideMatch): string => JSON.stringify([side.peer ?? null, namesKey(side.ports), namesKey(side.notPorts)]);

/** The test behind a grouping's candidates: the peer's identities' members (hosts for host and remote-node), endpoints in its address-only atoms, or every endpoint. */
function candidateTest(peers: readonly PeerAtom[]): (endpoint: IndexedEndpoint) => boolean {
  if (peers.some((a) => a.identities === undefined && a.cidrs === undefined)) return () => true;
  const ids = new Set<number>(peers.flatMap((a) => a.identities ?? []));
  const hosts = ids.has(RESERVED_IDENTITY.HOST) || ids.has(RESERVED_IDENTITY.REMOTE_NODE);
  const netAtoms = peers.filter((a) => a.identities === undefined && a.cidrs !== undefined);
  const inNets = netAtoms.length === 0 ? undefined : remoteInPeers(netAtoms);
  return (endpoint) => (endpoint.endpoint.kind === 'host' ? hosts : ids.has(endpoint.identity)) || inNets?.(endpoint) === true;
}

/** Builds a grouping from the candidates the caller found (the members of the peer's identities, and so on). */
export function buildGrouping(peers: readonly PeerAtom[], side: SideMatch, candidates: Iterable<IndexedEndpoint>): NamedGrouping {
  const identitiesOnly = peers.every((a) => a.identities !== undefined && a.cidrs === undefined);
  const grouping: NamedGrouping = {
    peers,
    ports: side.ports,
    notPorts: side.notPorts,
    candidate: candidateTest(peers),
    selects: identitiesOnly ? undefined : remoteInPeers(peers),
    groups: new Map(),
    memberOf: new Map(),
    identities: new Map(),
    version: 0,
    outputs: new Map(),
  };
  for (const endpoint of candidates) join(grouping, endpoint);
  return grouping;
}

function join(grouping: NamedGrouping, endpoint: IndexedEndpoint): void {
  if (endpoint.addresses.length === 0 || endpoint.endpoint.namedPorts === undefined || endpoint.endpoint.namedPorts.length === 0) return;
  if (grouping.memberOf.has(endpoint)) return;
  const named = namedOnCached(grouping.ports, endpoint);
  const namedNot = namedOnCached(grouping.notPorts, endpoint);
  if (named.ports.length + namedNot.ports.length === 0) return;
  if (grouping.selects !== undefined && !grouping.selects(endpoint)) return;
  const key = `${named.key}|${namedNot.key}`;
  let group = grouping.groups.get(key);
  if (group === undefined) {
    group = { key, ports: named.ports, notPorts: namedNot.ports, members: new Set(), identities: new Map() };
    grouping.groups.set(key, group);
  }
  group.members.add(endpoint);
  grouping.memberOf.set(endpoint, group);
  if (endpoint.endpoint.kind === 'workload') {
    grouping.identities.set(endpoint.identity, (grouping.identities.get(endpoint.identity) ?? 0) + 1);
    group.identities.set(endpoint.identity, (group.identities.get(endpoint.identity) ?? 0) + 1);
  }
  grouping.version += 1;
}

/**
 * Moves endpoints in or out of a grouping: `gone` left the population (an endpoint's
 * version before a change), `live` are current. Only valid while the peer's atoms hold
 * (no identity, host or network set appeared or went).
 */
export function updateGrouping(grouping: NamedGrouping, gone: readonly IndexedEndpoint[], live: readonly IndexedEndpoint[]): void {
  // An identity with members in the groups gaining or losing one elsewhere changes
  // whether it is whole there: the output must be made again.
  const touches = (e: IndexedEndpoint): boolean => e.endpoint.kind === 'workload' && grouping.identities.has(e.identity);
  if (gone.some(touches) || live.some(touches)) grouping.version += 1;
  for (const endpoint of gone) {
    const group = grouping.memberOf.get(endpoint);
    if (group === undefined) continue;
    group.members.delete(endpoint);
    if (group.members.size === 0) grouping.groups.delete(group.key);
    grouping.memberOf.delete(endpoint);
    if (endpoint.endpoint.kind === 'workload') {
      decrement(grouping.identities, endpoint.identity);
      decrement(group.identities, endpoint.identity);
    }
    grouping.version += 1;
  }
  for (const endpoint of live) if (grouping.candidate(endpoint)) join(grouping, endpoint);
}

function decrement(counts: Map<number, number>, id: number): void {
  const count = (counts.get(id) ?? 1) - 1;
  if (count === 0) counts.delete(id);
  else counts.set(id, count);
}

function plain(p: readonly ResolvedPort[] | undefined, n: readonly ResolvedPort[] | undefined): Omit<RemoteMatch, 'peers'> {
  return {
    ...(p === undefined ? {} : { ports: p }),
    ...(n === undefined || n.length === 0 ? {} : { notPorts: n }),
  };
}

// Each IR side's text (policies compiled apart hold equal sides as different objects).
const sideKeys = new WeakMap<SideMatch, string>();

// Outputs a grouping keeps, by side text: bounded, as edits of numeric ports make new texts.
const MAX_OUTPUTS = 64;

/** The remote matches of `side` from its grouping: one per group, plus the rest. */
export function groupingOutput(grouping: NamedGrouping, side: SideMatch, universe: PeerUniverse): RemoteMatch[] {
  let key = sideKeys.get(side);
  if (key === undefined) {
    key = JSON.stringify(side);
    sideKeys.set(side, key);
  }
  const last = grouping.outputs.get(key);
  if (last !== undefined && last.version === grouping.version) return last.result;
  let result = computeOutput(grouping, side, universe);
  // Unchanged (a member moved between identities the group holds whole): keep the
  // object, which every policy sharing the side compares by reference.
  if (last !== undefined && deepEqual(last.result, result)) result = last.result;
  if (last === undefined && grouping.outputs.size >= MAX_OUTPUTS) grouping.outputs.clear();
  grouping.outputs.set(key, { version: grouping.version, result });
  return result;
}

function computeOutput(grouping: NamedGrouping, side: SideMatch, universe: PeerUniverse): RemoteMatch[] {
  const { peers } = grouping;
  const out: RemoteMatch[] = [];
  const baseRanges = side.ports && ranges(side.ports);
  const baseNot = side.notPorts && ranges(side.notPorts);
  // Identities the peer selects whatever the address: a group holding every member of
  // one of them keeps the identity rather than listing its members' addresses (the
  // same traffic, as only those members carry it; thousands of /32s otherwise). With
  // named notPorts the rest below excludes grouped addresses, so groups stay addresses.
  const anyAddress = hasNamed(side.notPorts) ? new Set<number>() : new Set(peers.flatMap((a) => (a.cidrs === undefined ? a.identities ?? [] : [])));
  // Sorted by what the names resolve to, so that equal populations give equal results.
  const groups = [...grouping.groups.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const group of groups) {
    const whole = wholeIdentities(group, anyAddress, universe);
    // Usually every member's identity is whole: no member to list by address.
    const listed = whole.size === group.identities.size && [...group.identities.values()].reduce((n, c) => n + c, 0) === group.members.size
      ? []
      : [...group.members].filter((m) => m.endpoint.kind !== 'workload' || !whole.has(m.identity));
    const addresses = listed.flatMap((m) => m.addresses.map(hostCidr));
    addresses.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    const byAddress = restrictToAddresses(peers, addresses);
    const groupPeers = whole.size === 0 ? byAddress : [{ identities: [...whole].sort((a, b) => a - b) as NumericIdentity[] }, ...byAddress];
    const groupPorts = baseRanges && [...baseRanges, ...group.ports];
    if (groupPeers.length === 0 || groupPorts?.length === 0) continue;
    out.push({ peers: groupPeers, ...plain(groupPorts, baseNot && [...baseNot, ...group.notPorts]) });
  }
  // The rest: with named notPorts the grouped endpoints must not fall through to it.
  let restPeers: readonly PeerAtom[] = peers;
  if (hasNamed(side.notPorts)) {
    const grouped = groups.flatMap((g) => [...g.members].flatMap((m) => m.addresses.map(hostCidr)));
    grouped.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    restPeers = excludeAddresses(peers, grouped);
  }
  if (restPeers.length > 0 && baseRanges?.length !== 0) out.push({ peers: restPeers, ...plain(baseRanges, baseNot) });
  return out;
}

/** The identities among `candidates` whose every member is in `group`. */
function wholeIdentities(group: Group, candidates: ReadonlySet<number>, universe: PeerUniverse): Set<number> {
  const whole = new Set<number>();
  // Members without an address are in no group: their identity is never whole.
  for (const [id, count] of group.identities) if (candidates.has(id) && universe.memberCount(id as NumericIdentity) === count) whole.add(id);
  return whole;
}
