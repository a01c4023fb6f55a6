// twill-agent on the Kubernetes datastore end to end, as root: the real `twill-agent`
// executable runs in a scratch node namespace against the Kubernetes API test server
// (reached through a relay, see agent-node.ts); pods are scratch namespaces added by a
// runtime through the installed conflist and the native forwarder, each with its Pod on
// the API server. Policies of the three dialects are created, changed and deleted on the
// API server, a Pod's labels change there, and each change is probed on the dataplane.
import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { type CniRuntime, type NetworkConfigList } from '@twill/cni-core';
import { calicoCrds } from '../../src/agent/manifests/calico-crds.js';
import { ciliumCrds } from '../../src/agent/manifests/cilium-crds.js';
import { twillCrds } from '../../src/agent/manifests/twill-crds.js';
import { NodeLab, podIp, startTcpServer, tcpConnect } from '../plugin/node-lab.js';
import { KubernetesAgentNode, relayApiInto } from './agent-node.js';
import { type KubernetesTestServer, startKubernetesTestServer } from './api-server.js';

const reason = rootSkipReason();
const DENIED = /^(timeout|E[A-Z]+)$/u;

function pod(name: string, labels: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', labels },
    spec: { nodeName: 'node-a', containers: [{ name: 'app', image: 'registry.local/app:1' }] },
  };
}

// Waits until `from` reaches or is refused by web:8080 as expected, then checks the other client.
type Probe = (from: 'client' | 'other') => Promise<string>;

describe.skipIf(reason)(`twill-agent on the Kubernetes datastore, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let api: KubernetesTestServer;
  let lab: NodeLab;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeEach(async () => {
    api = await startKubernetesTestServer({ bookmarkMs: 500 });
    cleanups.push(() => api.close());
    lab = await NodeLab.create();
    cleanups.push(() => lab.cleanup());
    for (const crd of [...twillCrds(), ...calicoCrds(), ...ciliumCrds()]) await api.create(crd);
    for (const name of ['twill-system', 'shop']) await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    // kubelet registers the Node; the agent writes Calico's annotations on it.
    await api.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a', labels: { 'kubernetes.io/hostname': 'node-a' } } });
    cleanups.push(await relayApiInto(api, lab.node, lab.dir));
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  for (const dataplane of ['nftables', 'ebpf'] as const) {
    it(
      `${dataplane}: pods get their Pod's IP annotations, a stale ADD fails naming the Pod, and NetworkPolicy, Calico GlobalNetworkPolicy, CiliumNetworkPolicy and a Pod's labels changed on the API server reach the dataplane`,
      { timeout: 600_000 },
      async () => {
        const agent = await KubernetesAgentNode.start(lab, api, { nodeName: 'node-a', dataplane });
        cleanups.push(async () => void (await agent.stop()));
        const list: NetworkConfigList = await agent.conflist();
        const runtime: CniRuntime = lab.runtime();

        // The Pods first, as the API server has them before kubelet asks for their sandboxes.
        await api.create(pod('web', { app: 'web' }));
        await api.create(pod('client', { role: 'client' }));
        await api.create(pod('other', { role: 'other' }));
        const names = ['web', 'client', 'other'] as const;
        const netns = names.map(() => lab.scratch.netns());
        const results = await Promise.all(
          names.map((name, i) => runtime.add(list, { containerId: `sandbox-${name}`, netns: netns[i]!.path, ifName: 'eth0', args: [['K8S_POD_NAMESPACE', 'shop'], ['K8S_POD_NAME', name]] })),
        );
        const ips = results.map((result) => podIp(result));
        expect(new Set(ips).size).toBe(3);

        // Calico's annotations on each Pod, and IPAM's blocks on the API server.
        for (const [i, name] of names.entries()) {
          expect(api.read('v1', 'Pod', name, 'shop')?.metadata.annotations).toEqual({
            'cni.projectcalico.org/podIP': `${ips[i]}/32`,
            'cni.projectcalico.org/podIPs': `${ips[i]}/32`,
            'cni.projectcalico.org/containerID': `sandbox-${name}`,
          });
        }
        const blocks = await api.kubeConfig().makeApiClient((await import('@kubernetes/client-node')).CustomObjectsApi).listClusterCustomObject({ group: 'twill.io', version: 'v1alpha1', plural: 'ipamblocks' });
        expect((blocks as { items: { spec: { cidr: string; affinity: string } }[] }).items.map((block) => [block.spec.cidr, block.spec.affinity])).toEqual([[expect.stringMatching(/^10\.244\.\d+\.\d+\/26$/u), 'host:node-a']]);

        // A sandbox for a Pod the API server does not have: refused, nothing attached.
        const stale = lab.scratch.netns();
        await expect(runtime.add(list, { containerId: 'sandbox-gone', netns: stale.path, ifName: 'eth0', args: [['K8S_POD_NAMESPACE', 'shop'], ['K8S_POD_NAME', 'gone']] })).rejects.toMatchObject({
          code: 123,
          msg: expect.stringContaining('twill: pod shop/gone does not exist in the Kubernetes API') as unknown as string,
        });
        const status = JSON.parse((await agent.http('/v1/status')).body) as { datastore: unknown; endpoints: { containerId: string }[] };
        expect(status.datastore).toEqual({ type: 'kubernetes', location: api.url, path: api.url, open: true });
        expect(status.endpoints.map((e) => e.containerId).sort()).toEqual(['sandbox-client', 'sandbox-other', 'sandbox-web']);

        cleanups.push(await startTcpServer(netns[0]!, 8080));
        const probe: Probe = (from) => tcpConnect(netns[from === 'client' ? 1 : 2]!, ips[0]!, 8080);
        const expectBoth = async (client: 'allowed' | 'denied', other: 'allowed' | 'denied'): Promise<void> => {
          const matches = (answer: string, want: 'allowed' | 'denied'): boolean => (want === 'allowed' ? answer === 'hello from ' + netns[0]!.name : DENIED.test(answer));
          await vi.waitFor(async () => expect({ client: matches(await probe('client'), client), other: matches(await probe('other'), other) }).toEqual({ client: true, other: true }), {
            timeout: 60_000,
            interval: 250,
          });
        };
        await expectBoth('allowed', 'allowed');

        // networking.k8s.io/v1 NetworkPolicy: created, changed, a Pod's labels changed, deleted.
        const netpol = (role: string) => ({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'web-ingress', namespace: 'shop' },
          spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { role } } }] }] },
        });
        await api.create(netpol('client'));
        await expectBoth('allowed', 'denied');
        await api.update(netpol('other'));
        await expectBoth('denied', 'allowed');
        const relabel = async (name: string, labels: Record<string, string>): Promise<void> => {
          const current = api.read('v1', 'Pod', name, 'shop')!;
          await api.update({ ...current, metadata: { ...current.metadata, labels } });
        };
        await relabel('client', { role: 'other' });
        await expectBoth('allowed', 'allowed');
        await relabel('client', { role: 'client' });
        await expectBoth('denied', 'allowed');
        await api.remove('networking.k8s.io/v1', 'NetworkPolicy', 'web-ingress', 'shop');
        await expectBoth('allowed', 'allowed');

        // Calico's GlobalNetworkPolicy (crd.projectcalico.org/v1).
        const gnp = (selector: string) => ({
          apiVersion: 'crd.projectcalico.org/v1',
          kind: 'GlobalNetworkPolicy',
          metadata: { name: 'web-ingress' },
          spec: { selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector } }] },
        });
        await api.create(gnp("role == 'client'"));
        await expectBoth('allowed', 'denied');
        await api.update(gnp("role == 'nobody'"));
        await expectBoth('denied', 'denied');
        await api.remove('crd.projectcalico.org/v1', 'GlobalNetworkPolicy', 'web-ingress');
        await expectBoth('allowed', 'allowed');

        // Cilium's CiliumNetworkPolicy (cilium.io/v2).
        const cnp = (role: string) => ({
          apiVersion: 'cilium.io/v2',
          kind: 'CiliumNetworkPolicy',
          metadata: { name: 'web-ingress', namespace: 'shop' },
          spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { role } }] }] },
        });
        await api.create(cnp('client'));
        await expectBoth('allowed', 'denied');
        await api.update(cnp('other'));
        await expectBoth('denied', 'allowed');
        await api.remove('cilium.io/v2', 'CiliumNetworkPolicy', 'web-ingress', 'shop');
        await expectBoth('allowed', 'allowed');

        // DEL removes the Pod's annotations with the attachment.
        await runtime.del(list, { containerId: 'sandbox-other', netns: netns[2]!.path, ifName: 'eth0', args: [['K8S_POD_NAMESPACE', 'shop'], ['K8S_POD_NAME', 'other']] });
        expect(api.read('v1', 'Pod', 'other', 'shop')?.metadata.annotations ?? {}).toEqual({});

        expect(await agent.stop()).toBe(0);
      },
    );
  }
});
