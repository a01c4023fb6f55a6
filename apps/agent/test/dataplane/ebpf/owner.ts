// The process that owns the dataplane in the restart and upgrade tests: it builds the
// policy index of the test's pods, creates the eBPF dataplane on the node namespace,
// applies the full state, prints "ready" with its status, and then idles until it is
// killed (it never cleans up: what it programmed must outlive it). With `mapSizes` it
// plays an older agent version whose object declared other map sizes.
// Run: node --import tsx --conditions=@twill/source owner.ts '<json>'.

import { performance } from 'node:perf_hooks';

import { readCollectionSpec, type CollectionSpec } from '@twill/ebpf';
import { compileNetworkPolicy, parseNetworkPolicy, PolicyIndex } from '@twill/policy-engine';

import { DEFAULT_OBJECT_PATH, EbpfDataplane, openEbpfKernel } from '../../../src/dataplane/ebpf/index.js';

/** What the test hands the owner. */
export interface OwnerConfig {
  readonly netns: string;
  readonly pinRoot: string;
  readonly pods: readonly { readonly key: string; readonly ip: string; readonly hostInterface: string }[];
  /** NetworkPolicy objects of namespace x; {@link RESTART_POLICY} when absent. */
  readonly policies?: readonly unknown[];
  /** Max entries by map name, overriding the object's: an older version's object. */
  readonly mapSizes?: Readonly<Record<string, number>>;
}

/** The owner's "ready" line. */
export interface OwnerReady {
  readonly drift: string[];
  readonly upgrade?: { readonly done: boolean; readonly maps: readonly { name: string; outcome: string; state?: string; copied?: number }[]; readonly programsUpdated: readonly string[]; readonly failures: readonly string[]; readonly notes: readonly string[] };
  /** This owner's program ids by hook. */
  readonly programs: { readonly ingress: number; readonly egress: number };
}

/** The object with other max entries for some maps. */
function withMapSizes(spec: CollectionSpec, sizes: Readonly<Record<string, number>>): CollectionSpec {
  const maps = { ...spec.maps };
  for (const [name, maxEntries] of Object.entries(sizes)) {
    const map = maps[name];
    if (map === undefined) throw new Error(`the object has no map ${name}`);
    maps[name] = { ...map, maxEntries };
  }
  return { ...spec, maps };
}

/** Pod x/b takes TCP/80 from x/a only. */
export const RESTART_POLICY = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'b-from-a', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ protocol: 'TCP', port: 80 }] }] },
};

async function main(config: OwnerConfig): Promise<void> {
  const index = new PolicyIndex();
  index.apply([
    { kind: 'upsert-namespace', namespace: { name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } } },
    ...config.pods.map((p) => ({
      kind: 'upsert-endpoint' as const,
      endpoint: { kind: 'workload' as const, namespace: 'x', name: p.key.slice(2), labels: { pod: p.key.slice(2) }, ips: [p.ip] },
    })),
    ...(config.policies ?? [RESTART_POLICY]).map((p) => ({ kind: 'upsert-policy' as const, policy: compileNetworkPolicy(parseNetworkPolicy(p)) })),
  ]);
  const spec = config.mapSizes === undefined ? undefined : withMapSizes(readCollectionSpec(DEFAULT_OBJECT_PATH), config.mapSizes);
  const kernel = openEbpfKernel({ objectPath: DEFAULT_OBJECT_PATH, pinRoot: config.pinRoot, netns: config.netns, ...(spec === undefined ? {} : { spec }) });
  const dataplane = new EbpfDataplane({ kernel, now: () => performance.now() });
  await dataplane.apply({
    policy: { changed: index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] as const })), removed: [], ipcache: { set: index.ipIdentities(), removed: [] } },
    attach: config.pods.map((p) => ({ key: p.key, hostInterface: p.hostInterface })),
  });
  const status = await dataplane.status();
  const ready: OwnerReady = { drift: [...status.drift], ...(status.upgrade === undefined ? {} : { upgrade: status.upgrade }), programs: { ingress: kernel.programId('ingress'), egress: kernel.programId('egress') } };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  setInterval(() => undefined, 60_000);
}

if (process.argv[2] !== undefined) {
  main(JSON.parse(process.argv[2]) as OwnerConfig).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
