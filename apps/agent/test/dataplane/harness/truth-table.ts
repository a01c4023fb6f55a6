// The truth-table run: the cluster's objects and each case's policies go through one
// PolicyIndex, whose diffs feed the driver under test; every (from, to, port, protocol)
// of the lab is probed with real connections and compared with what `evaluate` says of
// the same objects. The driver and the index live for the whole run, so cases also
// exercise incremental changes (policies, tiers and labels come and go between steps).

import {
  createSnapshot,
  evaluate,
  formatPolicyRef,
  IdentityAllocator,
  PolicyIndex,
  type Endpoint,
  type Namespace,
  type NetworkSet,
  type Policy,
  type PolicyIndexChange,
  type Tier,
} from '@twill/policy-engine';

import { type Dataplane } from '../../../src/dataplane/port.js';
import { type DataplaneLab, type ProbeProtocol, type ProbeRequest } from './lab.js';

/** Makes the driver under test, programming the named namespace. */
export type DataplaneFactory = (options: { readonly netns: string }) => Promise<Dataplane>;

/** The objects every case starts from. Workloads with one IPv4 address become the lab's pods. */
export interface TruthTableCluster {
  readonly name: string;
  readonly namespaces: readonly Namespace[];
  readonly endpoints: readonly Endpoint[];
  /** The ports every pod serves and every probe tries. */
  readonly ports: readonly number[];
  readonly kubeApiServer?: readonly string[];
}

/** One state of a case: the objects in force (replacing the previous step's). */
export interface TruthTableStep {
  readonly policies: readonly Policy[];
  readonly tiers?: readonly Tier[];
  readonly networkSets?: readonly NetworkSet[];
  /** Endpoints of the cluster as changed for this step (relabelled); the rest stay as the cluster has them. */
  readonly endpoints?: readonly Endpoint[];
  /** Namespaces as changed for this step. */
  readonly namespaces?: readonly Namespace[];
}

/** A named sequence of steps. */
export interface TruthTableCase {
  readonly name: string;
  readonly steps: readonly TruthTableStep[];
}

/** What a run found. */
export interface TruthTableReport {
  readonly probes: number;
  /** One line per disagreement between the kernel and `evaluate`, in words. */
  readonly mismatches: readonly string[];
}

/** Probe timing: a first short attempt, and a longer one to confirm a denial `evaluate` calls an allow. */
export const PROBE_TIMEOUTS = { firstMs: 400, confirmMs: 2000 } as const;

const PROTOCOLS: readonly ProbeProtocol[] = ['TCP', 'UDP'];

const keyOf = (e: { readonly namespace?: string; readonly name: string }): string => (e.namespace === undefined ? `host:${e.name}` : `${e.namespace}/${e.name}`);
/** A policy document's key: a document may compile to several parts (a Cilium policy's allow and deny halves). */
const documentKey = (p: Policy): string => `${p.ref.dialect} ${formatPolicyRef(p.ref)}`;

function byDocument(policies: readonly Policy[]): Map<string, Policy[]> {
  const documents = new Map<string, Policy[]>();
  for (const policy of policies) documents.set(documentKey(policy), [...(documents.get(documentKey(policy)) ?? []), policy]);
  return documents;
}

const sameParts = (a: readonly Policy[] | undefined, b: readonly Policy[]): boolean => a !== undefined && a.length === b.length && a.every((p, i) => p === b[i]);
const setKey = (s: NetworkSet): string => `${s.namespace ?? ''}/${s.name}`;

/** The workloads of a cluster that become pods (one IPv4 address each). */
export function labPods(cluster: TruthTableCluster): { key: string; ip: string }[] {
  return cluster.endpoints.flatMap((e) => (e.kind === 'workload' && e.ips.length === 1 && !(e.ips[0] ?? '').includes(':') ? [{ key: keyOf(e), ip: e.ips[0] as string }] : []));
}

interface State {
  namespaces: Map<string, Namespace>;
  endpoints: Map<string, Endpoint>;
  /** Each document's parts, by {@link documentKey}. */
  policies: Map<string, Policy[]>;
  tiers: Map<string, Tier>;
  networkSets: Map<string, NetworkSet>;
}

// The changes that take the index from `before` to `after`, in an order the index accepts.
function changesBetween(before: State, after: State): PolicyIndexChange[] {
  const changes: PolicyIndexChange[] = [];
  for (const [name, tier] of after.tiers) if (before.tiers.get(name) !== tier) changes.push({ kind: 'upsert-tier', tier });
  for (const [name, namespace] of after.namespaces) if (before.namespaces.get(name) !== namespace) changes.push({ kind: 'upsert-namespace', namespace });
  for (const [key, endpoint] of after.endpoints) if (before.endpoints.get(key) !== endpoint) changes.push({ kind: 'upsert-endpoint', endpoint });
  for (const [key, set] of after.networkSets) if (before.networkSets.get(key) !== set) changes.push({ kind: 'upsert-network-set', networkSet: set });
  for (const [key, parts] of after.policies) if (!sameParts(before.policies.get(key), parts)) changes.push({ kind: 'replace-policies', ref: parts[0]!.ref, policies: parts });
  for (const [key, parts] of before.policies) if (!after.policies.has(key)) changes.push({ kind: 'delete-policy', ref: parts[0]!.ref });
  for (const [key, set] of before.networkSets) if (!after.networkSets.has(key)) changes.push({ kind: 'delete-network-set', ref: set });
  for (const [name] of before.tiers) if (!after.tiers.has(name) && name !== 'default') changes.push({ kind: 'delete-tier', name });
  return changes;
}

function stateOf(cluster: TruthTableCluster, step?: TruthTableStep): State {
  const namespaces = new Map(cluster.namespaces.map((n) => [n.name, n]));
  for (const n of step?.namespaces ?? []) namespaces.set(n.name, n);
  const endpoints = new Map(cluster.endpoints.map((e) => [keyOf(e), e]));
  for (const e of step?.endpoints ?? []) endpoints.set(keyOf(e), e);
  return {
    namespaces,
    endpoints,
    policies: byDocument(step?.policies ?? []),
    tiers: new Map((step?.tiers ?? []).map((t) => [t.name, t])),
    networkSets: new Map((step?.networkSets ?? []).map((s) => [setKey(s), s])),
  };
}

/** Every probe of the lab: ordered pairs of distinct pods (loopback never leaves the pod) × ports × TCP, UDP. */
export function allProbes(lab: DataplaneLab): ProbeRequest[] {
  return lab.pods.flatMap((from) => lab.pods.flatMap((to) => (from === to ? [] : lab.ports.flatMap((port) => PROTOCOLS.map((protocol) => ({ from: from.key, to: to.key, port, protocol }))))));
}

/**
 * Runs `cases` against the driver `factory` makes for the lab's node namespace, and
 * calls `cleanup()` on it at the end. The lab must hold the cluster's pods
 * ({@link labPods}). Returns every mismatch; never throws for one.
 */
export async function runTruthTable(options: {
  readonly lab: DataplaneLab;
  readonly factory: DataplaneFactory;
  readonly cluster: TruthTableCluster;
  readonly cases: readonly TruthTableCase[];
}): Promise<TruthTableReport> {
  const { lab, cluster } = options;
  const identities = new IdentityAllocator();
  const index = new PolicyIndex({ identities, ...(cluster.kubeApiServer === undefined ? {} : { kubeApiServer: cluster.kubeApiServer }) });
  const dataplane = await options.factory({ netns: lab.node });
  const mismatches: string[] = [];
  let probes = 0;
  try {
    let state = stateOf({ ...cluster, endpoints: [], namespaces: [] });
    let first = true;
    for (const testCase of options.cases) {
      for (const [stepIndex, step] of [...testCase.steps, undefined].entries()) {
        const next = stateOf(cluster, step);
        const diff = index.apply(changesBetween(state, next));
        state = next;
        await dataplane.apply({ policy: diff, ...(first ? { attach: lab.attachments() } : {}) });
        first = false;
        // The empty step after a case's last one only resets the index for the next case.
        if (step === undefined) continue;
        const snapshot = createSnapshot({
          namespaces: [...next.namespaces.values()],
          endpoints: [...next.endpoints.values()],
          policies: [...next.policies.values()].flat(),
          tiers: [...next.tiers.values()],
          networkSets: [...next.networkSets.values()],
          identities,
          ...(cluster.kubeApiServer === undefined ? {} : { kubeApiServer: cluster.kubeApiServer }),
        });
        const list = allProbes(lab);
        probes += list.length;
        const found = await Promise.all(list.map(async (probe) => {
          const [namespace, name] = probe.from.split('/') as [string, string];
          const [toNamespace, toName] = probe.to.split('/') as [string, string];
          const verdict = evaluate({ source: { endpoint: { namespace, name } }, destination: { endpoint: { namespace: toNamespace, name: toName } }, protocol: probe.protocol, destinationPort: probe.port }, snapshot);
          let allowed = await lab.attempt(probe, PROBE_TIMEOUTS.firstMs);
          // A loaded machine may be slow to answer: confirm a denial before calling it one.
          if (!allowed && verdict.allowed) allowed = await lab.attempt(probe, PROBE_TIMEOUTS.confirmMs);
          if (allowed === verdict.allowed) return undefined;
          return `${testCase.name} [step ${stepIndex + 1}] ${probe.from} -> ${probe.to} ${probe.protocol}/${probe.port}: the kernel ${allowed ? 'allowed' : 'denied'} it, evaluate says ${verdict.allowed ? 'allow' : 'deny'} (${verdict.explanation})`;
        }));
        mismatches.push(...found.filter((m): m is string => m !== undefined));
      }
    }
  } finally {
    await dataplane.cleanup();
  }
  return { probes, mismatches };
}
