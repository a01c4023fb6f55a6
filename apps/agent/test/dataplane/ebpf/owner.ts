// The process that owns the dataplane in the restart test: it builds the policy index
// of the test's three pods, creates the eBPF dataplane on the node namespace, applies
// the full state, prints "ready", and then idles until it is killed (it never cleans
// up: what it programmed must outlive it). Run: node --import tsx --conditions=@twill/source owner.ts '<json>'.

import { compileNetworkPolicy, parseNetworkPolicy, PolicyIndex } from '@twill/policy-engine';

import { createEbpfDataplane } from '../../../src/dataplane/ebpf/index.js';

/** What the test hands the owner. */
export interface OwnerConfig {
  readonly netns: string;
  readonly pinRoot: string;
  readonly pods: readonly { readonly key: string; readonly ip: string; readonly hostInterface: string }[];
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
    { kind: 'upsert-policy', policy: compileNetworkPolicy(parseNetworkPolicy(RESTART_POLICY)) },
  ]);
  const dataplane = await createEbpfDataplane({ netns: config.netns, pinRoot: config.pinRoot });
  await dataplane.apply({
    policy: { changed: index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] as const })), removed: [], ipcache: { set: index.ipIdentities(), removed: [] } },
    attach: config.pods.map((p) => ({ key: p.key, hostInterface: p.hostInterface })),
  });
  const status = await dataplane.status();
  process.stdout.write(`${JSON.stringify({ ready: true, drift: status.drift })}\n`);
  setInterval(() => undefined, 60_000);
}

if (process.argv[2] !== undefined) {
  main(JSON.parse(process.argv[2]) as OwnerConfig).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
