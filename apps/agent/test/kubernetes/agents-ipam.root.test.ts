// Three nodes, one API server: three real twill-agents on the Kubernetes datastore, each
// in its own scratch node namespace, add pods at the same time; each node claims its own
// IPAM block on the API server (compare-and-swap on resourceVersion), none shared, no
// address given twice.
import * as k8s from '@kubernetes/client-node';
import { rootSkipReason } from '@twill/sys/testing';
import ipaddr from 'ipaddr.js';
import { afterEach, describe, expect, it } from 'vitest';

import { twillCrds } from '../../src/agent/manifests/twill-crds.js';
import { NodeLab, podIp } from '../plugin/node-lab.js';
import { KubernetesAgentNode, relayApiInto } from './agent-node.js';
import { startKubernetesTestServer } from './api-server.js';

const reason = rootSkipReason();
const NODES = ['node-a', 'node-b', 'node-c'] as const;
const PODS_PER_NODE = 3;

interface BlockObject {
  readonly spec: { readonly cidr: string; readonly affinity?: string };
}

describe.skipIf(reason)(`three twill-agents on one Kubernetes API server, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('claim one block each while adding pods at once: no block shared, every address in its node\'s block and given once', { timeout: 600_000 }, async () => {
    const api = await startKubernetesTestServer({ bookmarkMs: 500 });
    cleanups.push(() => api.close());
    for (const crd of twillCrds()) await api.create(crd);
    for (const name of ['twill-system', 'shop']) await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const labs: NodeLab[] = [];
    for (const node of NODES) {
      await api.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: node } });
      const lab = await NodeLab.create();
      cleanups.push(() => lab.cleanup());
      cleanups.push(await relayApiInto(api, lab.node, lab.dir));
      labs.push(lab);
      for (let i = 0; i < PODS_PER_NODE; i += 1) {
        await api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${node}-p${i}`, namespace: 'shop' }, spec: { nodeName: node, containers: [{ name: 'app', image: 'app:1' }] } });
      }
    }
    const agents = await Promise.all(labs.map((lab, i) => KubernetesAgentNode.start(lab, api, { nodeName: NODES[i]!, dataplane: 'nftables' })));
    for (const agent of agents) cleanups.push(async () => void (await agent.stop()));

    // Every pod of every node at once.
    const added = await Promise.all(
      agents.flatMap((agent, n) =>
        Array.from({ length: PODS_PER_NODE }, async (_, i) => {
          const list = await agent.conflist();
          const result = await agent.lab.runtime().add(list, {
            containerId: `${NODES[n]}-sandbox-${i}`,
            netns: agent.lab.scratch.netns().path,
            ifName: 'eth0',
            args: [['K8S_POD_NAMESPACE', 'shop'], ['K8S_POD_NAME', `${NODES[n]}-p${i}`]],
          });
          return { node: NODES[n], ip: podIp(result) };
        }),
      ),
    );
    expect(new Set(added.map((pod) => pod.ip)).size).toBe(NODES.length * PODS_PER_NODE);

    const blocks = ((await api.kubeConfig().makeApiClient(k8s.CustomObjectsApi).listClusterCustomObject({ group: 'twill.io', version: 'v1alpha1', plural: 'ipamblocks' })) as { items: BlockObject[] }).items;
    // One block per node (three pods fit in a /26), each with its own affinity.
    expect(blocks.map((block) => block.spec.affinity).sort()).toEqual(NODES.map((node) => `host:${node}`));
    expect(new Set(blocks.map((block) => block.spec.cidr)).size).toBe(NODES.length);
    for (const pod of added) {
      const block = blocks.find((b) => b.spec.affinity === `host:${pod.node}`)!;
      expect({ pod: pod.ip, inItsNodesBlock: ipaddr.parse(pod.ip).match(ipaddr.parseCIDR(block.spec.cidr)) }).toEqual({ pod: pod.ip, inItsNodesBlock: true });
    }
    for (const agent of agents) expect(await agent.stop()).toBe(0);
  });
});
