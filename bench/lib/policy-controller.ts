// A twill-agent PolicyController for a benchmark: a memory datastore holding the given
// resources and this node's endpoint records, started and settled, its problems refused.
import { MemoryStore } from '@twill/ipam';

import { type AgentResource, PolicyController, resourceDatastoreOver, StoreEndpointRegistry } from '../../apps/agent/src/index.js';

/** An endpoint of this node, as the CNI plugin records it. */
export interface BenchEndpoint {
  /** The pod's name (also the container id). */
  readonly pod: string;
  readonly namespace: string;
  /** Its IPv4 address. */
  readonly ip: string;
  /** Its host-side interface. */
  readonly hostInterface: string;
  /** Its network namespace's name under /run/netns. */
  readonly netns: string;
}

/** A started controller and how to stop it (and close its datastore). */
export interface BenchPolicyController {
  readonly controller: PolicyController;
  stop(): Promise<void>;
}

/**
 * Starts a PolicyController over a memory datastore holding `resources` (namespaces, pods,
 * policies, in order) and `endpoints` on node `node` of `network`, programming
 * `dataplane` when given (the index alone otherwise).
 * @param pollMs the datastore's poll interval: slow when nothing changes after the start.
 * @throws when the controller reports problems (a policy it refused).
 */
export async function startBenchPolicyController(options: {
  readonly resources: readonly AgentResource[];
  readonly endpoints: readonly BenchEndpoint[];
  readonly node: string;
  readonly network: string;
  readonly pollMs: number;
  readonly dataplane?: ConstructorParameters<typeof PolicyController>[0]['dataplane'];
}): Promise<BenchPolicyController> {
  const store = new MemoryStore();
  const datastore = resourceDatastoreOver(store, { pollMs: options.pollMs });
  for (const resource of options.resources) await datastore.apply(resource);
  const registry = new StoreEndpointRegistry(store);
  for (const e of options.endpoints) {
    await registry.register({ network: options.network, containerId: e.pod, ifName: 'eth0', hostInterface: e.hostInterface, addresses: [`${e.ip}/32`], netns: `/run/netns/${e.netns}`, namespace: e.namespace, pod: e.pod, since: Date.now(), node: options.node });
  }
  const controller = new PolicyController({ datastore, dataplane: options.dataplane, nodeName: options.node, network: options.network });
  await controller.start();
  await controller.settled();
  const problems = controller.status().problems;
  if (problems.length > 0) throw new Error(`the policy controller has problems: ${JSON.stringify(problems)}`);
  return {
    controller,
    stop: async () => {
      await controller.stop();
      await datastore.close();
    },
  };
}
