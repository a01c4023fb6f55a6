// An endpoint's effective rules → its chains and sets. Per direction: an entry chain
// (what the verdict map jumps to) that `goto`s the first tier's chain; each tier chain
// holds the tier's rules in order and ends with its default. Because every step after
// the map's `jump` is a `goto`, a `return` anywhere returns to the base chain:
// - Allow: `return` (this direction allows; the base chain goes on to the other one);
// - Deny: `counter drop` (with `dropLogGroup`, `counter log prefix "…" group N drop`: drop-log.ts);
// - Pass: `goto` the next tier's chain, or `return` after the last tier;
// - Log: `log group N`, and evaluation goes on;
// - a tier's end: `counter drop` when an isolating policy selects the endpoint,
//   otherwise on to the next tier (falling off the last chain returns: allowed).
// Consecutive rules with the same terminal action become set lookups: hash sets of
// single values (exact.ts), interval sets for the rest (merge.ts).

import { type EffectiveDirection, type EffectiveRule, type EndpointPolicy } from '../../engine/types.js';
import { compileRuleMatch, type RuleMatch, type SetContribution } from './match.js';
import { EXACT_SHAPES, exactShape, splitContributions, type ExactShape, type SplitContributions } from './exact.js';
import { mergeContributions, type MergedLookup } from './merge.js';
import { directionChain, ruleSet, tierChain } from './names.js';
import { type EndpointNft, type NftSet } from './model.js';
import { type IdentityAddresses } from './peers.js';
import { checkLogGroup, dropStatement } from './drop-log.js';
import { NftablesNameError } from './errors.js';

/** Options of {@link compileEndpointNft}. */
export interface CompileEndpointOptions {
  /** Each identity's addresses (workloads from the ipcache; hosts under 1 and 6). */
  readonly identities: IdentityAddresses;
  /** The nflog group of Log rules (`log group N`), 0-65535. */
  readonly logGroup: number;
  /**
   * The nflog group every drop also logs to, with a prefix naming the kind of drop, the
   * direction and the endpoint (see {@link dropStatement}); absent: drops do not log.
   */
  readonly dropLogGroup?: number;
  /**
   * The endpoint's previous compilation, if any: runs of rules in the same place with
   * the same verdict and identity addresses are updated from it (a change costs the
   * elements of the rules that came or went). A compilation serves as `previous` once;
   * a second use compiles from nothing.
   */
  readonly previous?: EndpointNft;
  /**
   * The firewall marks of traffic that went through the L7 proxy (the mark a `tproxy`
   * redirect sets on the client's packets, and the one the proxy's own upstream sockets
   * carry): an Allow with L7 rules then allows only packets carrying one of them
   * (`meta mark & mask == { ... }`), so a connection that did not pass the proxy is not
   * allowed by that rule (it goes on to the next rule and, at the end, the tier's
   * default). Absent: an Allow with L7 rules allows at L3/L4 and its L7 rules are not enforced.
   */
  readonly l7Mark?: L7Mark;
}

/** Firewall marks: the bits compared and the values that match. */
export interface L7Mark {
  /** The bits compared, a non-zero 32-bit mask. */
  readonly mask: number;
  /** The values that match, each within `mask`; at least one. */
  readonly values: readonly number[];
  /**
   * The value the L7 redirect sets on the connections it hands to the local proxy (one of
   * `values`): with it, a table built for these marks also checks those connections
   * against their destination's ingress rules (`buildTableModel`'s `redirectedMatch`).
   */
  readonly redirect?: number;
}

const DIRECTIONS = ['ingress', 'egress'] as const;
type Direction = (typeof DIRECTIONS)[number];

interface Builder {
  readonly chains: Map<string, string[]>;
  readonly sets: Map<string, NftSet>;
  readonly identities: Set<number>;
  usesWorld: boolean;
  readonly runs: Map<string, readonly RunState[]>;
}

// Rules of unchanged policies come back from the index as the same objects (it shares
// them between recomputations), so their matches are kept, per direction, for as long as
// the identity → addresses map they were built from is the same object.
const matches = new WeakMap<EffectiveRule, { ingress?: [IdentityAddresses, RuleMatch]; egress?: [IdentityAddresses, RuleMatch] }>();

function ruleMatch(rule: EffectiveRule, direction: Direction, known: IdentityAddresses): RuleMatch {
  const cached = matches.get(rule);
  const hit = cached?.[direction];
  if (hit !== undefined && hit[0] === known) return hit[1];
  const match = compileRuleMatch(rule, direction, known);
  matches.set(rule, { ...cached, [direction]: [known, match] });
  return match;
}

/** What the statements of one endpoint's direction end with. */
interface Verdicts {
  readonly logGroup: number;
  /** A Deny rule's drop. */
  readonly deny: string;
  /** A tier's default deny. */
  readonly isolated: string;
  /** An Allow with L7 rules: `return` only for proxied packets; undefined: a plain `return`. */
  readonly proxied?: string;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/**
 * The match of packets carrying one of `mark`'s values (what the L7 proxy's traffic carries).
 * @throws {NftablesNameError} (`l7Mark.mask`, `l7Mark.values[i]`) for a mask that is not a
 *   non-zero 32-bit integer, no values, or a value with bits outside the mask.
 */
export function l7MarkMatch(mark: L7Mark): string {
  const { values, mask } = mark;
  const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  if (!u32(mask) || mask === 0) throw new NftablesNameError('l7Mark.mask', `${mask} is not a non-zero 32-bit integer`);
  if (values.length === 0) throw new NftablesNameError('l7Mark.values', 'is empty: give the marks of the proxy\'s traffic');
  values.forEach((value, i) => {
    if (!u32(value) || (value & ~mask) >>> 0 !== 0) throw new NftablesNameError(`l7Mark.values[${i}]`, `${value} is not a 32-bit integer within the mask ${hex(mask)}`);
  });
  const distinct = [...new Set(values)].sort((a, b) => a - b).map(hex);
  return `meta mark & ${hex(mask)} == ${distinct.length === 1 ? distinct[0]! : `{ ${distinct.join(', ')} }`}`;
}

/**
 * The match of a connection the L7 redirect hands to the local proxy: the redirect's own
 * mark `redirect` in `mask` (not the proxy's upstream mark). {@link buildTableModel}'s
 * `redirectedMatch`.
 * @throws {NftablesNameError} as {@link l7MarkMatch}.
 */
export function l7RedirectedMatch(mask: number, redirect: number): string {
  return l7MarkMatch({ mask, values: [redirect] });
}

function verdictsOf(key: string, direction: Direction, options: CompileEndpointOptions): Verdicts {
  const group = options.dropLogGroup === undefined ? undefined : checkLogGroup(options.dropLogGroup, 'dropLogGroup');
  return {
    logGroup: options.logGroup,
    deny: dropStatement(group, 'deny', direction, key),
    isolated: dropStatement(group, 'isolated', direction, key),
    ...(options.l7Mark === undefined ? {} : { proxied: `${l7MarkMatch(options.l7Mark)} return` }),
  };
}

function verdictOf(rule: EffectiveRule, next: string | undefined, verdicts: Verdicts): string {
  switch (rule.action) {
    case 'allow':
      // The verdict is part of a run's identity: proxied allows never merge with plain ones.
      return rule.l7 !== undefined && verdicts.proxied !== undefined ? verdicts.proxied : 'return';
    case 'deny':
      return verdicts.deny;
    case 'pass':
      return next === undefined ? 'return' : `goto ${next}`;
    case 'log':
      return `log group ${verdicts.logGroup}`;
  }
}

// What one run compiled to, kept for the next compilation of the same chain: the run's
// rules, its exact elements counted by how many rules give each, and its sets. The
// next compilation of a run with the same verdict and identity addresses takes it over
// (its counts are changed in place, so a state serves one successor only).
interface RunState {
  readonly verdict: string;
  readonly known: IdentityAddresses;
  readonly rules: readonly EffectiveRule[];
  readonly counts: Map<ExactShape, Map<string, number>>;
  readonly sets: ReadonlyMap<ExactShape, NftSet>;
  /** Rules with parts for the interval sets, and those sets' lookups. */
  readonly restRules: readonly EffectiveRule[];
  readonly interval: readonly MergedLookup[];
  readonly unconditional: number;
  consumed: boolean;
}

/** Per compiled endpoint, its chains' run states (what `previous` hands to the next compilation). */
const runStates = new WeakMap<EndpointNft, ReadonlyMap<string, readonly RunState[]>>();

const splits = new WeakMap<RuleMatch, SplitContributions>();

function splitOf(match: RuleMatch): SplitContributions {
  let split = splits.get(match);
  if (split === undefined) {
    split = splitContributions(match.contributions);
    splits.set(match, split);
  }
  return split;
}

function intervalLookups(restRules: readonly EffectiveRule[], direction: Direction, known: IdentityAddresses): MergedLookup[] {
  if (restRules.length === 0) return [];
  const contributions = restRules.flatMap((rule) => splitOf(ruleMatch(rule, direction, known)).rest);
  return mergeContributions(contributions, direction).lookups;
}

function exactSet(shape: ExactShape, direction: Direction, elements: string[], changes?: NftSet['changes']): NftSet {
  return { type: exactShape(shape, direction).type, interval: false, elements, ...(changes === undefined ? {} : { changes }) };
}

// A run's state from nothing.
function freshRun(verdict: string, rules: readonly EffectiveRule[], direction: Direction, known: IdentityAddresses): RunState {
  const counts = new Map<ExactShape, Map<string, number>>();
  let unconditional = 0;
  const restRules: EffectiveRule[] = [];
  for (const rule of rules) {
    const split = splitOf(ruleMatch(rule, direction, known));
    if (split.unconditional) unconditional += 1;
    if (split.rest.length > 0) restRules.push(rule);
    for (const [shape, elements] of split.exact) {
      let count = counts.get(shape);
      if (count === undefined) {
        count = new Map();
        counts.set(shape, count);
      }
      for (const e of elements) count.set(e, (count.get(e) ?? 0) + 1);
    }
  }
  const sets = new Map<ExactShape, NftSet>();
  for (const [shape, count] of counts) if (count.size > 0) sets.set(shape, exactSet(shape, direction, [...count.keys()]));
  return { verdict, known, rules, counts, sets, restRules, interval: intervalLookups(restRules, direction, known), unconditional, consumed: false };
}

// The run's state from the previous one of the same place: only the rules that came or
// went change counts and elements; untouched sets and the interval lookups are the same
// objects (renderDelta skips them), changed exact sets say what was added and removed.
function nextRun(previous: RunState, rules: readonly EffectiveRule[], direction: Direction): RunState | undefined {
  // Rules keep their order: only the part between the common head and tail is compared.
  const old = previous.rules;
  let head = 0;
  while (head < old.length && head < rules.length && old[head] === rules[head]) head += 1;
  let tail = 0;
  while (tail < old.length - head && tail < rules.length - head && old[old.length - 1 - tail] === rules[rules.length - 1 - tail]) tail += 1;
  const oldMiddle = old.slice(head, old.length - tail);
  const newMiddle = rules.slice(head, rules.length - tail);
  const before = new Set(oldMiddle);
  const after = new Set(newMiddle);
  // A rule twice in a run would break the counting: compiled from nothing instead.
  if (before.size !== oldMiddle.length || after.size !== newMiddle.length) return undefined;
  const removed = oldMiddle.filter((r) => !after.has(r));
  const added = newMiddle.filter((r) => !before.has(r));
  previous.consumed = true;
  const { known, counts } = previous;
  let unconditional = previous.unconditional;
  let restChanged = false;
  // Per shape, each touched element and whether the set held it before this change.
  const touched = new Map<ExactShape, Map<string, boolean>>();
  const change = (rule: EffectiveRule, step: 1 | -1): void => {
    const split = splitOf(ruleMatch(rule, direction, known));
    if (split.unconditional) unconditional += step;
    if (split.rest.length > 0) restChanged = true;
    for (const [shape, elements] of split.exact) {
      let count = counts.get(shape);
      if (count === undefined) {
        count = new Map();
        counts.set(shape, count);
      }
      let seen = touched.get(shape);
      if (seen === undefined) {
        seen = new Map();
        touched.set(shape, seen);
      }
      for (const e of elements) {
        const n = count.get(e) ?? 0;
        if (!seen.has(e)) seen.set(e, n > 0);
        if (n + step > 0) count.set(e, n + step);
        else count.delete(e);
      }
    }
  };
  for (const rule of removed) change(rule, -1);
  for (const rule of added) change(rule, 1);
  const sets = new Map(previous.sets);
  for (const [shape, seen] of touched) {
    const count = counts.get(shape) as Map<string, number>;
    const gone: string[] = [];
    const come: string[] = [];
    for (const [e, had] of seen) {
      const has = count.has(e);
      if (had && !has) gone.push(e);
      else if (!had && has) come.push(e);
    }
    if (gone.length === 0 && come.length === 0) continue;
    const base = previous.sets.get(shape);
    if (count.size === 0) sets.delete(shape);
    else sets.set(shape, exactSet(shape, direction, [...count.keys()], base === undefined ? undefined : { base: new WeakRef(base), added: come, removed: gone }));
  }
  const restRules = restChanged ? rules.filter((r) => splitOf(ruleMatch(r, direction, known)).rest.length > 0) : previous.restRules;
  const interval = restChanged ? intervalLookups(restRules, direction, known) : previous.interval;
  return { verdict: previous.verdict, known, rules, counts, sets, restRules, interval, unconditional, consumed: false };
}

function compileTier(out: Builder, chain: string, rules: readonly EffectiveRule[], next: string | undefined, end: 'deny' | 'pass', direction: Direction, options: CompileEndpointOptions, verdicts: Verdicts, previous: readonly RunState[] | undefined): RunState[] {
  const lines: string[] = [];
  const runs: RunState[] = [];
  let setIndex = 0;
  let run: { verdict: string; rules: EffectiveRule[] } | undefined;
  const lookup = (expression: string, set: NftSet, verdict: string): void => {
    const name = ruleSet(chain, setIndex);
    setIndex += 1;
    out.sets.set(name, set);
    lines.push(`${expression} @${name} ${verdict}`);
  };
  const flush = (): void => {
    if (run === undefined) return;
    const { verdict } = run;
    const before = previous?.[runs.length];
    const usable = before !== undefined && !before.consumed && before.verdict === verdict && before.known === options.identities;
    const state = (usable ? nextRun(before, run.rules, direction) : undefined) ?? freshRun(verdict, run.rules, direction, options.identities);
    runs.push(state);
    run = undefined;
    if (state.unconditional > 0) {
      lines.push(verdict);
      return;
    }
    for (const shape of EXACT_SHAPES) {
      const set = state.sets.get(shape);
      if (set !== undefined) lookup(exactShape(shape, direction).expression, set, verdict);
    }
    for (const l of state.interval) if (l.set !== undefined && l.set.elements.length > 0) lookup(l.expression, l.set, verdict);
  };
  for (const rule of rules) {
    const verdict = verdictOf(rule, next, verdicts);
    const match = ruleMatch(rule, direction, options.identities);
    match.identities.forEach((id) => out.identities.add(id));
    if (match.usesWorld) out.usesWorld = true;
    if (rule.action === 'log') {
      // Not terminal: its place among the other rules matters, so it is never merged.
      flush();
      for (const c of match.contributions) lines.push(...contributionLines(c, direction, verdict));
    } else {
      if (run !== undefined && run.verdict !== verdict) flush();
      run ??= { verdict, rules: [] };
      run.rules.push(rule);
    }
    // Expressions that need a rule of their own keep the verdict; order within a run is free.
    for (const expression of match.expressions) lines.push(expression === '' ? verdict : `${expression} ${verdict}`);
  }
  flush();
  if (end === 'deny') lines.push(verdicts.isolated);
  else if (next !== undefined) lines.push(`goto ${next}`);
  out.chains.set(chain, lines);
  return runs;
}

// A Log rule's set-shaped match written inline (anonymous sets), as one or more rules.
function contributionLines(c: SetContribution, direction: Direction, verdict: string): string[] {
  const { lookups, unconditional } = mergeContributions([c], direction);
  if (unconditional) return [verdict];
  return lookups.flatMap((l) => (l.set === undefined || l.set.elements.length === 0 ? [] : [`${l.expression} { ${l.set.elements.join(', ')} } ${verdict}`]));
}

function compileDirection(out: Builder, key: string, direction: Direction, rules: EffectiveDirection, options: CompileEndpointOptions, previous: ReadonlyMap<string, readonly RunState[]> | undefined): void {
  const entry = directionChain(key, direction);
  const tiers = rules.tiers;
  const verdicts = verdictsOf(key, direction, options);
  out.chains.set(entry, tiers.length === 0 ? [] : [`goto ${tierChain(key, direction, 0)}`]);
  tiers.forEach((tier, index) => {
    const next = index + 1 < tiers.length ? tierChain(key, direction, index + 1) : undefined;
    const chain = tierChain(key, direction, index);
    out.runs.set(chain, compileTier(out, chain, tier.rules, next, tier.end, direction, options, verdicts, previous?.get(chain)));
  });
}

/**
 * The chains and sets that enforce one endpoint's effective rules, both directions.
 * Pure: the same rules and identity addresses give the same output on every host.
 * L7 rules are not matched here: with `l7Mark`, an Allow with L7 rules allows only the
 * proxy's traffic (the proxy matches them); without it, it allows at L3/L4.
 * @throws {NftablesNameError} for a `dropLogGroup` outside 0-65535 or a bad `l7Mark`.
 */
export function compileEndpointNft(policy: EndpointPolicy, options: CompileEndpointOptions): EndpointNft {
  const out: Builder = { chains: new Map(), sets: new Map(), identities: new Set(), usesWorld: false, runs: new Map() };
  const previous = options.previous === undefined ? undefined : runStates.get(options.previous);
  for (const direction of DIRECTIONS) compileDirection(out, policy.key, direction, policy[direction], options, previous);
  const compiled: EndpointNft = {
    chains: out.chains,
    sets: out.sets,
    entry: { ingress: directionChain(policy.key, 'ingress'), egress: directionChain(policy.key, 'egress') },
    identities: out.identities,
    usesWorld: out.usesWorld,
  };
  runStates.set(compiled, out.runs);
  return compiled;
}

/**
 * The chains of an attached endpoint whose rules are not known yet: both directions
 * drop everything (fail closed) until its rules arrive; with `dropLogGroup`, the drops
 * log to that nflog group with a `no-entry` prefix.
 * @throws {NftablesNameError} for a `dropLogGroup` outside 0-65535.
 */
export function failClosedEndpointNft(key: string, options: { readonly dropLogGroup?: number } = {}): EndpointNft {
  const ingress = directionChain(key, 'ingress');
  const egress = directionChain(key, 'egress');
  const group = options.dropLogGroup === undefined ? undefined : checkLogGroup(options.dropLogGroup, 'dropLogGroup');
  return {
    chains: new Map([[ingress, [dropStatement(group, 'no-entry', 'ingress', key)]], [egress, [dropStatement(group, 'no-entry', 'egress', key)]]]),
    sets: new Map(),
    entry: { ingress, egress },
    identities: new Set(),
    usesWorld: false,
  };
}
