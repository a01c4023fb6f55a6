// `twill policy explain`: the verdict of one probe against the live datastore. It reads
// namespaces, pods, the policies of every dialect and the endpoint records through the
// agent, builds the endpoints exactly as the agent enforces them (@twill/policy-engine's
// buildLiveSnapshot: the newest endpoint record of each pod, labelled by its Pod when
// there is one, unlabelled otherwise, as the agent's controller), and says what decided,
// naming the stored object (kind/namespace/name@resourceVersion) where simulate names
// file:line. The agent's dashboard answers with the same engine calls.

import {
  buildLiveSnapshot as buildEngineLiveSnapshot,
  evaluateProbe,
  type LiveObjects as EngineLiveObjects,
  type LiveSnapshot,
  type PolicyJson,
  type ProbeJson,
} from '@twill/policy-engine';

import { agentClientFor, type AgentSocketOptions, type EndpointRecord } from '../client/index.js';
import { type CommandContext } from '../context.js';
import { EXIT, FailedError, UsageError } from '../errors.js';
import { formatPod, type PodRef, type ProbeProtocol } from '../options.js';
import { type OutputFormat } from '../output.js';
import { writeProbes } from './probe.js';

/**
 * The kinds whose objects the policy engine reads (policies of the three dialects, Calico
 * tiers and network sets), by the ids the agent serves them under (API.md, `/v1/kinds`).
 */
export const POLICY_KIND_IDS = [
  'networkpolicies.networking.k8s.io',
  'tiers.projectcalico.org',
  'networkpolicies.projectcalico.org',
  'globalnetworkpolicies.projectcalico.org',
  'networksets.projectcalico.org',
  'globalnetworksets.projectcalico.org',
  'ciliumnetworkpolicies.cilium.io',
  'ciliumclusterwidenetworkpolicies.cilium.io',
] as const;

/** The options of `policy explain`, as parsed. */
export interface ExplainOptions extends AgentSocketOptions {
  readonly from?: PodRef;
  readonly to?: PodRef;
  readonly port?: number;
  readonly protocol?: ProbeProtocol;
  readonly output: OutputFormat;
}

/** What the datastore holds that a verdict depends on, as the agent serves it. */
export type LiveObjects = EngineLiveObjects<EndpointRecord>;

// `policy explain --flow` (explain-flow.ts) names stored objects with it.
export { objectText } from '@twill/policy-engine';

/**
 * The engine's snapshot of live objects (@twill/policy-engine's buildLiveSnapshot).
 * @throws {FailedError} when the objects contradict each other (two pods with one
 *   address, a policy in a tier that does not exist), naming the stored object.
 */
export function buildLiveSnapshot(command: string, live: LiveObjects): LiveSnapshot {
  const built = buildEngineLiveSnapshot(live);
  if (built.ok) return built.live;
  const { object, text, error } = built.conflict;
  throw new FailedError(command, object ?? '', text, { cause: error });
}

/** The edit distance between two names (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * What to say about a pod that is not there: up to three pods whose names are near
 * or that have its name in another namespace (`did you mean x/web-0?`), else the pods
 * of its namespace, else that the namespace has none.
 */
export function missingPodText(wanted: PodRef, pods: readonly PodRef[]): string {
  const text = formatPod(wanted);
  const near = pods
    .map((pod) => ({ pod: formatPod(pod), distance: editDistance(text, formatPod(pod)), sameName: pod.name === wanted.name }))
    .filter((c) => c.sameName || c.distance <= Math.max(2, Math.floor(text.length / 3)))
    .sort((a, b) => a.distance - b.distance || a.pod.localeCompare(b.pod))
    .slice(0, 3)
    .map((c) => c.pod);
  if (near.length > 0) return `no pod ${text} (did you mean ${near.join(', ')}?)`;
  const same = pods.filter((pod) => pod.namespace === wanted.namespace).map((pod) => pod.name);
  if (same.length > 0) return `no pod ${text} (pods in ${wanted.namespace}: ${same.slice(0, 10).join(', ')}${same.length > 10 ? ', ...' : ''})`;
  return `no pod ${text} (no pods in namespace ${wanted.namespace})`;
}

/** Reads what a verdict depends on from the agent. */
async function readLiveObjects(ctx: CommandContext, options: AgentSocketOptions): Promise<LiveObjects> {
  const client = agentClientFor(ctx, options);
  const [status, namespaces, pods, records, ...policyLists] = await Promise.all([
    client.status(),
    client.list('namespaces'),
    client.list('pods'),
    client.endpoints(),
    ...POLICY_KIND_IDS.map((kindId) => client.list(kindId)),
  ]);
  const policies = POLICY_KIND_IDS.flatMap((kindId, i) => (policyLists[i] ?? []).map((resource) => ({ kindId, resource })));
  return { namespaces, pods, records, policies, node: status.node };
}

function sourcesOf(probe: ProbeJson): PolicyJson[] {
  const { decidedBy } = probe;
  return [...(decidedBy.policy === undefined ? [] : [decidedBy.policy]), ...(decidedBy.isolatedBy ?? [])];
}

/** Runs `policy explain`; returns the exit code (0 whatever the verdict). */
export async function runExplain(ctx: CommandContext, options: ExplainOptions): Promise<number> {
  for (const [flag, value] of [['--from', options.from], ['--to', options.to], ['--port', options.port]] as const) {
    if (value === undefined) throw new UsageError(ctx.command, flag, 'required');
  }
  const from = options.from as PodRef;
  const to = options.to as PodRef;
  const live = buildLiveSnapshot(ctx.command, await readLiveObjects(ctx, options));
  const known = new Set(live.pods.map(formatPod));
  for (const [flag, pod] of [['--from', from], ['--to', to]] as const) {
    if (known.has(formatPod(pod))) continue;
    if (live.unenforced.some((p) => formatPod(p) === formatPod(pod))) {
      throw new UsageError(ctx.command, flag, `pod ${formatPod(pod)} has no endpoint record: the agent enforces no policy for it (its CNI ADD has not run on any node)`);
    }
    throw new UsageError(ctx.command, flag, missingPodText(pod, live.pods));
  }
  for (const line of live.leftOut) ctx.io.stderr.write(`twill: ${ctx.command}: warning: left out ${line}\n`);
  const probe = evaluateProbe(live.snapshot, live.locator, { from, to, port: options.port as number, protocol: options.protocol ?? 'TCP' });
  writeProbes(ctx, options.output, [probe], false);
  if (options.output === 'table' || options.output === 'wide') {
    const sources = sourcesOf(probe).flatMap((p) => (p.source === undefined ? [] : [`source: ${p.source}`]));
    ctx.io.stdout.write(`\n${[...sources, `why: ${probe.explanation}`].join('\n')}\n`);
  }
  return EXIT.OK;
}
