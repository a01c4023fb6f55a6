// The policy engine's truth-table fixtures, as harness cases: the Kubernetes upstream
// network-policy conformance cases (packages/policy-engine/test/kubernetes/netpol) on
// the x/y/z × a/b/c cluster, and the Calico fixture documents
// (packages/policy-engine/test/calico/fixtures/valid) plus Calico tier and Cilium deny
// cases on the seed's small cluster (packages/policy-engine/test/calico/cluster.ts).
// The policy engine does not export its test fixtures, so they are imported by path at
// run time; their shapes are restated here.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import {
  compileNetworkPolicy,
  parseNetworkPolicy,
  POLICY_ERROR_CODE,
  PolicyEngineError,
  PROTOCOL,
  type Endpoint,
  type Namespace,
  type NetworkSet,
  type Policy,
  type Tier,
} from '@twill/policy-engine';

import { type TruthTableCase, type TruthTableCluster, type TruthTableStep } from './truth-table.js';

/** The policy engine's test folder. */
export const POLICY_ENGINE_TESTS = join(import.meta.dirname, '..', '..', '..', '..', '..', 'packages', 'policy-engine', 'test');

async function importFixture<T>(...path: string[]): Promise<T> {
  return (await import(pathToFileURL(join(POLICY_ENGINE_TESTS, ...path)).href)) as T;
}

/** The shape of a netpol fixture case (test/kubernetes/netpol/fixture.ts). */
interface NetpolCase {
  readonly name: string;
  readonly suite: 'TCP' | 'UDP' | 'SCTP';
  readonly steps: readonly {
    readonly policies: readonly unknown[];
    readonly podLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    readonly namespaceLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  }[];
}

const NS_LABEL = 'kubernetes.io/metadata.name';
const NETPOL_NAMESPACES = ['x', 'y', 'z'] as const;
const NETPOL_PODS = ['a', 'b', 'c'] as const;
const NAMED_PORTS = [80, 81].flatMap((port) =>
  (['TCP', 'UDP', 'SCTP'] as const).map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, protocol: PROTOCOL[protocol], port })));

function netpolNamespace(name: string, extra: Readonly<Record<string, string>> = {}): Namespace {
  return { name, labels: { [NS_LABEL]: name, ns: name, ...extra } };
}

function netpolPod(namespace: string, name: string, extra: Readonly<Record<string, string>> = {}): Endpoint {
  const ip = `10.1.${NETPOL_NAMESPACES.indexOf(namespace as 'x') + 1}.${NETPOL_PODS.indexOf(name as 'a') + 1}`;
  return { kind: 'workload', namespace, name, labels: { pod: name, ...extra }, ips: [ip], namedPorts: NAMED_PORTS, node: 'node-1' };
}

/** The conformance cluster: namespaces x, y, z with pods a, b, c (10.1.<ns>.<pod>), serving 80 and 81 with upstream's port names. */
export const NETPOL_CLUSTER: TruthTableCluster = {
  name: 'netpol',
  namespaces: NETPOL_NAMESPACES.map((n) => netpolNamespace(n)),
  endpoints: NETPOL_NAMESPACES.flatMap((ns) => NETPOL_PODS.map((pod) => netpolPod(ns, pod))),
  ports: [80, 81],
};

/**
 * The upstream conformance cases, each step's NetworkPolicy documents compiled and its
 * label changes applied. SCTP suites keep their policies; the probes are TCP and UDP.
 */
export async function netpolCases(): Promise<TruthTableCase[]> {
  const files = [
    ['cases-selectors.ts', 'SELECTOR_CASES'],
    ['cases-ports.ts', 'PORT_CASES'],
    ['cases-lifecycle.ts', 'LIFECYCLE_CASES'],
    ['cases-egress.ts', 'EGRESS_CASES'],
    ['cases-udp-sctp.ts', 'UDP_SCTP_CASES'],
  ] as const;
  const cases: TruthTableCase[] = [];
  for (const [file, name] of files) {
    const module = await importFixture<Record<string, readonly NetpolCase[]>>('kubernetes', 'netpol', file);
    for (const c of module[name] ?? []) {
      const podLabels: Record<string, Record<string, string>> = {};
      const namespaceLabels: Record<string, Record<string, string>> = {};
      const steps: TruthTableStep[] = c.steps.map((step) => {
        // Label changes are cumulative over a case's steps, as upstream applies them to a live cluster.
        for (const [pod, labels] of Object.entries(step.podLabels ?? {})) podLabels[pod] = { ...podLabels[pod], ...labels };
        for (const [ns, labels] of Object.entries(step.namespaceLabels ?? {})) namespaceLabels[ns] = { ...namespaceLabels[ns], ...labels };
        return {
          policies: step.policies.map((doc) => compileNetworkPolicy(parseNetworkPolicy(doc))),
          endpoints: Object.entries(podLabels).map(([pod, labels]) => {
            const [ns, podName] = pod.split('/') as [string, string];
            return netpolPod(ns, podName, labels);
          }),
          namespaces: Object.entries(namespaceLabels).map(([ns, labels]) => netpolNamespace(ns, labels)),
        };
      });
      cases.push({ name: `${file} ${c.suite}: ${c.name}`, steps });
    }
  }
  return cases;
}

/** What calico/cluster.ts exports that the harness uses. */
interface CalicoClusterModule {
  readonly NAMESPACES: readonly Namespace[];
  readonly ENDPOINTS: readonly Endpoint[];
  compileYaml(text: string): { policies: Policy[]; tiers: Tier[]; networkSets: NetworkSet[] };
}

/** The seed's small cluster of the Calico and Cilium tests, with the ports their policies name. */
export async function seedCluster(): Promise<{ cluster: TruthTableCluster; compileYaml: CalicoClusterModule['compileYaml'] }> {
  const module = await importFixture<CalicoClusterModule>('calico', 'cluster.ts');
  return {
    cluster: { name: 'seed', namespaces: module.NAMESPACES, endpoints: module.ENDPOINTS, ports: [53, 80, 443, 5432, 8080], kubeApiServer: ['172.16.0.1'] },
    compileYaml: module.compileYaml,
  };
}

/** Each valid Calico fixture document set (test/calico/fixtures/valid/*.yaml) as a one-step case. */
export async function calicoFixtureCases(compileYaml: CalicoClusterModule['compileYaml']): Promise<TruthTableCase[]> {
  const dir = join(POLICY_ENGINE_TESTS, 'calico', 'fixtures', 'valid');
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((file) => {
    const step = { policies: [] as Policy[], tiers: [] as Tier[], networkSets: [] as NetworkSet[] };
    const skipped: string[] = [];
    // Documents the IR cannot express yet (Calico `services`) are left out, and named in the case.
    for (const [index, document] of readFileSync(join(dir, file), 'utf8').split(/^---$/m).entries()) {
      try {
        const compiled = compileYaml(document);
        step.policies.push(...compiled.policies);
        step.tiers.push(...compiled.tiers);
        step.networkSets.push(...compiled.networkSets);
      } catch (error) {
        if (!(error instanceof PolicyEngineError && error.code === POLICY_ERROR_CODE.UNSUPPORTED)) throw error;
        skipped.push(`document ${index + 1}`);
      }
    }
    return { name: `calico fixture ${file}${skipped.length === 0 ? '' : ` (without ${skipped.join(', ')}: unsupported)`}`, steps: [step] };
  });
}
