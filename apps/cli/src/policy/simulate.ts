// `twill policy simulate`: verdicts of probes between the pods of a cluster snapshot
// under a set of policies, offline (no agent, no root). JSON output is documented in
// the README ("policy simulate: JSON") and stable.

import {
  evaluate,
  formatPolicyRef,
  type DirectionVerdict,
  type PolicyRef,
  type Snapshot,
  type Verdict,
} from '@twill/policy-engine';

import { type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { formatPod, type PodRef, type ProbeProtocol } from '../options.js';
import { renderJson, renderTable, renderYaml, type OutputFormat } from '../output.js';
import { expandPaths, locate, readDocuments } from './documents.js';
import { buildSnapshot, compilePolicyDocuments, policySource, readClusterObjects, type CompiledPolicies } from './compile.js';

/** The options of `policy simulate`, as parsed. */
export interface SimulateOptions {
  readonly cluster?: string;
  readonly policies?: readonly string[];
  readonly from?: PodRef;
  readonly to?: PodRef;
  readonly port?: number;
  readonly protocol?: ProbeProtocol;
  readonly matrix?: boolean;
  readonly ports?: readonly number[];
  readonly protocols?: readonly ProbeProtocol[];
  readonly output: OutputFormat;
}

/** A policy in the JSON output, with the document it came from. */
export interface PolicyJson {
  readonly dialect: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** `file:line` of its document. */
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
  /** `file:line` of the rule. */
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

function policyJson(compiled: CompiledPolicies, ref: PolicyRef): PolicyJson {
  const doc = policySource(compiled, ref);
  return {
    dialect: ref.dialect,
    kind: ref.kind,
    ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
    name: ref.name,
    ...(doc === undefined ? {} : { source: locate(doc) }),
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

function decidedByJson(compiled: CompiledPolicies, direction: DirectionVerdict): DecidedByJson {
  const hit = direction.decidedBy;
  const doc = hit === undefined ? undefined : policySource(compiled, hit.policy);
  return {
    direction: direction.direction,
    endpoint: `${direction.endpoint.namespace ?? ''}/${direction.endpoint.name}`,
    reason: direction.reason,
    ...(hit === undefined
      ? {}
      : {
          policy: policyJson(compiled, hit.policy),
          tier: hit.tier,
          rule: hit.origin.detail === undefined ? hit.origin.path : `${hit.origin.path} (${hit.origin.detail})`,
          ...(doc === undefined ? {} : { ruleSource: locate(doc, hit.origin.path) }),
          action: hit.action,
        }),
    ...(direction.isolatedBy === undefined ? {} : { isolatedBy: direction.isolatedBy.map((ref) => policyJson(compiled, ref)) }),
  };
}

function probe(snapshot: Snapshot, compiled: CompiledPolicies, from: PodRef, to: PodRef, port: number, protocol: ProbeProtocol): ProbeJson {
  const verdict = evaluate({ source: { endpoint: from }, destination: { endpoint: to }, protocol, destinationPort: port }, snapshot);
  return {
    from: formatPod(from),
    to: formatPod(to),
    port,
    protocol,
    verdict: verdict.allowed ? 'allow' : 'deny',
    decidedBy: decidedByJson(compiled, decidingDirection(verdict)),
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

function checkCombination(ctx: CommandContext, options: SimulateOptions): asserts options is SimulateOptions & { cluster: string; policies: readonly string[] } {
  const fail = (where: string, what: string): never => {
    throw new UsageError(ctx.command, where, what);
  };
  if (options.cluster === undefined) fail('--cluster', 'required: the cluster snapshot (YAML of Namespace and Pod objects)');
  if (options.policies === undefined) fail('--policies', 'required: the policy files or folders');
  if (options.matrix === true) {
    for (const [flag, value] of [['--from', options.from], ['--to', options.to], ['--port', options.port], ['--protocol', options.protocol]] as const) {
      if (value !== undefined) fail(flag, 'cannot be used with --matrix (a matrix probes every pair; use --ports and --protocols)');
    }
    return;
  }
  for (const [flag, value] of [['--ports', options.ports], ['--protocols', options.protocols]] as const) {
    if (value !== undefined) fail(flag, 'only with --matrix (one probe takes --port and --protocol)');
  }
  for (const [flag, value] of [['--from', options.from], ['--to', options.to], ['--port', options.port]] as const) {
    if (value === undefined) fail(flag, 'required for one probe (or use --matrix for every pair)');
  }
}

/** Runs `policy simulate`; returns the exit code (0 whatever the verdicts). */
export async function runSimulate(ctx: CommandContext, options: SimulateOptions): Promise<number> {
  checkCombination(ctx, options);
  const clusterFiles = await expandPaths(ctx.io, ctx.command, '--cluster', [options.cluster]);
  const cluster = readClusterObjects(ctx.command, await readDocuments(ctx.io, ctx.command, clusterFiles));
  const policyFiles = await expandPaths(ctx.io, ctx.command, '--policies', options.policies);
  const compiled = compilePolicyDocuments(await readDocuments(ctx.io, ctx.command, policyFiles));
  const problem = compiled.problems[0];
  if (problem !== undefined) throw new UsageError(ctx.command, problem.where, problem.what);
  const snapshot = buildSnapshot(ctx.command, cluster, compiled);
  const pods = cluster.endpoints.map((e) => ({ namespace: e.namespace ?? 'default', name: e.name }))
    .sort((a, b) => formatPod(a).localeCompare(formatPod(b)));
  const known = new Set(pods.map(formatPod));

  if (options.matrix !== true) {
    for (const [flag, pod] of [['--from', options.from], ['--to', options.to]] as const) {
      if (pod !== undefined && !known.has(formatPod(pod))) throw new UsageError(ctx.command, flag, `no pod ${formatPod(pod)} in ${options.cluster}`);
    }
    const result = probe(snapshot, compiled, options.from as PodRef, options.to as PodRef, options.port as number, options.protocol ?? 'TCP');
    writeProbes(ctx, options.output, [result], false);
    return 0;
  }

  const ports = options.ports ?? [...new Set(cluster.containerPorts.map((p) => p.port))];
  if (ports.length === 0) throw new UsageError(ctx.command, '--ports', `required: no pod in ${options.cluster} declares a containerPort`);
  const protocols = options.protocols ?? ['TCP'];
  const probes: ProbeJson[] = [];
  for (const protocol of protocols) {
    for (const port of ports) {
      for (const from of pods) for (const to of pods) if (formatPod(from) !== formatPod(to)) probes.push(probe(snapshot, compiled, from, to, port, protocol));
    }
  }
  writeProbes(ctx, options.output, probes, true, pods.map(formatPod));
  return 0;
}

function writeProbes(ctx: CommandContext, output: OutputFormat, probes: readonly ProbeJson[], matrix: boolean, pods: readonly string[] = []): void {
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
