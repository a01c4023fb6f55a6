// `twill policy explain`: the verdict of one probe against the live datastore. It reads
// namespaces, pods, the policies of every dialect and the endpoint records through the
// agent, builds the endpoints exactly as the agent enforces them (the newest endpoint
// record of each pod, labelled by its Pod when there is one, unlabelled otherwise:
// @twill/policy-engine's endpointsFromRecords, which the agent's controller uses too),
// and says what decided, naming the stored object (kind/namespace/name@resourceVersion)
// where simulate names file:line.

import {
  createSnapshot,
  endpointsFromRecords,
  namespaceFromResource,
  PolicyEngineError,
  type Endpoint,
  type Namespace,
  type Snapshot,
} from '@twill/policy-engine';

import { agentClientFor, type AgentSocketOptions, type EndpointRecord, type StoredResource } from '../client/index.js';
import { type CommandContext } from '../context.js';
import { EXIT, FailedError, UsageError } from '../errors.js';
import { formatPod, type PodRef, type ProbeProtocol } from '../options.js';
import { type OutputFormat } from '../output.js';
import { compilePolicyObjects, snapshotErrorPlace } from './compile.js';
import { runProbe, writeProbes, type PolicyJson, type PolicyLocator, type ProbeJson } from './probe.js';

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

/** A stored object and the kind it was listed under. */
export interface StoredObject {
  readonly kindId: string;
  readonly resource: StoredResource;
}

/** What the datastore holds that a verdict depends on. */
export interface LiveObjects {
  readonly namespaces: readonly StoredResource[];
  readonly pods: readonly StoredResource[];
  readonly policies: readonly StoredObject[];
  readonly records: readonly EndpointRecord[];
  /** The agent's node: a record that names no node is on it (as the agent reads it). */
  readonly node: string;
}

/** `networkpolicies.networking.k8s.io/x/deny@42`: a stored object as explain names it. */
export function objectText(kindId: string, resource: StoredResource): string {
  const { namespace, name, resourceVersion } = resource.metadata;
  return `${kindId}/${namespace === undefined ? '' : `${namespace}/`}${name}@${resourceVersion}`;
}

/** The snapshot of the live objects, where each policy came from, and what had to be left out. */
export interface LiveSnapshot {
  readonly snapshot: Snapshot;
  readonly locator: PolicyLocator;
  /** The endpoints of the snapshot (the pods the agent enforces policy for), in `namespace/name` order. */
  readonly pods: readonly PodRef[];
  /** Pods with no endpoint record: the agent enforces nothing for them, explain cannot probe them. */
  readonly unenforced: readonly PodRef[];
  /** Objects the engine refused, one line each (`Pod x/a@3: ...`); the agent leaves them out too. */
  readonly leftOut: readonly string[];
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The engine's snapshot of live objects, as `policy simulate` builds one from files.
 * @throws {FailedError} when the objects contradict each other (two pods with one
 *   address, a policy in a tier that does not exist), naming the stored object.
 */
export function buildLiveSnapshot(command: string, live: LiveObjects): LiveSnapshot {
  const leftOut: string[] = [];
  const podsByKey = new Map(live.pods.map((pod) => [`${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`, pod]));
  const namespaces: Namespace[] = [];
  for (const resource of live.namespaces) {
    try {
      namespaces.push(namespaceFromResource(resource));
    } catch (error) {
      if (!(error instanceof PolicyEngineError)) throw error;
      leftOut.push(`${objectText('namespaces', resource)}: ${reason(error)}`);
    }
  }
  const built = endpointsFromRecords(live.records, (key) => podsByKey.get(key), live.node);
  const endpoints: Endpoint[] = built.map((b) => b.endpoint);
  // What a snapshot error names: the Pod of the endpoint, or else its record.
  const endpointObjects = built.map(({ key, record }) => {
    const pod = podsByKey.get(key.key);
    return pod === undefined ? `endpoint record ${record.containerId} (${key.key}, no pod)` : objectText('pods', pod);
  });
  for (const { key, podError } of built) {
    const pod = podsByKey.get(key.key);
    if (podError !== undefined && pod !== undefined) leftOut.push(`${objectText('pods', pod)}: ${podError.message} (its endpoint is enforced without labels, as the agent does)`);
  }
  const enforced = new Set(built.map((b) => b.key.key));
  const unenforced = [...podsByKey.keys()].filter((key) => !enforced.has(key)).sort().map((key) => {
    const [namespace = 'default', ...name] = key.split('/');
    return { namespace, name: name.join('/') };
  });
  const compiled = compilePolicyObjects(live.policies, (o) => o.resource);
  for (const { origin, error } of compiled.refused) leftOut.push(`${objectText(origin.kindId, origin.resource)}: ${reason(error)}`);
  const sourceOf = (ref: Parameters<PolicyLocator['source']>[0]): string | undefined => {
    const origin = compiled.sources.get(ref);
    return origin === undefined ? undefined : objectText(origin.kindId, origin.resource);
  };
  const locator: PolicyLocator = {
    source: sourceOf,
    field: (ref, path) => {
      const source = sourceOf(ref);
      return source === undefined ? undefined : `${source} ${path}`;
    },
  };
  let snapshot: Snapshot;
  try {
    snapshot = createSnapshot({ namespaces, endpoints, policies: compiled.policies, tiers: compiled.tiers, networkSets: compiled.networkSets });
  } catch (error) {
    if (!(error instanceof PolicyEngineError)) throw error;
    const place = snapshotErrorPlace(error);
    const pod = place?.collection === 'endpoints' ? endpointObjects[place.index] : undefined;
    const policy = place?.collection === 'policies' ? compiled.policies[place.index] : undefined;
    const object = pod ?? (policy === undefined ? undefined : sourceOf(policy.ref));
    const field = place?.field === undefined || place.field === '' ? '' : `${place.field}: `;
    throw new FailedError(command, object ?? '', object === undefined ? error.message : `${field}${error.reason}`, { cause: error });
  }
  const pods = endpoints.map((e) => ({ namespace: e.namespace ?? 'default', name: e.name })).sort((a, b) => formatPod(a).localeCompare(formatPod(b)));
  return { snapshot, locator, pods, unenforced, leftOut };
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
  const probe = runProbe(live.snapshot, live.locator, { from, to, port: options.port as number, protocol: options.protocol ?? 'TCP' });
  writeProbes(ctx, options.output, [probe], false);
  if (options.output === 'table' || options.output === 'wide') {
    const sources = sourcesOf(probe).flatMap((p) => (p.source === undefined ? [] : [`source: ${p.source}`]));
    ctx.io.stdout.write(`\n${[...sources, `why: ${probe.explanation}`].join('\n')}\n`);
  }
  return EXIT.OK;
}
