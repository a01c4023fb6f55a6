// An endpoint's effective rules from the policies that select it (already in
// evaluation order: tiers in order, policies in order within a tier).

import { type Policy, type Rule, type Tier } from '../model/policy.js';
import { type IndexedEndpoint } from '../evaluate/snapshot.js';
import { type PeerUniverse } from './peer-atoms.js';
import { deepEqual } from './equal.js';
import { localIsShared, resolveLocal, resolveRemote, type Direction } from './resolve.js';
import { type EffectiveDirection, type EffectiveRule, type EffectiveTier, type LocalMatch, type RemoteMatch } from './types.js';

/** A policy held by the index, with what is resolved once for all the endpoints it selects. */
export interface PolicyEntry {
  readonly key: string;
  readonly policy: Policy;
  /** The keys of the endpoints its subject selects. */
  readonly selected: Set<string>;
  /** Position in evaluation order across all tiers. */
  rank: number;
  /** Per direction and IR rule: the remote matches. */
  readonly remote: Record<Direction, RemoteMatch[][]>;
  /** Per direction and IR rule: the resolved rules when they are the same for every endpoint. */
  readonly shared: Record<Direction, (readonly EffectiveRule[] | undefined)[]>;
}

const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

function effectiveRule(policy: Policy, ruleIndex: number, rule: Rule, local: LocalMatch, remote: RemoteMatch): EffectiveRule {
  return {
    action: rule.action,
    policy: policy.ref,
    ruleIndex,
    origin: rule.origin,
    ...(rule.protocol === undefined ? {} : { protocol: rule.protocol }),
    ...(rule.notProtocol === undefined ? {} : { notProtocol: rule.notProtocol }),
    ...(rule.icmp === undefined ? {} : { icmp: rule.icmp }),
    ...(rule.notIcmp === undefined ? {} : { notIcmp: rule.notIcmp }),
    local,
    remote,
    ...(rule.l7 === undefined ? {} : { l7: rule.l7 }),
    ...(policy.order === undefined ? {} : { order: policy.order }),
  };
}

/** Resolves (again) the remote side of every rule of `entry` (in `directions`), and the rules every endpoint shares. */
export function resolvePolicyEntry(entry: PolicyEntry, universe: PeerUniverse, endpoints: Iterable<IndexedEndpoint>, directions: readonly Direction[] = DIRECTIONS): void {
  for (const direction of directions) {
    const rules = entry.policy[direction]?.rules ?? [];
    entry.remote[direction] = rules.map((rule) => resolveRemote(rule, direction, universe, endpoints));
    entry.shared[direction] = sharedRules(entry, direction, universe);
  }
}

/**
 * Resolves again the remote side of the rules `touched` names (per direction, by rule
 * index), keeping the others, and the shared rules of a direction where one changed.
 * Whether anything changed.
 */
export function reresolvePolicyRules(
  entry: PolicyEntry,
  touched: Readonly<Record<Direction, readonly number[]>>,
  universe: PeerUniverse,
  endpoints: Iterable<IndexedEndpoint>,
): boolean {
  let changed = false;
  for (const direction of DIRECTIONS) {
    const rules = entry.policy[direction]?.rules ?? [];
    let here = false;
    for (const index of touched[direction]) {
      const rule = rules[index];
      if (rule === undefined) continue;
      const next = resolveRemote(rule, direction, universe, endpoints);
      if (deepEqual(entry.remote[direction][index], next)) continue;
      entry.remote[direction][index] = next;
      here = true;
    }
    if (here) entry.shared[direction] = sharedRules(entry, direction, universe);
    changed ||= here;
  }
  return changed;
}

/** The rules of `entry` that are the same for every endpoint, from its current remote matches. */
export function sharedRules(entry: PolicyEntry, direction: Direction, universe: PeerUniverse): (readonly EffectiveRule[] | undefined)[] {
  const rules = entry.policy[direction]?.rules ?? [];
  return rules.map((rule, index) => {
    if (!localIsShared(rule, direction)) return undefined;
    const local = resolveLocal(rule, direction, undefined, universe);
    if (local === undefined) return [];
    return (entry.remote[direction][index] ?? []).map((remote) => effectiveRule(entry.policy, index, rule, local, remote));
  });
}

/** The effective rules of `endpoint` in `direction`, given the policies selecting it in evaluation order. */
export function effectiveDirection(
  endpoint: IndexedEndpoint,
  policies: readonly PolicyEntry[],
  direction: Direction,
  tiers: ReadonlyMap<string, Tier>,
  universe: PeerUniverse,
): EffectiveDirection {
  const out: EffectiveTier[] = [];
  let tier: Tier | undefined;
  let rules: EffectiveRule[] = [];
  let isolating: EffectiveTier['isolatedBy'][number][] = [];
  const flush = (): void => {
    if (tier === undefined) return;
    const deny = tier.defaultAction === 'deny' && isolating.length > 0;
    out.push({ tier: tier.name, rules, end: deny ? 'deny' : 'pass', isolatedBy: deny ? isolating : [] });
  };
  for (const entry of policies) {
    const part = entry.policy[direction];
    if (part === undefined) continue;
    if (tier?.name !== entry.policy.tier) {
      flush();
      tier = tiers.get(entry.policy.tier);
      rules = [];
      isolating = [];
    }
    part.rules.forEach((rule, index) => {
      const shared = entry.shared[direction][index];
      if (shared !== undefined) {
        rules.push(...shared);
        return;
      }
      const local = resolveLocal(rule, direction, endpoint, universe);
      if (local === undefined) return;
      for (const remote of entry.remote[direction][index] ?? []) rules.push(effectiveRule(entry.policy, index, rule, local, remote));
    });
    if (part.isolates) isolating.push(entry.policy.ref);
  }
  flush();
  return { tiers: out };
}
