// An endpoint's effective rules → its chains and sets. Per direction: an entry chain
// (what the verdict map jumps to) that `goto`s the first tier's chain; each tier chain
// holds the tier's rules in order and ends with its default. Because every step after
// the map's `jump` is a `goto`, a `return` anywhere returns to the base chain:
// - Allow: `return` (this direction allows; the base chain goes on to the other one);
// - Deny: `counter drop`;
// - Pass: `goto` the next tier's chain, or `return` after the last tier;
// - Log: `log group N`, and evaluation goes on;
// - a tier's end: `counter drop` when an isolating policy selects the endpoint,
//   otherwise on to the next tier (falling off the last chain returns: allowed).
// Consecutive rules with the same terminal action become set lookups (merge.ts).

import { type EffectiveDirection, type EffectiveRule, type EndpointPolicy } from '../../engine/types.js';
import { compileRuleMatch, type RuleMatch, type SetContribution } from './match.js';
import { mergeContributions } from './merge.js';
import { directionChain, ruleSet, tierChain } from './names.js';
import { type EndpointNft, type NftSet } from './model.js';
import { type IdentityAddresses } from './peers.js';

/** Options of {@link compileEndpointNft}. */
export interface CompileEndpointOptions {
  /** Each identity's addresses (workloads from the ipcache; hosts under 1 and 6). */
  readonly identities: IdentityAddresses;
  /** The nflog group of Log rules (`log group N`), 0-65535. */
  readonly logGroup: number;
}

const DIRECTIONS = ['ingress', 'egress'] as const;
type Direction = (typeof DIRECTIONS)[number];

interface Builder {
  readonly chains: Map<string, string[]>;
  readonly sets: Map<string, NftSet>;
  readonly identities: Set<number>;
  usesWorld: boolean;
}

const DROP = 'counter drop';

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

function verdictOf(rule: EffectiveRule, next: string | undefined, logGroup: number): string {
  switch (rule.action) {
    case 'allow':
      return 'return';
    case 'deny':
      return DROP;
    case 'pass':
      return next === undefined ? 'return' : `goto ${next}`;
    case 'log':
      return `log group ${logGroup}`;
  }
}

function compileTier(out: Builder, chain: string, rules: readonly EffectiveRule[], next: string | undefined, end: 'deny' | 'pass', direction: Direction, options: CompileEndpointOptions): void {
  const lines: string[] = [];
  let setIndex = 0;
  let run: { verdict: string; contributions: SetContribution[] } | undefined;
  const flush = (): void => {
    if (run === undefined) return;
    const { lookups, unconditional } = mergeContributions(run.contributions, direction);
    if (unconditional) lines.push(run.verdict);
    for (const lookup of lookups) {
      if (lookup.set === undefined || lookup.set.elements.length === 0) continue;
      const name = ruleSet(chain, setIndex);
      setIndex += 1;
      out.sets.set(name, lookup.set);
      lines.push(`${lookup.expression} @${name} ${run.verdict}`);
    }
    run = undefined;
  };
  for (const rule of rules) {
    const verdict = verdictOf(rule, next, options.logGroup);
    const match = ruleMatch(rule, direction, options.identities);
    match.identities.forEach((id) => out.identities.add(id));
    if (match.usesWorld) out.usesWorld = true;
    if (rule.action === 'log') {
      // Not terminal: its place among the other rules matters, so it is never merged.
      flush();
      for (const c of match.contributions) lines.push(...contributionLines(c, direction, verdict));
    } else {
      if (run !== undefined && run.verdict !== verdict) flush();
      run ??= { verdict, contributions: [] };
      run.contributions.push(...match.contributions);
    }
    // Expressions that need a rule of their own keep the verdict; order within a run is free.
    for (const expression of match.expressions) lines.push(expression === '' ? verdict : `${expression} ${verdict}`);
  }
  flush();
  if (end === 'deny') lines.push(DROP);
  else if (next !== undefined) lines.push(`goto ${next}`);
  out.chains.set(chain, lines);
}

// A Log rule's set-shaped match written inline (anonymous sets), as one or more rules.
function contributionLines(c: SetContribution, direction: Direction, verdict: string): string[] {
  const { lookups, unconditional } = mergeContributions([c], direction);
  if (unconditional) return [verdict];
  return lookups.flatMap((l) => (l.set === undefined || l.set.elements.length === 0 ? [] : [`${l.expression} { ${l.set.elements.join(', ')} } ${verdict}`]));
}

function compileDirection(out: Builder, key: string, direction: Direction, rules: EffectiveDirection, options: CompileEndpointOptions): void {
  const entry = directionChain(key, direction);
  const tiers = rules.tiers;
  out.chains.set(entry, tiers.length === 0 ? [] : [`goto ${tierChain(key, direction, 0)}`]);
  tiers.forEach((tier, index) => {
    const next = index + 1 < tiers.length ? tierChain(key, direction, index + 1) : undefined;
    compileTier(out, tierChain(key, direction, index), tier.rules, next, tier.end, direction, options);
  });
}

/**
 * The chains and sets that enforce one endpoint's effective rules, both directions.
 * Pure: the same rules and identity addresses give the same output on every host.
 * L7 rules are not enforced here (an Allow with L7 rules allows at L3/L4).
 */
export function compileEndpointNft(policy: EndpointPolicy, options: CompileEndpointOptions): EndpointNft {
  const out: Builder = { chains: new Map(), sets: new Map(), identities: new Set(), usesWorld: false };
  for (const direction of DIRECTIONS) compileDirection(out, policy.key, direction, policy[direction], options);
  return {
    chains: out.chains,
    sets: out.sets,
    entry: { ingress: directionChain(policy.key, 'ingress'), egress: directionChain(policy.key, 'egress') },
    identities: out.identities,
    usesWorld: out.usesWorld,
  };
}

/**
 * The chains of an attached endpoint whose rules are not known yet: both directions
 * drop everything (fail closed) until its rules arrive.
 */
export function failClosedEndpointNft(key: string): EndpointNft {
  const ingress = directionChain(key, 'ingress');
  const egress = directionChain(key, 'egress');
  return {
    chains: new Map([[ingress, [DROP]], [egress, [DROP]]]),
    sets: new Map(),
    entry: { ingress, egress },
    identities: new Set(),
    usesWorld: false,
  };
}
