// What decided a kernel verdict, as a flow's `decidedBy` and its Allowed/DeniedBy lists.
// eBPF events carry the rule the kernel matched (`kernel`); nftables events do not (its
// rules are merged into set lookups), so the agent evaluates the flow against its policy
// index (`evaluated`), and says so when its evaluation disagrees with the kernel, whose
// verdict the flow keeps. Decisions are cached: per direction verdict object of the
// index (shared between flows that end the same way) and per kernel rule id.
import { DROP_REASON, type DecidingRule, type DropReason, type FlowPolicy } from '@twill/flows';
import { type IndexDirectionVerdict, type PolicyRef, type RuleOrigin } from '@twill/policy-engine';

import { type DataplaneFlowEvent, type DataplaneRuleRef } from '../../dataplane/port.js';

/** A decision with everything a flow and the metrics take from it (shared, never mutated). */
export interface Decision {
  readonly decidedBy: DecidingRule | undefined;
  readonly egressAllowedBy: readonly FlowPolicy[];
  readonly ingressAllowedBy: readonly FlowPolicy[];
  readonly egressDeniedBy: readonly FlowPolicy[];
  readonly ingressDeniedBy: readonly FlowPolicy[];
  /** For a drop: POLICY_DENY (a Deny rule) or POLICY_DENIED (isolation, fail-closed). */
  readonly dropReason: DropReason;
  /** `Kind namespace/name` of the deciding policy for `twill_policy_drops_total`; "" when no rule decided. */
  readonly policyLabel: string;
}

const NONE: readonly FlowPolicy[] = Object.freeze([]);

/** `NetworkPolicy x/deny`, `GlobalNetworkPolicy deny-all`. */
export function policyLabel(ref: PolicyRef): string {
  return `${ref.kind} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}`;
}

/** What flows say of a policy's stored object (the policy view's `policySource`). */
export type PolicySourceOf = (ref: PolicyRef) => { readonly revision: number; readonly uid?: string } | undefined;

/**
 * A policy's labels, as Hubble's `Policy.labels` carry them (`k8s:` source, `key=value`):
 * Cilium's keys (`io.cilium.k8s.policy.derived-from`, `.name`, `.namespace`, `.uid`, which
 * Hubble's tooling reads) and Twill's (`io.twill.policy.dialect`, `.kind`, `.name`,
 * `.namespace`): the dialect tells a Calico `NetworkPolicy` from a Kubernetes one, which
 * `twill policy explain --flow` reads to find the stored object.
 */
export function policyLabels(ref: PolicyRef, uid?: string): readonly string[] {
  const labels = [`k8s:io.cilium.k8s.policy.derived-from=${ref.kind}`, `k8s:io.cilium.k8s.policy.name=${ref.name}`];
  if (ref.namespace !== undefined) labels.push(`k8s:io.cilium.k8s.policy.namespace=${ref.namespace}`);
  if (uid !== undefined) labels.push(`k8s:io.cilium.k8s.policy.uid=${uid}`);
  labels.push(`k8s:io.twill.policy.dialect=${ref.dialect}`, `k8s:io.twill.policy.kind=${ref.kind}`, `k8s:io.twill.policy.name=${ref.name}`);
  if (ref.namespace !== undefined) labels.push(`k8s:io.twill.policy.namespace=${ref.namespace}`);
  return Object.freeze(labels);
}

/** Hubble's `Policy` of a policy reference, kept once per policy and revision. */
export class FlowPolicies {
  readonly #known = new Map<string, FlowPolicy>();
  readonly #sourceOf: PolicySourceOf;

  /** `sourceOf`: the revision and uid of the policy's stored object (absent: revision 0). */
  constructor(sourceOf: PolicySourceOf = () => undefined) {
    this.#sourceOf = sourceOf;
  }

  of(ref: PolicyRef): FlowPolicy {
    const key = `${ref.dialect}\u0000${ref.kind}\u0000${ref.namespace ?? ''}\u0000${ref.name}`;
    let policy = this.#known.get(key);
    if (policy === undefined) {
      const source = this.#sourceOf(ref);
      policy = Object.freeze({
        name: ref.name,
        ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
        labels: policyLabels(ref, source?.uid),
        // The stored object's resourceVersion the index holds the policy at (0: unknown).
        revision: source?.revision ?? 0,
        kind: ref.kind,
      });
      this.#known.set(key, policy);
    }
    return policy;
  }

  /** Forgets every policy: their revisions may have changed (a new generation of the index). */
  clear(): void {
    this.#known.clear();
  }
}

const rulePath = (origin: RuleOrigin | undefined): string | undefined =>
  origin === undefined ? undefined : origin.detail === undefined ? origin.path : `${origin.path} ${origin.detail}`;

const tierSuffix = (tier: string | undefined): string => (tier === undefined || tier === 'default' ? '' : ` in tier ${tier}`);

/** What a decision is built from, in the agent's words. */
interface DecisionInput {
  readonly reason: DecidingRule['reason'];
  readonly direction: 'ingress' | 'egress';
  /** The local endpoint (`x/a`), for the message. */
  readonly who: string;
  readonly policy?: PolicyRef;
  readonly tier?: string;
  readonly ruleIndex?: number;
  readonly origin?: RuleOrigin;
  readonly action?: 'allow' | 'deny';
  readonly isolatedBy?: readonly PolicyRef[];
  readonly attribution: 'kernel' | 'evaluated';
  /** The kernel's verdict, when it differs from the evaluation's. */
  readonly disagrees?: 'allow' | 'deny';
  /** A sentence added to the message (how the agent evaluated a packet it could not place as it was). */
  readonly note?: string;
  /** Why the agent cannot tell which policy decided (the message says only what the kernel's drop rule says). */
  readonly unknown?: string;
}

function message(input: DecisionInput): string {
  const { direction, who } = input;
  const toFrom = direction === 'ingress' ? 'to' : 'from';
  let text: string;
  if (input.unknown !== undefined) {
    // Only the kernel's drop rule speaks: what kind of drop it was, not which policy.
    if (input.reason === 'rule') return `a Deny rule of ${who}'s ${direction} policy dropped it (the kernel's drop rule says so); the agent cannot tell which: ${input.unknown}`;
    return `${who} is isolated for ${direction} (the kernel's drop rule says so: no rule allowed the traffic); the agent cannot tell by which policy: ${input.unknown}`;
  }
  switch (input.reason) {
    case 'rule': {
      const path = rulePath(input.origin);
      const policy = input.policy === undefined ? 'a policy' : policyLabel(input.policy);
      text = `${policy} rule ${path ?? `#${input.ruleIndex ?? '?'}`}${tierSuffix(input.tier)} ${input.action === 'deny' ? 'denies' : 'allows'} ${direction} traffic ${toFrom} ${who}`;
      break;
    }
    case 'isolated':
      text = `${who} is isolated for ${direction} by ${(input.isolatedBy ?? []).map(policyLabel).join(', ') || 'a policy'}${tierSuffix(input.tier)}; no rule allowed the traffic`;
      break;
    case 'not-selected':
      text = `no policy selects ${who} for ${direction}; the traffic is allowed by default`;
      break;
    case 'passed':
      text = `no policy selecting ${who} decided for ${direction}; the traffic is allowed by default`;
      break;
    default:
      text = `${who}'s policy is not programmed yet: its traffic is dropped until it is (fail-closed)`;
  }
  if (input.note !== undefined) text += `; ${input.note}`;
  if (input.disagrees !== undefined) {
    text += `; but the kernel ${input.disagrees === 'deny' ? 'dropped' : 'allowed'} it: the agent's policy and the kernel's differ (a change not programmed yet, or drift)`;
  }
  return text;
}

function decision(input: DecisionInput, policies: FlowPolicies, kernelVerdict: 'allow' | 'deny', dropKind: DataplaneFlowEvent['dropKind']): Decision {
  const decidedBy: DecidingRule = Object.freeze({
    reason: input.reason,
    direction: input.direction,
    ...(input.policy === undefined ? {} : { policy: policies.of(input.policy) }),
    ...(input.tier === undefined ? {} : { tier: input.tier }),
    ...(input.ruleIndex === undefined ? {} : { ruleIndex: input.ruleIndex }),
    ...(input.origin === undefined ? {} : { rulePath: rulePath(input.origin)! }),
    ...(input.action === undefined ? {} : { action: input.action }),
    ...(input.isolatedBy === undefined ? {} : { isolatedBy: Object.freeze(input.isolatedBy.map((p) => policies.of(p))) }),
    attribution: input.attribution,
    message: message(input),
  });
  // The lists say what decided the kernel's verdict: a disagreeing evaluation names no policy.
  let allowedBy = NONE;
  let deniedBy = NONE;
  if (input.disagrees === undefined) {
    if (input.reason === 'rule' && decidedBy.policy !== undefined) {
      if (kernelVerdict === 'allow') allowedBy = Object.freeze([decidedBy.policy]);
      else deniedBy = Object.freeze([decidedBy.policy]);
    } else if (input.reason === 'isolated' && kernelVerdict === 'deny') {
      deniedBy = decidedBy.isolatedBy ?? NONE;
    }
  }
  const denyRule = dropKind === undefined ? input.reason === 'rule' && input.action === 'deny' && input.disagrees === undefined : dropKind === 'deny';
  return {
    decidedBy,
    egressAllowedBy: input.direction === 'egress' ? allowedBy : NONE,
    ingressAllowedBy: input.direction === 'ingress' ? allowedBy : NONE,
    egressDeniedBy: input.direction === 'egress' ? deniedBy : NONE,
    ingressDeniedBy: input.direction === 'ingress' ? deniedBy : NONE,
    dropReason: denyRule ? DROP_REASON.POLICY_DENY : DROP_REASON.POLICY_DENIED,
    policyLabel: input.reason === 'rule' && input.policy !== undefined && input.disagrees === undefined ? policyLabel(input.policy) : '',
  };
}

const UNATTRIBUTED = new Map<string, Decision>();

/** An allowed flow nothing could attribute (no policy state): shown without `decidedBy`. */
export function unattributed(kernelVerdict: 'allow' | 'deny', dropKind: DataplaneFlowEvent['dropKind']): Decision {
  const key = `${kernelVerdict}/${dropKind ?? ''}`;
  let known = UNATTRIBUTED.get(key);
  if (known === undefined) {
    known = unattributedDecision(kernelVerdict, dropKind);
    UNATTRIBUTED.set(key, known);
  }
  return known;
}

function unattributedDecision(kernelVerdict: 'allow' | 'deny', dropKind: DataplaneFlowEvent['dropKind']): Decision {
  return {
    decidedBy: undefined,
    egressAllowedBy: NONE,
    ingressAllowedBy: NONE,
    egressDeniedBy: NONE,
    ingressDeniedBy: NONE,
    dropReason: kernelVerdict === 'deny' && dropKind === 'deny' ? DROP_REASON.POLICY_DENY : DROP_REASON.POLICY_DENIED,
    policyLabel: '',
  };
}

/**
 * A drop the agent cannot attribute to a policy: what the kernel's drop rule says (a
 * Deny rule, or isolation: a tier's default deny) and, in the message, why the agent
 * cannot tell more (`why`, one clause).
 */
export function unknownDropDecision(options: {
  readonly direction: 'ingress' | 'egress';
  readonly who: string;
  readonly dropKind: DataplaneFlowEvent['dropKind'];
  readonly why: string;
  readonly attribution: 'kernel' | 'evaluated';
  readonly policies: FlowPolicies;
}): Decision {
  const { direction, who, dropKind, why, attribution, policies } = options;
  const deny = dropKind === 'deny';
  return decision(
    { reason: deny ? 'rule' : 'isolated', direction, who, ...(deny ? { action: 'deny' as const } : {}), attribution, unknown: why },
    policies,
    'deny',
    dropKind ?? 'isolated',
  );
}

/** The fail-closed decision of an endpoint whose rules are not programmed yet. */
export function noEntryDecision(direction: 'ingress' | 'egress', who: string, attribution: 'kernel' | 'evaluated', policies: FlowPolicies): Decision {
  return decision({ reason: 'no-entry', direction, who, attribution }, policies, 'deny', 'no-entry');
}

/** The decision of a rule the kernel reported (eBPF). */
export function kernelDecision(options: {
  readonly rule: DataplaneRuleRef;
  readonly direction: 'ingress' | 'egress';
  readonly who: string;
  readonly verdict: 'allow' | 'deny';
  /** Whether any policy selects the endpoint for the direction (the default rule: not-selected or passed). */
  readonly selected: boolean;
  readonly origin: RuleOrigin | undefined;
  readonly policies: FlowPolicies;
}): Decision {
  const { rule, direction, who, verdict, policies } = options;
  if (rule.kind === 'default') return decision({ reason: options.selected ? 'passed' : 'not-selected', direction, who, attribution: 'kernel' }, policies, verdict, undefined);
  if (rule.kind === 'isolated') {
    return decision({ reason: 'isolated', direction: rule.direction, who, tier: rule.tier, isolatedBy: rule.isolatedBy, attribution: 'kernel' }, policies, verdict, undefined);
  }
  return decision(
    {
      reason: 'rule',
      direction: rule.direction,
      who,
      policy: rule.policy,
      tier: rule.tier,
      ruleIndex: rule.ruleIndex,
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      // The kernel's verdict is the matched rule's action.
      action: verdict,
      attribution: 'kernel',
    },
    policies,
    verdict,
    undefined,
  );
}

/** The decision of the index's evaluation of a flow the kernel decided `verdict` for (nftables). */
export function evaluatedDecision(options: {
  readonly verdict: IndexDirectionVerdict;
  readonly who: string;
  readonly kernelVerdict: 'allow' | 'deny';
  readonly dropKind: DataplaneFlowEvent['dropKind'];
  readonly policies: FlowPolicies;
  /** A sentence for the message: how the flow was evaluated when not as the packet was. */
  readonly note?: string;
}): Decision {
  const { verdict, who, kernelVerdict, policies } = options;
  const hit = verdict.decidedBy;
  const evaluated = verdict.allowed ? 'allow' : 'deny';
  const input: DecisionInput = {
    reason: verdict.reason,
    direction: verdict.direction,
    who,
    ...(hit === undefined
      ? {}
      : { policy: hit.policy, tier: hit.tier, ruleIndex: hit.ruleIndex, origin: hit.origin, action: hit.action === 'deny' ? ('deny' as const) : ('allow' as const) }),
    ...(verdict.isolatedBy === undefined ? {} : { isolatedBy: verdict.isolatedBy }),
    attribution: 'evaluated',
    ...(evaluated === kernelVerdict ? {} : { disagrees: kernelVerdict }),
    ...(options.note === undefined ? {} : { note: options.note }),
  };
  return decision(input, policies, kernelVerdict, options.dropKind);
}
