// A lab model for the demonstration's tests that need no lab: the pods `lab up` would
// create for the demonstration's roles, with made-up addresses (10.244.<node>.<n>).

import { type LabPod } from '../../src/lab/ports.js';
import { demoLabPods } from '../../src/lab/demo/roles.js';

/** The pods of a lab of `nodes` × `podsPerNode` demonstration pods. */
export function demoLabModel(nodes: number, podsPerNode: number): LabPod[] {
  return demoLabPods(nodes, podsPerNode).map((spec, i) => ({
    name: spec.name,
    namespace: spec.namespace,
    node: `node-${spec.node + 1}`,
    netns: `twl-test-pod-${i}`,
    address: `10.244.${spec.node}.${10 + i}`,
    labels: spec.labels,
    containerId: `c${i}`,
  }));
}
