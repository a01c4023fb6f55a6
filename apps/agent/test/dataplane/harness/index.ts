// The truth-table harness both dataplane drivers run against (issue 8): a lab of pod
// namespaces around a node namespace, probes with real connections, and a run that
// compares the kernel with `evaluate` for every (from, to, port, protocol).
export { DataplaneLab, type HeldConnection, type LabPod, type LabPodSpec, type ProbeProtocol, type ProbeRequest } from './lab.js';
export { calicoFixtureCases, netpolCases, NETPOL_CLUSTER, POLICY_ENGINE_TESTS, seedCluster } from './fixtures.js';
export { seedCases } from './seed-cases.js';
export {
  allProbes,
  labPods,
  PROBE_TIMEOUTS,
  runTruthTable,
  type DataplaneFactory,
  type TruthTableCase,
  type TruthTableCluster,
  type TruthTableReport,
  type TruthTableStep,
} from './truth-table.js';
