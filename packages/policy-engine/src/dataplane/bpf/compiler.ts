// The eBPF dataplane's map generator: it follows the policy index's diffs and gives,
// for each change, the ipcache entries and the per-endpoint policy map entries to set
// and delete. Pure: no kernel, no I/O; the agent's driver writes what it returns.

import { formatEndpointRef } from '../../model/endpoint.js';
import { formatPolicyRef, type PolicyRef } from '../../model/policy.js';
import { type EffectiveRule, type EndpointPolicy, type PolicyIndexDiff } from '../../engine/types.js';
import { FIRST_PEER_CLASS, PeerClasses, type IpcacheEntry, type PeerClass } from './peer-classes.js';
import { diffDirectionStates, directionEntries, PreparedDirection, stateEntries, type DirectionState, type RuleIds } from './policy-entries.js';
import { BPF_DEFAULT_RULE, type BpfEntryDiff, type BpfPolicyEntry, type BpfRuleRef } from './types.js';

/** One endpoint whose policy map entries changed. */
export interface BpfEndpointChange {
  /** The endpoint's key in the index (`x/a`). */
  readonly key: string;
  /** Its full entries now (made when read). */
  readonly entries: readonly BpfPolicyEntry[];
  /** Entries to write (new keys, or new values). */
  readonly set: readonly BpfPolicyEntry[];
  /** Entries to delete. */
  readonly removed: readonly BpfPolicyEntry[];
}

/** What one {@link BpfMapCompiler.apply} changes in the maps. */
export interface BpfMapDiff {
  /** ipcache LPM entries to set and prefixes to delete. */
  readonly ipcache: {
    /** Entries to write (new prefixes, or prefixes with a new class), sorted by prefix. */
    readonly set: readonly IpcacheEntry[];
    /** Prefixes to delete, sorted. */
    readonly removed: readonly string[];
  };
  /** Endpoints whose entries changed. */
  readonly endpoints: readonly BpfEndpointChange[];
  /** Endpoints the index removed: delete all their entries. */
  readonly removedEndpoints: readonly string[];
}

interface EndpointState {
  readonly policy: EndpointPolicy;
  readonly ingress: PreparedDirection;
  readonly egress: PreparedDirection;
  /** Each direction's compiled entries; undefined when the direction must be compiled again. */
  ingressState: DirectionState | undefined;
  egressState: DirectionState | undefined;
  /** The last compiled state of each direction (what the next compilation starts from and diffs against). */
  readonly last: { ingress: DirectionState | undefined; egress: DirectionState | undefined };
}

/** An endpoint's entries: ingress, then egress. */
function endpointEntries(state: EndpointState): BpfPolicyEntry[] {
  return [...(state.last.ingress === undefined ? [] : stateEntries(state.last.ingress)), ...(state.last.egress === undefined ? [] : stateEntries(state.last.egress))];
}

const policyText = (ref: PolicyRef): string => `${ref.dialect}\u0000${ref.kind}\u0000${ref.namespace ?? ''}\u0000${ref.name}`;

/**
 * Follows a `PolicyIndex`'s diffs (feed it every one, starting from an empty index or
 * from `allEffectiveRules()` and `ipIdentities()`) and compiles them to the eBPF maps'
 * entries. Rule ids and peer class numbers stay the same for the same rule or class.
 * With `l7Proxy`, an Allow rule that carries L7 rules gives the `proxy` verdict.
 */
export class BpfMapCompiler {
  readonly #l7Proxy: boolean;
  readonly #classes = new PeerClasses();
  /** The peer classes of the current entries, by number. */
  #afterClasses = new Map<number, PeerClass>();
  readonly #endpoints = new Map<string, EndpointState>();
  readonly #ruleIds = new Map<string, BpfRuleRef>();
  readonly #ruleIdsOf = new WeakMap<EffectiveRule, { ingress?: number; egress?: number }>();
  readonly #rules = new Map<number, BpfRuleRef>([[BPF_DEFAULT_RULE, { id: BPF_DEFAULT_RULE, kind: 'default' }]]);

  /**
   * @param options - `l7Proxy`: whether L7 rules are enforced by a proxy whose traffic
   *   the tc program recognises by its firewall mark. An Allow rule that carries L7 rules
   *   then gives its entries the `proxy` verdict instead of `allow`, so a connection that
   *   went around the proxy (its redirect missing) is dropped, as a policy drop of that
   *   rule, rather than allowed at L3/L4. Default `false`: such an Allow is a plain allow
   *   (its L7 rules are not enforced here). Like nftables' `l7Mark`, for both directions;
   *   the tc program decides where it can see the mark (see apps/agent/bpf/policy.bpf.c).
   */
  constructor(options: {
    /** Whether an Allow rule with L7 rules gives the `proxy` verdict (see the constructor). */
    readonly l7Proxy?: boolean;
  } = {}) {
    this.#l7Proxy = options.l7Proxy === true;
  }

  // A tier's default deny has one id per endpoint, direction and tier, whatever policies
  // isolate it (its description follows them): a policy that starts or stops isolating
  // the endpoint changes no entry of the peers its rules do not name.
  #ids(endpoint: string): RuleIds {
    return {
      l7Proxy: this.#l7Proxy,
      // Per rule object and direction: the index hands the same objects back for unchanged policies.
      rule: (direction, tier, rule: EffectiveRule) => {
        const known = this.#ruleIdsOf.get(rule);
        const id = known?.[direction] ?? this.#ruleId(`r\u0000${direction}\u0000${policyText(rule.policy)}\u0000${rule.ruleIndex}`, (n) => ({ id: n, kind: 'rule', direction, policy: rule.policy, ruleIndex: rule.ruleIndex, tier }));
        if (known === undefined) this.#ruleIdsOf.set(rule, { [direction]: id });
        else known[direction] = id;
        return id;
      },
      isolated: (direction, tier, isolatedBy) => {
        const id = this.#ruleId(`i\u0000${endpoint}\u0000${direction}\u0000${tier}`, (n) => ({ id: n, kind: 'isolated', direction, tier, isolatedBy }));
        this.#rules.set(id, { id, kind: 'isolated', direction, tier, isolatedBy });
        return id;
      },
    };
  }

  #ruleId(text: string, make: (id: number) => BpfRuleRef): number {
    const found = this.#ruleIds.get(text);
    if (found !== undefined) return found.id;
    const ref = make(this.#rules.size);
    this.#ruleIds.set(text, ref);
    this.#rules.set(ref.id, ref);
    return ref.id;
  }

  /** Applies one index diff and says what changes in the maps. */
  apply(diff: PolicyIndexDiff): BpfMapDiff {
    const beforeEntries = this.#classes.entries();
    const dirty = new Set<string>();
    const removedEndpoints: string[] = [];
    for (const ref of diff.removed) {
      const key = formatEndpointRef(ref);
      const state = this.#endpoints.get(key);
      if (state === undefined) continue;
      this.#classes.release([...state.ingress.cidrs.keys(), ...state.egress.cidrs.keys()]);
      this.#endpoints.delete(key);
      removedEndpoints.push(key);
    }
    for (const policy of diff.changed) {
      const old = this.#endpoints.get(policy.key);
      const local = policy.addresses[0];
      const ids = this.#ids(policy.key);
      // A direction whose rules (and local address) did not change keeps its compiled form.
      const keep = (d: 'ingress' | 'egress'): boolean => old !== undefined && !policy.changed.includes(d) && old.policy.addresses[0] === local;
      const state: EndpointState = {
        policy,
        ingress: old !== undefined && keep('ingress') ? old.ingress : new PreparedDirection('ingress', policy.ingress, local, ids, old?.ingress),
        egress: old !== undefined && keep('egress') ? old.egress : new PreparedDirection('egress', policy.egress, local, ids, old?.egress),
        ingressState: keep('ingress') ? old?.ingressState : undefined,
        egressState: keep('egress') ? old?.egressState : undefined,
        last: { ingress: old?.last.ingress, egress: old?.last.egress },
      };
      // Retain before release: CIDRs both versions name never drop to no user (no recomputation).
      for (const d of ['ingress', 'egress'] as const) {
        if (state[d] === old?.[d]) continue;
        const changes = state[d].cidrChanges;
        if (old !== undefined && changes !== undefined && changes.from === old[d]) {
          // Only the CIDRs that came or went (one rule of thousands changed).
          this.#classes.retain(changes.added);
          this.#classes.release(changes.removed);
          continue;
        }
        this.#classes.retain(state[d].cidrs.keys());
        if (old !== undefined) this.#classes.release(old[d].cidrs.keys());
      }
      this.#endpoints.set(policy.key, state);
      dirty.add(policy.key);
    }
    for (const prefix of diff.ipcache.removed) this.#classes.removeAddress(prefix);
    for (const entry of diff.ipcache.set) this.#classes.setAddress(entry.prefix, entry.identity);

    const after = this.#classes.entries();
    const set: IpcacheEntry[] = [];
    let removed: string[] = [];
    // Recomputed only when something moved (a new map): otherwise nothing to compare.
    if (after !== beforeEntries) {
      for (const [prefix, c] of after) if (beforeEntries.get(prefix)?.id !== c.id) set.push({ prefix, class: c.id });
      removed = [...beforeEntries.keys()].filter((prefix) => !after.has(prefix));
      // Classes that appeared or went change the entries of endpoints whose rules name
      // their identity or one of their CIDRs.
      const classIds = (entries: ReadonlyMap<string, PeerClass>): Map<number, PeerClass> => new Map([...entries.values()].filter((c) => c.id >= FIRST_PEER_CLASS).map((c) => [c.id, c]));
      const beforeClasses = this.#afterClasses;
      const afterClasses = classIds(after);
      const same = (a: PeerClass, b: PeerClass | undefined): boolean => b !== undefined && a.identity === b.identity && a.cidrs.join(',') === b.cidrs.join(',');
      const moved: PeerClass[] = [
        ...[...afterClasses.values()].filter((c) => !same(c, beforeClasses.get(c.id))),
        ...[...beforeClasses.values()].filter((c) => !afterClasses.has(c.id)),
      ];
      // The same map object while no class came or went: compiled directions stay comparable.
      if (moved.length > 0) this.#afterClasses = afterClasses;
      if (moved.length > 0) {
        for (const [key, state] of this.#endpoints) {
          const touches = (d: PreparedDirection): boolean => moved.some((c) => d.identities.has(c.identity) || c.cidrs.some((x) => d.cidrs.has(x)));
          if (touches(state.ingress)) state.ingressState = undefined;
          if (touches(state.egress)) state.egressState = undefined;
          if (state.ingressState === undefined || state.egressState === undefined) dirty.add(key);
        }
      }
    }
    const endpoints: BpfEndpointChange[] = [];
    for (const key of [...dirty].sort()) {
      const state = this.#endpoints.get(key);
      if (state === undefined) continue;
      const steps: BpfEntryDiff[] = [];
      for (const d of ['ingress', 'egress'] as const) {
        const field = d === 'ingress' ? 'ingressState' : 'egressState';
        const before = state.last[d];
        const current = state[field];
        if (current !== undefined) {
          // Kept: nothing to write unless the last programmed state is another one.
          if (current !== before) steps.push(diffDirectionStates(before, current));
          state.last[d] = current;
          continue;
        }
        const result = directionEntries(state[d], this.#afterClasses, before);
        state[field] = result.state;
        state.last[d] = result.state;
        steps.push(diffDirectionStates(before, result.state, result.touched));
      }
      const change = { set: steps.flatMap((x) => x.set), removed: steps.flatMap((x) => x.removed) };
      if (change.set.length > 0 || change.removed.length > 0) {
        endpoints.push({
          key,
          ...change,
          get entries() {
            return endpointEntries(state);
          },
        });
      }
    }
    return { ipcache: { set: set.sort((a, b) => (a.prefix < b.prefix ? -1 : 1)), removed: removed.sort() }, endpoints, removedEndpoints: removedEndpoints.sort() };
  }

  /** An endpoint's entries, or `undefined` when its rules are not known. */
  entries(key: string): readonly BpfPolicyEntry[] | undefined {
    const state = this.#endpoints.get(key);
    return state === undefined ? undefined : endpointEntries(state);
  }

  /** Every ipcache entry. */
  ipcache(): IpcacheEntry[] {
    return [...this.#classes.entries()].map(([prefix, c]) => ({ prefix, class: c.id }));
  }

  /** The peer class (identity and named CIDRs) a number in the maps stands for. */
  peerClass(id: number): PeerClass | undefined {
    return this.#classes.classOf(id);
  }

  /** What a rule id stands for. */
  rule(id: number): BpfRuleRef | undefined {
    return this.#rules.get(id);
  }

  /** A rule id in words: `NetworkPolicy x/allow-a rule 0 (ingress)`. */
  describeRule(id: number): string {
    const ref = this.#rules.get(id);
    if (ref === undefined) return `unknown rule ${id}`;
    if (ref.kind === 'default') return 'no rule (allowed by default)';
    if (ref.kind === 'isolated') return `tier ${ref.tier} default deny (${ref.direction}, isolated by ${ref.isolatedBy.map(formatPolicyRef).join(', ')})`;
    return `${formatPolicyRef(ref.policy)} ${ref.direction} rule ${ref.ruleIndex} (tier ${ref.tier})`;
  }
}
