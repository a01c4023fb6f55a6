// One probe's verdict as `policy simulate` and `policy explain` print it: the deciding
// enforcement point, rule and policy, and where the policy came from (a file's line for
// simulate, a stored object for explain). The JSON is documented in the README
// ("policy simulate: JSON") and stable.

import {
  evaluate,
  formatPolicyRef,
  type DirectionVerdict,
  type PolicyRef,
  type Snapshot,
  type Verdict,
} from '@twill/policy-engine';

import { type CommandContext } from '../context.js';
import { formatPod, type PodRef, type ProbeProtocol } from '../options.js';
import { renderJson, renderTable, renderYaml, type OutputFormat } from '../output.js';

/** A policy in the JSON output, with where it came from. */
export interface PolicyJson {
  readonly dialect: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** `file:line` of its document (simulate), or `Kind/namespace/name@resourceVersion` of the stored object (explain). */
  readonly source?: string;
}

/** What decided a probe (README: "policy simulate: JSON"). */
export interface DecidedByJson {
  /** The enforcement point: the source's `egress` or the destination's `ingress`. */
  readonly direction: 'ingress' | 'egress';
  /** The pod whose policy was evaluated there. */
  readonly endpoint: string;
  /** `rule`, `isolated` (no rule matched; the tier's default denied), `not-selected` or `passed`. */
  readonly reason: string;
  readonly policy?: PolicyJson;
  readonly tier?: string;
  /** The rule's path in its document (`spec.ingress[0]`, with the part in parentheses when split). */
  readonly rule?: string;
  /** Where the rule is: `file:line`, or the stored object and the rule's path. */
  readonly ruleSource?: string;
  readonly action?: string;
  /** For `isolated`: the policies that isolate the pod. */
  readonly isolatedBy?: readonly PolicyJson[];
}

/** One probe's verdict. */
export interface ProbeJson {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: ProbeProtocol;
  readonly verdict: 'allow' | 'deny';
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

function policyJson(locator: PolicyLocator, ref: PolicyRef): PolicyJson {
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
 * The enforcement point that decided: for a denied probe the first that denied (egress
 * before ingress, the order a packet meets them); for an allowed one the last that
 * allowed it by a rule, or else the destination's ingress.
 */
function decidingDirection(verdict: Verdict): DirectionVerdict {
  const evaluated = [verdict.egress, verdict.ingress].filter((v): v is DirectionVerdict => v !== undefined);
  const denied = evaluated.find((v) => !v.allowed);
  if (denied !== undefined) return denied;
  const byRule = evaluated.filter((v) => v.reason === 'rule').at(-1);
  // Both pods are endpoints of the snapshot, so both directions were evaluated.
  return byRule ?? (verdict.ingress as DirectionVerdict);
}

function decidedByJson(locator: PolicyLocator, direction: DirectionVerdict): DecidedByJson {
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

/** What one probe asks: from a pod to a pod's port. */
export interface ProbeRequest {
  readonly from: PodRef;
  readonly to: PodRef;
  readonly port: number;
  readonly protocol: ProbeProtocol;
}

/** Evaluates one probe against the snapshot (both pods must be endpoints of it). */
export function runProbe(snapshot: Snapshot, locator: PolicyLocator, request: ProbeRequest): ProbeJson {
  const { from, to, port, protocol } = request;
  const verdict = evaluate({ source: { endpoint: from }, destination: { endpoint: to }, protocol, destinationPort: port }, snapshot);
  return {
    from: formatPod(from),
    to: formatPod(to),
    port,
    protocol,
    verdict: verdict.allowed ? 'allow' : 'deny',
    decidedBy: decidedByJson(locator, decidingDirection(verdict)),
    explanation: verdict.explanation,
  };
}

/** `ingress: NetworkPolicy y/allow spec.ingress[0]`, for tables. */
export function describeDecision(decided: DecidedByJson): string {
  const ref = (p: PolicyJson): string => formatPolicyRef({ dialect: p.dialect as PolicyRef['dialect'], kind: p.kind, name: p.name, ...(p.namespace === undefined ? {} : { namespace: p.namespace }) });
  switch (decided.reason) {
    case 'rule':
      return `${decided.direction}: ${decided.policy === undefined ? '' : ref(decided.policy)} ${decided.rule ?? ''}`.trimEnd();
    case 'isolated':
      return `${decided.direction}: isolated by ${(decided.isolatedBy ?? []).map(ref).join(', ')}`;
    case 'not-selected':
      return `${decided.direction}: no policy selects ${decided.endpoint}`;
    default:
      return `${decided.direction}: passed, default allow`;
  }
}

/**
 * Prints probes: one per row (`table`, `wide` with the explanation), the grids of a
 * matrix (`table` with `matrix`), or JSON/YAML (one probe an object, a matrix
 * `{"probes": [...]}`).
 */
export function writeProbes(ctx: CommandContext, output: OutputFormat, probes: readonly ProbeJson[], matrix: boolean, pods: readonly string[] = []): void {
  const { stdout } = ctx.io;
  const { style } = ctx;
  if (output === 'json' || output === 'yaml') {
    const value = matrix ? { probes } : probes[0];
    stdout.write(output === 'json' ? renderJson(value) : renderYaml(value));
    return;
  }
  const verdict = (v: 'allow' | 'deny'): string => (v === 'allow' ? style.good(v) : style.bad(v));
  if (!matrix || output === 'wide') {
    const columns = [
      { header: 'FROM' }, { header: 'TO' }, { header: 'PORT', align: 'right' as const }, { header: 'PROTOCOL' }, { header: 'VERDICT' }, { header: 'DECIDED BY' },
      ...(output === 'wide' ? [{ header: 'EXPLANATION' }] : []),
    ];
    const rows = probes.map((p) => [p.from, p.to, String(p.port), p.protocol, verdict(p.verdict), describeDecision(p.decidedBy), ...(output === 'wide' ? [p.explanation] : [])]);
    stdout.write(renderTable(columns, rows, style));
    return;
  }
  // The matrix for people: one grid per protocol and port, clients down, servers across (upstream netpol's layout).
  const byKey = new Map(probes.map((p) => [`${p.protocol}/${p.port}/${p.from}>${p.to}`, p.verdict]));
  const grids = [...new Set(probes.map((p) => `${p.protocol}/${p.port}`))].map((key) => {
    const rows = pods.map((from) => [from, ...pods.map((to) => {
      if (from === to) return style.dim('-');
      return byKey.get(`${key}/${from}>${to}`) === 'allow' ? style.good('.') : style.bad('X');
    })]);
    return renderTable([{ header: key }, ...pods.map((pod) => ({ header: pod }))], rows, style);
  });
  const allowed = probes.filter((p) => p.verdict === 'allow').length;
  stdout.write(`${grids.join('\n')}\n. allowed  X denied  - same pod (not probed)\n${probes.length} probes: ${allowed} allowed, ${probes.length - allowed} denied\n`);
}
