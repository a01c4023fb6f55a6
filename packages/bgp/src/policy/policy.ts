// Import and export policies: ordered terms, each a match (prefix list, communities,
// large communities, AS path regular expression, family) and actions (set LOCAL_PREF,
// MED, next hop, add/remove/replace communities), then accept, reject or go on to the
// next term; a default verdict when no term decides. Parse → validate (`compilePolicy`)
// → apply (`evaluatePolicy`, `applyPolicy`): a compiled policy is pure data and
// evaluation allocates nothing, so the RIB can run it per prefix.
import { BgpInvalidArgument } from '../errors.js';
import { type LargeCommunity, parseCommunity, parseLargeCommunity } from '../codec/attributes/communities.js';
import { type BgpPrefix } from '../codec/prefix.js';
import { type PrefixKey, prefixFromKey } from '../rib/prefix-key.js';
import { AttributeSet, type RouteAttributes, asPathToText } from '../rib/attributes.js';

import { type CompiledPrefixListEntry, type PrefixListEntry, compilePrefixList, prefixListPermits } from './prefix-list.js';

/** What a term does after its actions: decide, or let the next term look at the route. */
export const POLICY_VERDICT = { ACCEPT: 'accept', REJECT: 'reject', NEXT: 'next' } as const;
/** One of {@link POLICY_VERDICT}. */
export type PolicyVerdict = (typeof POLICY_VERDICT)[keyof typeof POLICY_VERDICT];

/** Community sets to match, as text (`"65000:100"`, `"NO_EXPORT"`; large: `"65000:1:2"`). */
export interface CommunityMatch {
  /** The route carries at least one of these. */
  readonly any?: readonly string[];
  /** The route carries all of these. */
  readonly all?: readonly string[];
}

/** The conditions of a term; all given conditions must hold (an empty match matches every route). */
export interface PolicyMatch {
  /**
   * The route's prefix is permitted by this prefix list: the first entry that matches
   * decides, and a prefix no entry matches is denied (so an empty list matches nothing).
   */
  readonly prefixList?: readonly PrefixListEntry[];
  /** COMMUNITIES (RFC 1997) the route must carry, as `"65000:100"` or a well-known name (`"NO_EXPORT"`). */
  readonly communities?: CommunityMatch;
  /** LARGE_COMMUNITY values (RFC 8092) the route must carry, as `"65000:1:2"`. */
  readonly largeCommunities?: CommunityMatch;
  /**
   * A regular expression over the AS_PATH text (`"65001 65002 {65003,65004}"`), where
   * `_` stands for a delimiter or the start or end, as in FRR's `bgp as-path access-list`
   * (`"^65001_"`: learned from 65001; `"_65002$"`: originated by 65002).
   */
  readonly asPath?: string;
  /** Only routes of this IP version. */
  readonly family?: 4 | 6;
}

/** The changes a term makes to a route's attributes. */
export interface PolicyActions {
  /** Set LOCAL_PREF, 0..4294967295 (higher is preferred, RFC 4271 §5.1.5). */
  readonly localPref?: number;
  /** Set MULTI_EXIT_DISC, 0..4294967295 (lower is preferred, RFC 4271 §5.1.4). */
  readonly med?: number;
  /** The next hop to use, as text. */
  readonly nextHop?: string;
  /** Replace every community with these (applied before add/remove). */
  readonly communities?: readonly string[];
  /** Add these communities (`"65000:100"`, `"NO_EXPORT"`) after any already carried; one already there is not repeated. */
  readonly addCommunities?: readonly string[];
  /** Remove these communities (applied after `addCommunities`); a route left with none carries no COMMUNITIES. */
  readonly removeCommunities?: readonly string[];
  /** Add these large communities (`"65000:1:2"`); one already there is not repeated. */
  readonly addLargeCommunities?: readonly string[];
  /** Remove these large communities (applied after `addLargeCommunities`). */
  readonly removeLargeCommunities?: readonly string[];
}

/** One ordered term. */
export interface PolicyTerm {
  /** For diagnosis: which term decided. */
  readonly name?: string;
  /** The conditions; absent or empty matches every route. */
  readonly match?: PolicyMatch;
  /** The changes to make when the term matches; they apply even when `then` is `next`. */
  readonly set?: PolicyActions;
  /** What a match decides: `accept`, `reject`, or `next` to go on to the following term. */
  readonly then: PolicyVerdict;
}

/** A policy as written: ordered terms and the verdict when none decides. */
export interface PolicyDefinition {
  /** Tried in order; the first matching term whose `then` is not `next` decides. */
  readonly terms: readonly PolicyTerm[];
  /** The verdict for a route no term decides. */
  readonly default: 'accept' | 'reject';
}

/**
 * One term of a {@link CompiledPolicy}, as {@link compilePolicy} builds it from a
 * {@link PolicyTerm}: texts parsed into numbers, the AS path pattern into a regular
 * expression. `undefined` conditions are not checked; empty action lists change nothing.
 */
export interface CompiledTerm {
  /** The term's name, or `term N` (its position) when the definition gave none. */
  readonly name: string;
  /** The prefix list the route's prefix must be permitted by. */
  readonly prefixList: readonly CompiledPrefixListEntry[] | undefined;
  /** COMMUNITIES values (32-bit) of which the route must carry at least one. */
  readonly communitiesAny: readonly number[] | undefined;
  /** COMMUNITIES values (32-bit) the route must carry all of. */
  readonly communitiesAll: readonly number[] | undefined;
  /** LARGE_COMMUNITY values of which the route must carry at least one. */
  readonly largeAny: readonly LargeCommunity[] | undefined;
  /** LARGE_COMMUNITY values the route must carry all of. */
  readonly largeAll: readonly LargeCommunity[] | undefined;
  /** The AS_PATH pattern, `_` already expanded to its delimiter class. */
  readonly asPath: RegExp | undefined;
  /** Only routes of this IP version. */
  readonly family: 4 | 6 | undefined;
  /** LOCAL_PREF to set. */
  readonly localPref: number | undefined;
  /** MULTI_EXIT_DISC to set. */
  readonly med: number | undefined;
  /** The next hop to set, as text. */
  readonly nextHop: string | undefined;
  /** The communities to replace the route's with, before additions and removals. */
  readonly communities: readonly number[] | undefined;
  /** Communities to add. */
  readonly addCommunities: readonly number[];
  /** Communities to remove (after adding). */
  readonly removeCommunities: readonly number[];
  /** Large communities to add. */
  readonly addLarge: readonly LargeCommunity[];
  /** Large communities to remove (after adding). */
  readonly removeLarge: readonly LargeCommunity[];
  /** Whether the term has any action (so its match is worth listing in {@link PolicyOutcome.applied}). */
  readonly modifies: boolean;
  /** What a match decides. */
  readonly then: PolicyVerdict;
}

/** A validated policy, ready for {@link evaluatePolicy}. */
export interface CompiledPolicy {
  /** The terms, validated and parsed, in the definition's order; an internal form, built only by {@link compilePolicy}. */
  readonly terms: readonly CompiledTerm[];
  /** The definition's `default`: `true` for `accept`. */
  readonly defaultAccept: boolean;
}

/** The outcome of {@link evaluatePolicy}. */
export interface PolicyOutcome {
  /** Whether the route passes the policy. */
  readonly accept: boolean;
  /** Indexes of the matching terms that have actions, in order; give them to {@link applyPolicy} for the route's new attributes. */
  readonly applied: readonly number[];
  /** The name of the term that decided, or `"default"`. */
  readonly decidedBy: string;
}

/** What a policy looks at: the prefix (or its RIB key) and the attributes (plain or interned). */
export interface PolicyInput {
  /** The route's prefix, as a {@link BgpPrefix} or as the RIB's {@link PrefixKey}. */
  readonly prefix: BgpPrefix | PrefixKey;
  /** The route's attributes, plain or as the RIB's interned set. */
  readonly attributes: RouteAttributes | AttributeSet;
}

/** Accepts everything and changes nothing. */
export const ACCEPT_ALL: CompiledPolicy = Object.freeze({ terms: Object.freeze([]), defaultAccept: true });

function checkU32(value: number | undefined, what: string): number | undefined {
  if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > 0xffffffff)) {
    throw new BgpInvalidArgument(`${what} ${value} is not within 0..4294967295`);
  }
  return value;
}

/** FRR's `_`: the start, the end, or a delimiter of the AS path text. */
function compileAsPathRegex(source: string, where: string): RegExp {
  try {
    return new RegExp(source.replaceAll('_', '(?:^|$|[ ,{}()\\[\\]])'));
  } catch (cause) {
    throw new BgpInvalidArgument(`${where}: ${JSON.stringify(source)} is not a regular expression`, { cause });
  }
}

/**
 * Validates a policy definition and prepares it for evaluation.
 * @throws {BgpInvalidArgument} naming the term: bad prefix list, community, regular expression, value or verdict.
 */
export function compilePolicy(definition: PolicyDefinition): CompiledPolicy {
  const terms = definition.terms.map((t, i): CompiledTerm => {
    const where = `term ${i}${t.name ? ` (${t.name})` : ''}`;
    const wrap = <T>(what: string, fn: () => T): T => {
      try {
        return fn();
      } catch (cause) {
        throw new BgpInvalidArgument(`${where}: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
      }
    };
    if (!Object.values(POLICY_VERDICT).includes(t.then)) throw new BgpInvalidArgument(`${where}: then must be accept, reject or next`);
    const m = t.match ?? {};
    const s = t.set ?? {};
    const list = (values: readonly string[] | undefined): number[] | undefined => values && wrap('community', () => values.map(parseCommunity));
    const large = (values: readonly string[] | undefined): LargeCommunity[] | undefined => values && wrap('large community', () => values.map(parseLargeCommunity));
    const modifies = Object.values(s).some((v) => v !== undefined);
    return {
      name: t.name ?? `term ${i}`,
      prefixList: m.prefixList && wrap('prefix list', () => compilePrefixList(m.prefixList ?? [])),
      communitiesAny: list(m.communities?.any),
      communitiesAll: list(m.communities?.all),
      largeAny: large(m.largeCommunities?.any),
      largeAll: large(m.largeCommunities?.all),
      asPath: m.asPath === undefined ? undefined : compileAsPathRegex(m.asPath, where),
      family: m.family,
      localPref: checkU32(s.localPref, `${where}: local preference`),
      med: checkU32(s.med, `${where}: MED`),
      nextHop: s.nextHop,
      communities: list(s.communities),
      addCommunities: list(s.addCommunities) ?? [],
      removeCommunities: list(s.removeCommunities) ?? [],
      addLarge: large(s.addLargeCommunities) ?? [],
      removeLarge: large(s.removeLargeCommunities) ?? [],
      modifies,
      then: t.then,
    };
  });
  if (definition.default !== 'accept' && definition.default !== 'reject') throw new BgpInvalidArgument('default must be accept or reject');
  return { terms, defaultAccept: definition.default === 'accept' };
}

const sameLarge = (a: LargeCommunity, b: LargeCommunity): boolean =>
  a.globalAdministrator === b.globalAdministrator && a.localData1 === b.localData1 && a.localData2 === b.localData2;

function termMatches(t: CompiledTerm, prefix: BgpPrefix | PrefixKey, value: RouteAttributes, pathText: () => string): boolean {
  if (t.family !== undefined) {
    const family = typeof prefix === 'object' ? prefix.family : typeof prefix === 'number' ? 4 : 6;
    if (family !== t.family) return false;
  }
  if (t.prefixList && !prefixListPermits(t.prefixList, typeof prefix === 'object' ? prefix : prefixFromKey(prefix))) return false;
  const communities = value.communities ?? [];
  if (t.communitiesAny && !t.communitiesAny.some((c) => communities.includes(c))) return false;
  if (t.communitiesAll && !t.communitiesAll.every((c) => communities.includes(c))) return false;
  const large = value.largeCommunities ?? [];
  if (t.largeAny && !t.largeAny.some((c) => large.some((l) => sameLarge(l, c)))) return false;
  if (t.largeAll && !t.largeAll.every((c) => large.some((l) => sameLarge(l, c)))) return false;
  if (t.asPath && !t.asPath.test(pathText())) return false;
  return true;
}

/**
 * Runs the terms in order over a route: a matching term's actions are recorded; `accept`
 * or `reject` ends the walk, `next` goes on; no decision gives the default. Pure.
 */
export function evaluatePolicy(policy: CompiledPolicy, input: PolicyInput): PolicyOutcome {
  const attrs = input.attributes;
  const value = attrs instanceof AttributeSet ? attrs.value : attrs;
  let text: string | undefined;
  const pathText = (): string => (text ??= attrs instanceof AttributeSet ? attrs.asPathText : asPathToText(value));
  let applied: number[] | undefined;
  for (let i = 0; i < policy.terms.length; i += 1) {
    const t = policy.terms[i];
    if (t === undefined || !termMatches(t, input.prefix, value, pathText)) continue;
    if (t.modifies) (applied ??= []).push(i);
    if (t.then === POLICY_VERDICT.NEXT) continue;
    return { accept: t.then === POLICY_VERDICT.ACCEPT, applied: applied ?? NONE, decidedBy: t.name };
  }
  return { accept: policy.defaultAccept, applied: applied ?? NONE, decidedBy: 'default' };
}

const NONE: readonly number[] = Object.freeze([]);

/** The attributes after the actions of the `applied` terms (from {@link evaluatePolicy}), in order. */
export function applyPolicy(policy: CompiledPolicy, applied: readonly number[], attributes: RouteAttributes): RouteAttributes {
  let out: { -readonly [K in keyof RouteAttributes]: RouteAttributes[K] } = { ...attributes };
  for (const i of applied) {
    const t = policy.terms[i];
    if (t === undefined) continue;
    if (t.localPref !== undefined) out.localPref = t.localPref;
    if (t.med !== undefined) out.med = t.med;
    if (t.nextHop !== undefined) out = { ...out, nextHop: t.nextHop };
    let communities = t.communities ?? out.communities ?? [];
    if (t.addCommunities.length > 0) communities = [...communities, ...t.addCommunities.filter((c) => !communities.includes(c))];
    if (t.removeCommunities.length > 0) communities = communities.filter((c) => !t.removeCommunities.includes(c));
    out.communities = communities.length > 0 ? communities : undefined;
    let large = out.largeCommunities ?? [];
    if (t.addLarge.length > 0) large = [...large, ...t.addLarge.filter((c) => !large.some((l) => sameLarge(l, c)))];
    if (t.removeLarge.length > 0) large = large.filter((l) => !t.removeLarge.some((c) => sameLarge(l, c)));
    out.largeCommunities = large.length > 0 ? large : undefined;
  }
  if (out.communities === undefined) delete out.communities;
  if (out.largeCommunities === undefined) delete out.largeCommunities;
  return out;
}

/** Evaluates and applies in one call: the route's attributes after the policy, or undefined when rejected. */
export function runPolicy(policy: CompiledPolicy, input: PolicyInput): RouteAttributes | undefined {
  const outcome = evaluatePolicy(policy, input);
  if (!outcome.accept) return undefined;
  const value = input.attributes instanceof AttributeSet ? input.attributes.value : input.attributes;
  return outcome.applied.length === 0 ? value : applyPolicy(policy, outcome.applied, value);
}
