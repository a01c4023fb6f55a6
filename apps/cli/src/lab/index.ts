// The lab's public surface for the CLI's commands and the demonstration (lab/demo/).
// The model and the operations' contracts are in ports.ts.

export { LAB_ERROR_CODE, LabError, type LabErrorCode } from './errors.js';
export * from './ports.js';
export { LAB_ADDRESSING, LAB_NETNS_PREFIX } from './plan.js';
export { LAB_DEFAULTS, LAB_LIMITS, labNamespaces, labPods, labSpecFromOptions, validateLabSpec, type LabHostFacts, type LabUpOptions } from './spec.js';
export { labDown } from './sys/down.js';
export { findPod, labExec } from './sys/exec.js';
export { defaultLabDir, labHostFacts } from './sys/host-facts.js';
export { readLabState } from './sys/state-file.js';
export { labStatus } from './sys/status.js';
export { labUp } from './sys/up.js';
