// One recomputation after a batch of recorded changes (see index-state.ts), touching only:
// - the endpoints a changed policy selects, before or after;
// - a changed endpoint's own rules, and its membership in every policy's subject;
// - the rules whose remote peer matches a changed endpoint or network set before or
//   after: those are resolved again, and the endpoints their policy selects are
//   recomputed only when the resolution differs (a pod relabelled into an identity
//   that already exists changes no rule);
// - for a tier, the endpoints its policies select.
// An endpoint is reported only when its rules differ from what it had.

import { type NumericIdentity } from '../identity/reserved.js';
import { cidrContainsAddress } from '../model/cidr.js';
import { type PeerMatch, type Policy, type Rule, type SideMatch } from '../model/policy.js';
import { matchSelector, type Selector } from '../model/selector.js';
import { endpointKey } from '../evaluate/snapshot.js';
import { effectiveDirection, reresolvePolicyRules, resolvePolicyEntry, type PolicyEntry } from './effective.js';
import { deepEqual } from './equal.js';
import { type IndexState, type Pending } from './index-state.js';
import { comparePolicies, compareTiers } from './order.js';
import { updateGrouping } from './named-groups.js';
import { identitiesMatching } from './peer-atoms.js';
import { endpointMayMatch, remoteSideOf, type Direction } from './resolve.js';
import { type EndpointPolicy, type EndpointPolicyChange, type IpIdentityEntry, type PolicyIndexDiff } from './types.js';

const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

/** Recomputes what `pending` moved and gives the diff. */
export function recompute(state: IndexState, pending: Pending): PolicyIndexDiff {
  // Resolutions depend only on the population (endpoints, identities, hosts, network
  // sets): when it moved, earlier ones are stale; when only policies or tiers changed,
  // they still hold, and an edited policy reuses them (a rule shape shared by many
  // policies is not resolved again for each edit).
  // Peer atoms depend on identities, hosts and network sets only: when those held, a
  // moved workload leaves or joins the named-port groups of the rules it is a peer of,
  // by delta, rather than every group being walked again.
  if (pending.populationMoved || pending.sets.length > 0) {
    state.universe.resolved?.clear();
    state.universe.inNets?.clear();
    state.universe.groupings?.clear();
  } else if (pending.sides.length > 0) {
    state.universe.inNets?.clear();
    const live = new Set(pending.sides.filter((side) => state.endpoints.get(endpointKey(side.ref))?.indexed === side));
    const gone = pending.sides.filter((side) => !live.has(side));
    for (const grouping of state.universe.groupings?.values() ?? []) updateGrouping(grouping, gone, [...live]);
  }
  if (pending.rerank) rerank(state);
  const endpoints = { [Symbol.iterator]: () => state.allEndpoints() };
  // New policies: their selection, by identity (every member shares the subject), and their rules.
  for (const entry of pending.fresh) {
    for (const id of identitiesMatching(state.universe, entry.policy.subject)) {
      for (const key of state.identities.get(id as NumericIdentity)?.members ?? []) select(state, entry, key, true, pending);
    }
    for (const [key, host] of state.hosts) if (matchSelector(entry.policy.subject, host.subject)) select(state, entry, key, true, pending);
    resolvePolicyEntry(entry, state.universe, endpoints);
  }
  // Policies edited in place: the directions whose rules changed.
  for (const [entry, directions] of pending.edited) resolvePolicyEntry(entry, state.universe, endpoints, directions);
  // Moved endpoints: their membership in the other policies' subjects.
  if (pending.reselect.size > 0) {
    for (const entry of state.policies.values()) {
      if (pending.fresh.has(entry)) continue;
      for (const key of pending.reselect) {
        const endpoint = state.endpoints.get(key);
        if (endpoint !== undefined) select(state, entry, key, matchSelector(entry.policy.subject, endpoint.indexed.subject), pending);
      }
    }
  }
  // Rules whose remote peers moved: resolve again; recompute their endpoints only if different.
  if (pending.sides.length > 0 || pending.sets.length > 0) {
    for (const entry of state.policies.values()) {
      if (pending.fresh.has(entry)) continue;
      // Unless the population moved, only rules grouping peers by named ports can change.
      if (!pending.populationMoved && pending.sets.length === 0 && !hasRemoteNamed(entry.policy)) continue;
      const touched = { ingress: touchedRules(state, entry, 'ingress', pending), egress: touchedRules(state, entry, 'egress', pending) };
      if (touched.ingress.length + touched.egress.length === 0) continue;
      // Only the touched rules: the others' peers did not move.
      if (reresolvePolicyRules(entry, touched, state.universe, endpoints)) for (const key of entry.selected) pending.dirty.add(key);
    }
  }
  // Local sides that name network sets: endpoints inside a moved set.
  for (const set of pending.sets) {
    for (const [key, entry] of state.endpoints) {
      if (entry.indexed.addresses.some((a) => set.nets.some((n) => cidrContainsAddress(n, a)))) pending.dirty.add(key);
    }
  }
  return diff(state, pending);
}

/** Orders every policy across tiers: tiers in order, then policies in order. */
function rerank(state: IndexState): void {
  const tierRank = new Map([...state.tiers.values()].sort(compareTiers).map((tier, index) => [tier.name, index]));
  const sorted = [...state.policies.values()].sort((a, b) =>
    (tierRank.get(a.policy.tier) ?? 0) - (tierRank.get(b.policy.tier) ?? 0) || comparePolicies(a.policy, b.policy));
  sorted.forEach((entry, index) => {
    entry.rank = index;
  });
}

function select(state: IndexState, entry: PolicyEntry, key: string, selected: boolean, pending: Pending): void {
  const endpoint = state.endpoints.get(key);
  if (endpoint === undefined || entry.selected.has(key) === selected) return;
  if (selected) {
    entry.selected.add(key);
    endpoint.policies.add(entry);
  } else {
    entry.selected.delete(key);
    endpoint.policies.delete(entry);
  }
  pending.dirty.add(key);
}

/** What deciding whether a rule's remote side moved needs, worked out once per IR rule. */
interface RemoteInfo {
  readonly side: SideMatch | undefined;
  /** The names among its ports and notPorts. */
  readonly named: readonly string[];
  /** Whether its peer lists every identity present (see `usesUniverse`). */
  readonly universe: boolean;
  readonly selectors: readonly Selector[];
}

const remoteInfos = new WeakMap<Rule, Partial<Record<Direction, RemoteInfo>>>();

function remoteInfo(rule: Rule, direction: Direction): RemoteInfo {
  let byDirection = remoteInfos.get(rule);
  if (byDirection === undefined) {
    byDirection = {};
    remoteInfos.set(rule, byDirection);
  }
  let info = byDirection[direction];
  if (info === undefined) {
    const side = remoteSideOf(rule, direction);
    info = {
      side,
      named: [...(side?.ports ?? []), ...(side?.notPorts ?? [])].flatMap((p) => (p.kind === 'named' ? [p.name] : [])),
      universe: side?.peer !== undefined && usesUniverse(side.peer),
      selectors: side?.peer === undefined ? [] : peerSelectors(side.peer),
    };
    byDirection[direction] = info;
  }
  return info;
}

const remoteNamed = new WeakMap<Policy, boolean>();

/** Whether a rule of `policy` has named ports on its remote side. */
function hasRemoteNamed(policy: Policy): boolean {
  let found = remoteNamed.get(policy);
  if (found === undefined) {
    found = DIRECTIONS.some((d) => (policy[d]?.rules ?? []).some((rule) => remoteInfo(rule, d).named.length > 0));
    remoteNamed.set(policy, found);
  }
  return found;
}

/** The indexes of the rules of `entry` in `direction` whose remote side can change with the moved endpoints or sets. */
function touchedRules(state: IndexState, entry: PolicyEntry, direction: Direction, pending: Pending): number[] {
  const touched: number[] = [];
  const rules = entry.policy[direction]?.rules ?? [];
  for (let i = 0; i < rules.length; i += 1) if (ruleTouched(state, remoteInfo(rules[i] as Rule, direction), pending)) touched.push(i);
  return touched;
}

// Whether a rule's remote side can change with one of the moved endpoints or sets.
function ruleTouched(state: IndexState, info: RemoteInfo, pending: Pending): boolean {
  const { side, named, selectors } = info;
  // A complement holds every identity, even of endpoints the whole peer does not match
  // (`nets && !selector`): any identity that appears or goes changes it.
  if (pending.identitiesMoved && info.universe) return true;
  // Named remote ports group the peer's endpoints: only those matter unless the population moved.
  if (named.length > 0 || pending.populationMoved) {
    for (const moved of pending.sides) {
      if (side?.peer === undefined) {
        // Every endpoint is a peer: one without the names still changes whether its
        // identity is whole in a group.
        if (named.length > 0) return true;
      } else if (endpointMayMatch(side, moved, state.universe)) {
        return true;
      } else if (pending.identitiesMoved && moved.endpoint.kind === 'workload' && selectors.some((s) => matchSelector(s, moved.subject))) {
        // A selector's identities are resolved whatever their addresses (`nets && selector`
        // keeps them, with the nets): a new identity a selector matches changes the atoms
        // even when the endpoint's own address is outside the nets.
        return true;
      }
    }
  }
  if (side?.peer === undefined || pending.sets.length === 0) return false;
  return pending.sets.some((set) => selectors.some((s) => matchSelector(s, set.subject)));
}

function diff(state: IndexState, pending: Pending): PolicyIndexDiff {
  const changed: EndpointPolicyChange[] = [];
  for (const key of [...new Set([...pending.dirty, ...pending.partial.keys()])].sort()) {
    const entry = state.endpoints.get(key);
    if (entry === undefined) continue;
    const previous = entry.effective;
    const only = pending.dirty.has(key) || previous === undefined ? undefined : pending.partial.get(key);
    const policies = [...entry.policies].sort((a, b) => a.rank - b.rank);
    const direction = (d: Direction) => (only === undefined || only.has(d) ? effectiveDirection(entry.indexed, policies, d, state.tiers, state.universe) : previous?.[d] ?? { tiers: [] });
    const next: EndpointPolicy = {
      endpoint: entry.indexed.ref,
      key,
      identity: entry.indexed.identity,
      addresses: entry.indexed.addresses.map((a) => a.text),
      ingress: direction('ingress'),
      egress: direction('egress'),
    };
    const directions = DIRECTIONS.filter((d) => previous === undefined || !deepEqual(previous[d], next[d]));
    // An identity or address change alone is the ipcache's part of the diff.
    entry.effective = next;
    entry.compiled = undefined;
    if (directions.length > 0) changed.push({ ...next, changed: directions });
  }
  const set: IpIdentityEntry[] = [];
  const removedIps: string[] = [];
  for (const [prefix, before] of [...pending.ipBefore].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const now = state.ipcache.get(prefix);
    if (now === undefined && before !== undefined) removedIps.push(prefix);
    else if (now !== undefined && now !== before) set.push({ prefix, identity: now });
  }
  return {
    changed,
    removed: [...pending.removed.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, ref]) => ref),
    ipcache: { set, removed: removedIps },
  };
}

/** Whether a peer's resolution lists every identity present (`not`, the `cluster` entity). */
function usesUniverse(peer: PeerMatch): boolean {
  switch (peer.kind) {
    case 'not':
      return true;
    case 'entity':
      return peer.entities.includes('cluster');
    case 'and':
    case 'or':
      return peer.of.some(usesUniverse);
    default:
      return false;
  }
}

/** Every selector inside a peer (to find the rules a network set can move). */
function peerSelectors(peer: PeerMatch): Selector[] {
  switch (peer.kind) {
    case 'selector':
      return [peer.selector];
    case 'and':
    case 'or':
      return peer.of.flatMap(peerSelectors);
    case 'not':
      return peerSelectors(peer.of);
    case 'entity':
      // init, health and unmanaged are identities with a reserved label, resolved like a
      // selector whatever their addresses (peer-atoms.ts entityAtoms).
      return peer.entities.flatMap((entity) => (LABELLED_ENTITIES.has(entity) ? [{ kind: 'exists' as const, key: `reserved:${entity}` }] : []));
    default:
      return [];
  }
}

const LABELLED_ENTITIES: ReadonlySet<string> = new Set(['init', 'health', 'unmanaged']);
