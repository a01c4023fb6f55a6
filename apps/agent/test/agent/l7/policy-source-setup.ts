// Shared by the L7 policy-source and redirect-target tests: a real PolicyController (so a
// real PolicyIndex) over a memory datastore, fed policy YAML as a user applies it and the
// seed tutorial's pods (seed-fixtures.ts).
import { MemoryStore } from '@twill/ipam';
import { parseAllDocuments } from 'yaml';

import { PolicyController } from '../../../src/agent/controllers/policy.js';
import { resourceDatastoreOver, type ClosableResourceDatastore } from '../../../src/agent/datastore/index.js';
import { type L7RedirectTargets } from '../../../src/agent/l7/redirect-targets.js';
import { type AgentResource } from '../../../src/agent/ports.js';
import { StoreEndpointRegistry } from '../../../src/plugin/endpoints.js';
import { PODS } from './seed-fixtures.js';

/** The host-side interface of a pod's endpoint (`tw<name>`). */
export const hostInterfaceOf = (name: keyof typeof PODS): string => `tw${name.toLowerCase()}`;

/** Every document of a YAML text, as resources. */
export function resources(yaml: string): AgentResource[] {
  return parseAllDocuments(yaml).map((document) => document.toJS() as AgentResource);
}

export interface PolicySetup {
  readonly controller: PolicyController;
  readonly datastore: ClosableResourceDatastore;
  /** Every set of targets `onL7Targets` was given, in order. */
  readonly told: L7RedirectTargets[];
  /** Applies YAML documents and waits until the controller has programmed them. */
  apply(yaml: string): Promise<void>;
  /** Deletes a policy document and waits until the controller has programmed that. */
  deletePolicy(kind: string, name: string, namespace: string): Promise<void>;
  close(): Promise<void>;
}

// Waits for something the watch delivers within its poll interval (never a timing assert).
async function until(what: string, predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i += 1) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A started controller holding the pods and the policies of `yaml` (no dataplane: the index alone). */
export async function startPolicy(yaml: string): Promise<PolicySetup> {
  const store = new MemoryStore();
  const datastore = resourceDatastoreOver(store, { pollMs: 5 });
  const registry = new StoreEndpointRegistry(store);
  for (const name of ['default', 'shop']) await datastore.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { team: name } } });
  for (const [name, pod] of Object.entries(PODS) as [keyof typeof PODS, (typeof PODS)[keyof typeof PODS]][]) {
    const podName = name === 'shopFrontend' ? 'frontend' : name;
    await datastore.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace: pod.namespace, labels: { app: pod.app } }, spec: { containers: [{ name: 'c', image: 'img' }] } });
    await registry.register({
      network: 'k8s-pod-network', containerId: `c${name.toLowerCase()}`, ifName: 'eth0', hostInterface: hostInterfaceOf(name), addresses: [`${pod.ip}/32`],
      netns: `/run/netns/${name}`, namespace: pod.namespace, pod: podName, since: 1_000, node: pod.node,
    });
  }
  for (const resource of resources(yaml)) await datastore.apply(resource);
  const told: L7RedirectTargets[] = [];
  const controller = new PolicyController({ datastore, dataplane: undefined, nodeName: 'node-a', network: 'k8s-pod-network', onL7Targets: (targets) => {
    told.push(targets);
  } });
  await controller.start();
  const settle = async (what: string, before: number): Promise<void> => {
    // A watch delivery makes a new generation; then the controller's apply loop has run.
    const view = controller.l7View();
    await until(what, () => view.generation > before);
    await controller.settled();
  };
  return {
    controller,
    datastore,
    told,
    apply: async (text) => {
      const before = controller.l7View().generation;
      for (const resource of resources(text)) await datastore.apply(resource);
      await settle('the applied documents', before);
    },
    deletePolicy: async (kind, name, namespace) => {
      const before = controller.l7View().generation;
      await datastore.delete(kind, name, namespace);
      await settle('the deletion', before);
    },
    close: async () => {
      await controller.stop();
      await datastore.close();
    },
  };
}
