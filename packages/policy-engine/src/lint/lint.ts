// Policy lint over IR policies (any dialect): rules shadowed by earlier rules, rules
// that can never match, policies that select nothing, and Allow and Deny rules that
// overlap. Findings name the policy, the rule's path in its source document and say
// why in one sentence.

import { DEFAULT_TIER, DENY_PRECEDENCE_TIER, formatPolicyRef, type Policy, type PolicyRef, type Rule, type Tier } from '../model/policy.js';
import { allOf, formatSelector, matchSelector } from '../model/selector.js';
import { type Snapshot } from '../evaluate/snapshot.js';
import { comparePolicies, compareTiers } from '../engine/order.js';
import { neverMatches, ruleCovers, rulesMayOverlap } from './rules.js';
import { contradiction, selectorCovers } from './selectors.js';

/** The kinds of finding. */
export const LINT_FINDING_KIND = {
  /** An earlier rule matches every flow this one matches, so this one never decides. */
  SHADOWED: 'shadowed',
  /** The rule can match no flow at all. */
  NEVER_MATCHES: 'never-matches',
  /** The policy's subject selects no endpoint (of the snapshot, or of any cluster). */
  SELECTS_NOTHING: 'selects-nothing',
  /** An Allow and a Deny rule can match the same flows; the earlier one decides them. */
  ALLOW_DENY_OVERLAP: 'allow-deny-overlap',
} as const;

/** One of {@link LINT_FINDING_KIND}. */
export type LintFindingKind = (typeof LINT_FINDING_KIND)[keyof typeof LINT_FINDING_KIND];

/** One finding. */
export interface LintFinding {
  /** What was found. */
  readonly kind: LintFindingKind;
  /** The policy the finding is about. */
  readonly policy: PolicyRef;
  /** The rule's path in its source document (`spec.ingress[1]`, with the part of it in parentheses when split); absent for policy-wide findings. */
  readonly path?: string;
  /** One sentence saying what is wrong and why, naming the policy and rule. */
  readonly message: string;
  /** The other rule, for shadowing and overlaps. */
  readonly related?: {
    /** The policy that holds the other rule. */
    readonly policy: PolicyRef;
    /** The other rule's path in its source document, as `path`. */
    readonly path: string;
  };
}

/** What {@link lintPolicies} takes. */
export interface LintInput {
  /** The IR policies to check, of any dialect. */
  readonly policies: readonly Policy[];
  /** Tiers besides the default and deny-precedence ones. */
  readonly tiers?: readonly Tier[];
  /** Endpoints to check subjects against; without it, only subjects that can match nothing are reported. */
  readonly snapshot?: Snapshot;
}

interface Located {
  readonly policy: Policy;
  readonly direction: 'ingress' | 'egress';
  readonly rule: Rule;
  readonly path: string;
  readonly tierRank: number;
}

const rulePath = (rule: Rule): string => (rule.origin.detail === undefined ? rule.origin.path : `${rule.origin.path} (${rule.origin.detail})`);
const describe = (at: Located): string => `${formatPolicyRef(at.policy.ref)} rule ${at.path}`;

function subjectFindings(policy: Policy, snapshot: Snapshot | undefined): LintFinding[] {
  const why = contradiction(policy.subject);
  if (why !== undefined) {
    return [{ kind: 'selects-nothing', policy: policy.ref, message: `${formatPolicyRef(policy.ref)} selects nothing: its subject ${formatSelector(policy.subject)} can match nothing (${why})` }];
  }
  if (snapshot === undefined) return [];
  const endpoints = [...snapshot.endpoints.values()];
  if (endpoints.some((e) => matchSelector(policy.subject, e.subject))) return [];
  return [{ kind: 'selects-nothing', policy: policy.ref, message: `${formatPolicyRef(policy.ref)} selects no endpoint: ${formatSelector(policy.subject)} matches none of the ${endpoints.length} endpoints` }];
}

// Whether every endpoint `later`'s policy selects is selected by `earlier`'s.
const subjectCovers = (earlier: Policy, later: Policy): boolean => earlier === later || selectorCovers(earlier.subject, later.subject);

/**
 * Lints IR policies. Findings come policy by policy in evaluation order (tiers, then
 * order and name), each policy's own findings first by kind: selects-nothing, then
 * per rule never-matches, shadowed, allow-deny-overlap.
 */
export function lintPolicies(input: LintInput): LintFinding[] {
  const tiers = [DENY_PRECEDENCE_TIER, DEFAULT_TIER, ...(input.tiers ?? [])].sort(compareTiers);
  const rank = new Map(tiers.map((t, i) => [t.name, i]));
  const policies = [...input.policies].sort((a, b) => (rank.get(a.tier) ?? tiers.length) - (rank.get(b.tier) ?? tiers.length) || comparePolicies(a, b));
  const findings: LintFinding[] = [];
  const seen: Located[] = [];
  for (const policy of policies) {
    findings.push(...subjectFindings(policy, input.snapshot));
    for (const direction of ['ingress', 'egress'] as const) {
      for (const rule of policy[direction]?.rules ?? []) {
        const at: Located = { policy, direction, rule, path: rulePath(rule), tierRank: rank.get(policy.tier) ?? tiers.length };
        const never = neverMatches(rule);
        if (never !== undefined) {
          findings.push({ kind: 'never-matches', policy: policy.ref, path: at.path, message: `${describe(at)} can never match: ${never}` });
          continue;
        }
        const earlier = seen.filter((e) => e.direction === direction);
        const shadow = earlier.find((e) => e.tierRank === at.tierRank && e.rule.action !== 'log' && subjectCovers(e.policy, policy) && ruleCovers(e.rule, rule));
        if (shadow !== undefined) {
          findings.push({
            kind: 'shadowed', policy: policy.ref, path: at.path, related: { policy: shadow.policy.ref, path: shadow.path },
            message: `${describe(at)} is shadowed by ${describe(shadow)} (${shadow.rule.action}), which matches every flow it matches`,
          });
        } else if (rule.action === 'allow' || rule.action === 'deny') {
          const other = rule.action === 'allow' ? 'deny' : 'allow';
          const clash = earlier.find((e) => e.rule.action === other && contradiction(allOf(e.policy.subject, policy.subject)) === undefined && rulesMayOverlap(e.rule, rule));
          if (clash !== undefined) {
            findings.push({
              kind: 'allow-deny-overlap', policy: policy.ref, path: at.path, related: { policy: clash.policy.ref, path: clash.path },
              message: `${describe(at)} (${rule.action}) overlaps ${describe(clash)} (${other}), which comes first and decides the flows both match`,
            });
          }
        }
        seen.push(at);
      }
    }
  }
  return findings;
}

