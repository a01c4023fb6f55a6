// The HTTP rule matcher an L7 proxy asks about each request. Input: the L7 rules
// `evaluate` returned for one allowed flow. Output: a matcher, compiled once when the
// policy loads (every pattern error is thrown then, never per request).
//
// Semantics (Cilium's layer7 policy docs; Calico's `http` match):
// - Within one enforcement point (ingress of the destination, egress of the source) a
//   request is allowed when ANY HTTP rule matches; a rule matches when EVERY field it
//   has matches. When `evaluate` returns rules for both points, each point must allow.
// - Cilium `method`, `path` and `host` are RE2 patterns matched against the WHOLE value,
//   as Envoy's full match does: `/api/v1/.*` admits `/api/v1/users` and not
//   `/x/api/v1/users` nor `/api/v1` (the `.*` needs the slash before it). The path is
//   the request target as sent (`:path`), query string included, as Envoy sees it.
// - Calico paths are `exact` or `prefix` on the path without its query string; a Calico
//   method is an exact name, which as a fully anchored pattern matches only itself.
// - Headers: names case-insensitive; a rule header with a value needs one of the
//   request's values for that name to equal it exactly; without a value, presence.
// - Rules of another protocol (`opaque`: Kafka, DNS) allow no HTTP request: fail closed.

import { FieldError, POLICY_ERROR_CODE } from '../errors.js';
import { formatPolicyRef, type HttpRule, type L7Rules, type PolicyRef, type RuleOrigin } from '../model/policy.js';
import { type Verdict } from '../evaluate/evaluate.js';
import { parseRe2, Re2SyntaxError } from './re2-parse.js';
import { compileRe2, Re2TooLargeError, type Re2Program } from './re2-program.js';

/** L7 rules with where they came from, as `evaluate`'s `Verdict.l7` entries carry them (plus, optionally, the deciding rule). */
export interface L7RuleSet {
  /** The rules. */
  readonly rules: L7Rules;
  /** The enforcement point: sets of different directions must each allow. Absent: one shared point. */
  readonly direction?: 'ingress' | 'egress';
  /** The policy whose rule carried these L7 rules, for messages and flow records. */
  readonly policy?: PolicyRef;
  /** Where that rule is in its document (`spec.ingress[0]`, detail `toPorts[0]`): names the field in errors. */
  readonly origin?: RuleOrigin;
}

/** What the matcher needs of one request. */
export interface HttpRequestFacts {
  /** The method as sent: `GET`. */
  readonly method: string;
  /** The request target in origin form, query included: `/api/v1/users?limit=1` (HTTP/2 `:path`). */
  readonly path: string;
  /** The Host header or HTTP/2 `:authority`, port included when sent; absent when the request has none. */
  readonly host?: string;
  /** Request headers; names in any case (Node gives lower case); repeated headers as arrays. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** The rule that allowed a request at one enforcement point. */
export interface HttpRuleHit {
  /** Index of the rule set in the compiled input. */
  readonly set: number;
  /** Index of the HTTP rule within that set. */
  readonly rule: number;
  /** The set's direction, when it had one. */
  readonly direction?: 'ingress' | 'egress';
  /** The set's policy, when it had one. */
  readonly policy?: PolicyRef;
  /** `CiliumNetworkPolicy default/l7-api-policy spec.ingress[0] http[0]`, or `l7[0] http[0]`. */
  readonly label: string;
}

/** The matcher's answer for one request. */
export type HttpDecision =
  | {
    readonly allowed: true;
    /** The rule that allowed it at each enforcement point; empty when no L7 rules apply. */
    readonly by: readonly HttpRuleHit[];
  }
  | {
    readonly allowed: false;
    /** The enforcement point that refused, when the sets had directions. */
    readonly direction?: 'ingress' | 'egress';
    /** The policies whose rules were tried there. */
    readonly policies: readonly PolicyRef[];
    /** One sentence: `no HTTP rule of CiliumNetworkPolicy default/l7-api-policy allows POST /api/v1/users`. */
    readonly why: string;
  };

/** A compiled list of L7 rule sets. */
export interface HttpMatcher {
  /** Decide one request. Linear in the lengths of its method, path, host and header values. */
  match(request: HttpRequestFacts): HttpDecision;
  /** False when the input had no rule sets: every request is allowed (a plain L3/L4 allow). */
  readonly restricts: boolean;
}

interface CompiledRule {
  readonly method?: Re2Program;
  readonly path?: { readonly kind: 'exact' | 'prefix'; readonly value: string } | { readonly kind: 'regex'; readonly program: Re2Program };
  readonly host?: Re2Program;
  readonly headers: readonly { readonly name: string; readonly value?: string }[];
  readonly hit: HttpRuleHit;
}

interface Group {
  readonly direction?: 'ingress' | 'egress';
  readonly rules: CompiledRule[];
  readonly policies: PolicyRef[];
  readonly opaque: string[];
}

/**
 * Compile one RE2 pattern of an HTTP rule for full-value matching.
 * @param path the field it came from, for the error: `spec.ingress[0].toPorts[0].rules.http[1].path`.
 * @throws {FieldError} `invalid-value` naming `path` when RE2 would refuse the pattern or it
 *   uses a construct this matcher refuses (backreferences, lookaround, possessive or
 *   repeated repetition, `\Z`, `\C`, `\p`); `unsupported` when it compiles to more than
 *   {@link RE2_MAX_PROGRAM} instructions.
 */
export function compileHttpPattern(pattern: string, path: string): Re2Program {
  try {
    return compileRe2(parseRe2(pattern));
  } catch (error) {
    if (error instanceof Re2SyntaxError) {
      throw new FieldError(POLICY_ERROR_CODE.INVALID_VALUE, path, `invalid RE2 pattern ${JSON.stringify(pattern)}: ${error.message}`, { cause: error });
    }
    if (error instanceof Re2TooLargeError) {
      throw new FieldError(POLICY_ERROR_CODE.UNSUPPORTED, path, `RE2 pattern ${JSON.stringify(pattern)} is too large: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

export { RE2_MAX_PROGRAM } from './re2-program.js';

// RE2's metacharacters (re2/syntax: `\.+*?()|[]{}^$`); every other character is literal.
const RE2_META = /[\\.+*?()|[\]{}^$]/gu;

/**
 * `text` as an RE2 pattern that fully matches `text` and nothing else: each RE2
 * metacharacter escaped. For a front end whose dialect names an HTTP method exactly
 * (Calico `http.methods`): an RFC 9110 §5.6.2 token may hold `.`, `*`, `+`, `|`, `^` or
 * `$`, which {@link HttpRule.method} would otherwise read as pattern syntax.
 */
export function quoteHttpPattern(text: string): string {
  return text.replace(RE2_META, (c) => `\\${c}`);
}

function setPath(set: L7RuleSet | undefined, index: number): string {
  const origin = set?.origin;
  if (origin === undefined) return `l7[${index}]`;
  return origin.detail === undefined ? origin.path : `${origin.path}.${origin.detail}`;
}

function compileRule(rule: HttpRule, base: string, hit: HttpRuleHit): CompiledRule {
  const field = (name: string): string => `${base}.rules.http[${hit.rule}].${name}`;
  return {
    ...(rule.method === undefined ? {} : { method: compileHttpPattern(rule.method, field('method')) }),
    ...(rule.path === undefined ? {} : {
      path: rule.path.kind === 'regex'
        ? { kind: 'regex', program: compileHttpPattern(rule.path.value, field('path')) }
        : { kind: rule.path.kind, value: rule.path.value },
    }),
    ...(rule.host === undefined ? {} : { host: compileHttpPattern(rule.host, field('host')) }),
    headers: (rule.headers ?? []).map((h) => ({ name: h.name.toLowerCase(), ...(h.value === undefined ? {} : { value: h.value }) })),
    hit,
  };
}

function headerValues(headers: HttpRequestFacts['headers'], name: string): readonly string[] | undefined {
  let value = headers[name];
  if (value === undefined) {
    for (const key of Object.keys(headers)) if (key.toLowerCase() === name) { value = headers[key]; break; }
  }
  if (value === undefined) return undefined;
  return typeof value === 'string' ? [value] : value;
}

function ruleMatches(rule: CompiledRule, request: HttpRequestFacts): boolean {
  if (rule.method !== undefined && !rule.method.fullMatch(request.method)) return false;
  if (rule.path !== undefined) {
    if (rule.path.kind === 'regex') {
      if (!rule.path.program.fullMatch(request.path)) return false;
    } else {
      const query = request.path.indexOf('?');
      const bare = query < 0 ? request.path : request.path.slice(0, query);
      if (rule.path.kind === 'exact' ? bare !== rule.path.value : !bare.startsWith(rule.path.value)) return false;
    }
  }
  if (rule.host !== undefined && (request.host === undefined || !rule.host.fullMatch(request.host))) return false;
  for (const header of rule.headers) {
    const values = headerValues(request.headers, header.name);
    if (values === undefined) return false;
    if (header.value !== undefined && !values.includes(header.value)) return false;
  }
  return true;
}

/**
 * The L7 rule sets of an allowed verdict, with the deciding policy and rule attached
 * where that is certain: `evaluate` merges the L7 rules of allow rules of equal order,
 * so a direction with several sets names no policy rather than a wrong one.
 */
export function l7RuleSetsOf(verdict: Verdict): L7RuleSet[] {
  return verdict.l7.map((entry) => {
    const direction = verdict[entry.direction];
    const alone = verdict.l7.filter((e) => e.direction === entry.direction).length === 1;
    const hit = alone ? direction?.decidedBy : undefined;
    return { rules: entry.rules, direction: entry.direction, ...(hit === undefined ? {} : { policy: hit.policy, origin: hit.origin }) };
  });
}

const ALLOW_ALL: HttpMatcher = { restricts: false, match: () => ({ allowed: true, by: [] }) };

/**
 * Compile the L7 rules of one allowed flow into a matcher.
 * @param sets `evaluate(...).l7` (entries `{ direction, rules }`), optionally with `policy`
 *   and `origin`; or bare {@link L7Rules} (one shared enforcement point). Empty: no L7
 *   restriction, every request is allowed.
 * @throws {FieldError} for the first pattern that does not compile, naming its field
 *   (`spec.ingress[0].toPorts[0].rules.http[0].path`) and policy.
 */
export function compileHttpMatcher(sets: readonly (L7RuleSet | L7Rules)[]): HttpMatcher {
  if (sets.length === 0) return ALLOW_ALL;
  const groups = new Map<string, Group>();
  sets.forEach((entry, index) => {
    const set: L7RuleSet = 'kind' in entry ? { rules: entry } : entry;
    const key = set.direction ?? '';
    let group = groups.get(key);
    if (group === undefined) {
      group = { ...(set.direction === undefined ? {} : { direction: set.direction }), rules: [], policies: [], opaque: [] };
      groups.set(key, group);
    }
    if (set.policy !== undefined && !group.policies.some((p) => formatPolicyRef(p) === formatPolicyRef(set.policy as PolicyRef))) group.policies.push(set.policy);
    if (set.rules.kind === 'opaque') { group.opaque.push(set.rules.parser); return; }
    const base = setPath(set, index);
    const owner = set.policy === undefined ? '' : `${formatPolicyRef(set.policy)} `;
    set.rules.rules.forEach((rule, ruleIndex) => {
      const hit: HttpRuleHit = {
        set: index,
        rule: ruleIndex,
        ...(set.direction === undefined ? {} : { direction: set.direction }),
        ...(set.policy === undefined ? {} : { policy: set.policy }),
        label: `${owner}${base} http[${ruleIndex}]`,
      };
      try {
        (group as Group).rules.push(compileRule(rule, base, hit));
      } catch (error) {
        if (error instanceof FieldError && owner !== '') {
          throw new FieldError(error.code, error.path, `${owner.trim()}: ${error.reason}`, { cause: error.cause });
        }
        throw error;
      }
    });
  });
  const compiled = [...groups.values()];
  return {
    restricts: true,
    match(request) {
      const by: HttpRuleHit[] = [];
      for (const group of compiled) {
        const hit = group.rules.find((rule) => ruleMatches(rule, request));
        if (hit === undefined) return deny(group, request);
        by.push(hit.hit);
      }
      return { allowed: true, by };
    },
  };
}

function deny(group: Group, request: HttpRequestFacts): HttpDecision {
  const of = group.policies.length === 0 ? '' : ` of ${group.policies.map(formatPolicyRef).join(', ')}`;
  const where = group.direction === undefined ? '' : ` (${group.direction})`;
  const opaque = group.opaque.length === 0 ? '' : `; its ${[...new Set(group.opaque)].join(', ')} rules do not apply to HTTP`;
  return {
    allowed: false,
    ...(group.direction === undefined ? {} : { direction: group.direction }),
    policies: group.policies,
    why: `no HTTP rule${of}${where} allows ${request.method} ${request.path}${opaque}`,
  };
}
