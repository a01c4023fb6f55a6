// Explaining a verdict: probe JSON (what decided, where the policy is stored) and the
// snapshot of a datastore's listed objects, shared by the CLI's `policy simulate` and
// `policy explain` and the agent's dashboard.
export {
  buildLiveSnapshot,
  compilePolicyObjects,
  objectText,
  snapshotErrorPlace,
  type CompiledObjects,
  type ListedObject,
  type LiveObjects,
  type LiveSnapshot,
  type LiveSnapshotConflict,
  type LiveSnapshotResult,
  type SnapshotErrorPlace,
  type StoredObjectLike,
  type StoredObjectMetadata,
} from './live-snapshot.js';
export {
  decidedByJson,
  decidingDirection,
  evaluateProbe,
  policyJson,
  type DecidedByJson,
  type PolicyJson,
  type PolicyLocator,
  type ProbeJson,
  type ProbePod,
  type ProbeProtocol,
  type ProbeRequest,
} from './probe-json.js';
