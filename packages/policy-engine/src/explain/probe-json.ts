// One probe's verdict as JSON: the deciding enforcement point, rule and policy, and where
// the policy came from. `twill policy simulate` (a file's line), `twill policy explain`
// (a stored object) and the agent's dashboard print this document; its fields are
// documented in the CLI's README ("policy simulate: JSON") and stable.

import { evaluate, type DirectionVerdict, type Verdict } from '../evaluate/evaluate.js';
import { type Snapshot } from '../evaluate/snapshot.js';
import { type PolicyRef } from '../model/policy.js';

/** A policy in the probe JSON, with where it came from. */
export interface PolicyJson {
  /** The policy's dialect (`kubernetes`, `calico`, `cilium`). */
  readonly dialect: string;
  /** The document kind (`NetworkPolicy`, `GlobalNetworkPolicy`, ...). */
  readonly kind: string;
  /** Its namespace; absent for cluster-wide kinds. */
  readonly namespace?: string;
  /** The policy's name. */
  readonly name: string;
  /** `file:line` of its document, or `kind-id/namespace/name@resourceVersion` of the stored object; absent when unknown. */
  readonly source?: string;
}

/** What decided a probe. */
export interface DecidedByJson {
  /** The enforcement point: the source's `egress` or the destination's `ingress`. */
  readonly direction: 'ingress' | 'egress';
  /** The pod whose policy was evaluated there (`namespace/name`). */
  readonly endpoint: string;
  /** `rule`, `isolated` (no rule matched; the tier's default denied), `not-selected` or `passed`. */
  readonly reason: string;
  /** The policy of the deciding rule. */
  readonly policy?: PolicyJson;
  /** The tier of the deciding rule. */
  readonly tier?: string;
  /** The rule's path in its document (`spec.ingress[0]`, with the part in parentheses when split). */
  readonly rule?: string;
  /** Where the rule is: `file:line`, or the stored object and the rule's path. */
  readonly ruleSource?: string;
  /** The deciding rule's action. */
  readonly action?: string;
  /** For `isolated`: the policies that isolate the pod. */
  readonly isolatedBy?: readonly PolicyJson[];
}

/** The protocols a probe names. */
export type ProbeProtocol = 'TCP' | 'UDP' | 'SCTP';

/** One probe's verdict. */
export interface ProbeJson {
  /** The client pod, `namespace/name`. */
  readonly from: string;
  /** The server pod, `namespace/name`. */
  readonly to: string;
  /** The server's port. */
  readonly port: number;
  /** The transport protocol. */
  readonly protocol: ProbeProtocol;
  /** Whether the flow is allowed. */
  readonly verdict: 'allow' | 'deny';
  /** The enforcement point, rule and policy that decided. */
  readonly decidedBy: DecidedByJson;
  /** One sentence per enforcement point, egress first. */
  readonly explanation: string;
}

/** Where a policy, and a field of it, came from; `undefined` when unknown. */
export interface PolicyLocator {
  /** The policy's own place (`file:line` of its document, or the stored object). */
  source(ref: PolicyRef): string | undefined;
  /** The place of a field of it (`spec.ingress[0]`, possibly with ` (from[0])` after the path). */
  field(ref: PolicyRef, path: string): string | undefined;
}

/** A pod of a probe: its namespace and name. */
export interface ProbePod {
  /** The pod's namespace. */
  readonly namespace: string;
  /** The pod's name. */
  readonly name: string;
}

/** What one probe asks: from a pod to a pod's port. */
export interface ProbeRequest {
  /** The client pod. */
  readonly from: ProbePod;
  /** The server pod. */
  readonly to: ProbePod;
  /** The server's port. */
  readonly port: number;
  /** The transport protocol. */
  readonly protocol: ProbeProtocol;
}

/** A policy reference as probe JSON, with its source from `locator` when known. */
export function policyJson(locator: PolicyLocator, ref: PolicyRef): PolicyJson {
  const source = locator.source(ref);
  return {
    dialect: ref.dialect,
    kind: ref.kind,
    ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
    name: ref.name,
    ...(source === undefined ? {} : { source }),
  };
}

/**
 * The enforcement point that decided a verdict: for a denied flow the first that denied
 * (egress before ingress, the order a packet meets them); for an allowed one the last
 * that allowed it by a rule, or else the destination's ingress. Both ends must be
 * endpoints of the snapshot (so both directions were evaluated).
 */
export function decidingDirection(verdict: Verdict): DirectionVerdict {
  const evaluated = [verdict.egress, verdict.ingress].filter((v): v is DirectionVerdict => v !== undefined);
  const denied = evaluated.find((v) => !v.allowed);
  if (denied !== undefined) return denied;
  const byRule = evaluated.filter((v) => v.reason === 'rule').at(-1);
  return byRule ?? (verdict.ingress as DirectionVerdict);
}

/** What decided at one enforcement point, as probe JSON; places come from `locator`. */
export function decidedByJson(locator: PolicyLocator, direction: DirectionVerdict): DecidedByJson {
  const hit = direction.decidedBy;
  const ruleSource = hit === undefined ? undefined : locator.field(hit.policy, hit.origin.path);
  return {
    direction: direction.direction,
    endpoint: `${direction.endpoint.namespace ?? ''}/${direction.endpoint.name}`,
    reason: direction.reason,
    ...(hit === undefined
      ? {}
      : {
          policy: policyJson(locator, hit.policy),
          tier: hit.tier,
          rule: hit.origin.detail === undefined ? hit.origin.path : `${hit.origin.path} (${hit.origin.detail})`,
          ...(ruleSource === undefined ? {} : { ruleSource }),
          action: hit.action,
        }),
    ...(direction.isolatedBy === undefined ? {} : { isolatedBy: direction.isolatedBy.map((ref) => policyJson(locator, ref)) }),
  };
}

/**
 * Evaluates one probe against the snapshot and says what decided.
 * @throws {FlowError} when either pod is not an endpoint of the snapshot (from `evaluate`).
 */
export function evaluateProbe(snapshot: Snapshot, locator: PolicyLocator, request: ProbeRequest): ProbeJson {
  const { from, to, port, protocol } = request;
  const verdict = evaluate({ source: { endpoint: from }, destination: { endpoint: to }, protocol, destinationPort: port }, snapshot);
  return {
    from: `${from.namespace}/${from.name}`,
    to: `${to.namespace}/${to.name}`,
    port,
    protocol,
    verdict: verdict.allowed ? 'allow' : 'deny',
    decidedBy: decidedByJson(locator, decidingDirection(verdict)),
    explanation: verdict.explanation,
  };
}
