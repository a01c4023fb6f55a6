// `twill policy simulate`: verdicts of probes between the pods of a cluster snapshot
// under a set of policies, offline (no agent, no root). JSON output is documented in
// the README ("policy simulate: JSON") and stable.

import { evaluateProbe, type PolicyLocator, type ProbeJson } from '@twill/policy-engine';

import { type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { formatPod, type PodRef, type ProbeProtocol } from '../options.js';
import { type OutputFormat } from '../output.js';
import { expandPaths, locate, readDocuments } from './documents.js';
import { buildSnapshot, compilePolicyDocuments, policySource, readClusterObjects, type CompiledPolicies } from './compile.js';
import { writeProbes } from './probe.js';

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

/** Policies located at `file:line` of the documents they were compiled from. */
export function fileLocator(compiled: Pick<CompiledPolicies, 'sources'>): PolicyLocator {
  return {
    source: (ref) => {
      const doc = policySource(compiled, ref);
      return doc === undefined ? undefined : locate(doc);
    },
    field: (ref, path) => {
      const doc = policySource(compiled, ref);
      return doc === undefined ? undefined : locate(doc, path);
    },
  };
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
  const locator = fileLocator(compiled);
  const pods = cluster.endpoints.map((e) => ({ namespace: e.namespace ?? 'default', name: e.name }))
    .sort((a, b) => formatPod(a).localeCompare(formatPod(b)));
  const known = new Set(pods.map(formatPod));

  if (options.matrix !== true) {
    for (const [flag, pod] of [['--from', options.from], ['--to', options.to]] as const) {
      if (pod !== undefined && !known.has(formatPod(pod))) throw new UsageError(ctx.command, flag, `no pod ${formatPod(pod)} in ${options.cluster}`);
    }
    const result = evaluateProbe(snapshot, locator, { from: options.from as PodRef, to: options.to as PodRef, port: options.port as number, protocol: options.protocol ?? 'TCP' });
    writeProbes(ctx, options.output, [result], false);
    return 0;
  }

  const ports = options.ports ?? [...new Set(cluster.containerPorts.map((p) => p.port))];
  if (ports.length === 0) throw new UsageError(ctx.command, '--ports', `required: no pod in ${options.cluster} declares a containerPort`);
  const protocols = options.protocols ?? ['TCP'];
  const probes: ProbeJson[] = [];
  for (const protocol of protocols) {
    for (const port of ports) {
      for (const from of pods) for (const to of pods) if (formatPod(from) !== formatPod(to)) probes.push(evaluateProbe(snapshot, locator, { from, to, port, protocol }));
    }
  }
  writeProbes(ctx, options.output, probes, true, pods.map(formatPod));
  return 0;
}
