/**
 * @twill/policy-engine: Kubernetes, Calico and Cilium network policies in one model:
 * parse, validate, evaluate with explanations.
 *
 * The model (`Policy`, `Rule`, `Selector`, ...) is the intermediate representation every
 * dialect compiles to; `evaluate` decides a flow against a `Snapshot` and says which
 * rule decided. See the README for the precedence model.
 * @packageDocumentation
 */
export {
  CalicoError,
  FieldError,
  FlowError,
  IdentitiesExhaustedError,
  POLICY_ERROR_CODE,
  PolicyEngineError,
  PolicyValidationError,
  SelectorSyntaxError,
  SnapshotError,
  type PolicyErrorCode,
} from './errors.js';

export {
  cidrContainsAddress,
  cidrContainsCidr,
  parseCidr,
  parseIpAddress,
  type Cidr,
  type IpAddress,
  type IpFamily,
} from './model/cidr.js';
export {
  ENDPOINT_KIND,
  formatEndpointRef,
  PROTOCOL,
  protocolName,
  protocolNumber,
  type Endpoint,
  type EndpointKind,
  type EndpointRef,
  type NamedPort,
  type Namespace,
  type NetworkSet,
  type ProtocolNumber,
  type ServiceAccount,
} from './model/endpoint.js';
export { FLOW_DIRECTION, type Flow, type FlowDirection, type FlowPeer } from './model/flow.js';
export { canonicalLabels, NAMESPACE_NAME_LABEL, type Labels } from './model/labels.js';
export {
  DEFAULT_TIER,
  DENY_PRECEDENCE_TIER,
  DIALECT,
  ENTITY,
  formatPolicyRef,
  KUBERNETES_POLICY_ORDER,
  RULE_ACTION,
  TIER_DEFAULT_ACTION,
  type Dialect,
  type DirectionRules,
  type Entity,
  type HttpRule,
  type IcmpMatch,
  type L7Rules,
  type PeerMatch,
  type Policy,
  type PolicyRef,
  type PortSpec,
  type Rule,
  type RuleAction,
  type RuleOrigin,
  type SideMatch,
  type Tier,
  type TierDefaultAction,
} from './model/policy.js';
export {
  allOf,
  anyOf,
  formatSelector,
  labelEquals,
  matchSelector,
  not,
  SELECT_ALL,
  SELECT_NONE,
  STRING_OPERATOR,
  SUBJECT_TYPE,
  type Selector,
  type SelectorSubject,
  type StringOperator,
  type SubjectType,
} from './model/selector.js';

export { compileNetworkPolicy } from './kubernetes/compile.js';
export { labelSelectorToSelector } from './kubernetes/label-selector.js';
export {
  NETWORK_POLICY_API_VERSION,
  parseNetworkPolicy,
  validateNetworkPolicy,
  type ParseNetworkPolicyOptions,
} from './kubernetes/parse.js';
export {
  effectivePolicyTypes,
  LABEL_SELECTOR_OPERATOR,
  type IpBlock,
  type KubernetesProtocol,
  type LabelSelector,
  type LabelSelectorOperator,
  type LabelSelectorRequirement,
  type NetworkPolicy,
  type NetworkPolicyEgressRule,
  type NetworkPolicyIngressRule,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type NetworkPolicySpec,
  type PolicyType,
} from './kubernetes/types.js';

export {
  CALICO_ACTIONS,
  CALICO_API_VERSIONS,
  CALICO_DEFAULT_TIER,
  CALICO_DEFAULT_TIER_ORDER,
  CALICO_KINDS,
  CALICO_NAMESPACE_LABEL,
  CALICO_NAMESPACE_LABEL_PREFIX,
  CALICO_NAMESPACE_NAME_LABEL,
  CALICO_ORCHESTRATOR_LABEL,
  CALICO_PROTOCOL_NUMBERS,
  CALICO_SERVICE_ACCOUNT_LABEL,
  CALICO_SERVICE_ACCOUNT_LABEL_PREFIX,
  calicoPolicySortName,
  compareCalicoOrder,
  compileCalicoDocuments,
  compileCalicoNetworkSet,
  compileCalicoPolicy,
  compileCalicoSelector,
  compileCalicoTier,
  createCalicoPolicyComparator,
  evaluateSelector as evaluateCalicoSelector,
  inferPolicyTypes as inferCalicoPolicyTypes,
  parseCalicoDocument,
  parseSelector as parseCalicoSelector,
  printSelector as printCalicoSelector,
  sortCalicoTiers,
  type CalicoAction,
  type CalicoApiVersion,
  type CalicoDocument,
  type CalicoEntityRule,
  type CalicoGlobalNetworkPolicy,
  type CalicoHttpMatch,
  type CalicoHttpPath,
  type CalicoIcmp,
  type CalicoKind,
  type CalicoMetadata,
  type CalicoNet,
  type CalicoNetworkPolicy,
  type CalicoNetworkSet,
  type CalicoPolicy,
  type CalicoPolicyType,
  type CalicoPort,
  type CalicoProtocol,
  type CalicoRule,
  type CalicoSelector,
  type CalicoSelectorContext,
  type CalicoServiceAccountMatch,
  type CalicoTier,
  type CompiledCalicoDocuments,
  type SelectorLabels as CalicoSelectorLabels,
  type SelectorNode as CalicoSelectorNode,
} from './calico/index.js';

export {
  CILIUM_API_VERSION,
  CILIUM_ENTITIES,
  CILIUM_KINDS,
  CILIUM_MAX_PORTS,
  CILIUM_NAMESPACE_LABEL,
  CILIUM_NAMESPACE_LABELS_PREFIX,
  CILIUM_PROTOCOLS,
  CILIUM_SERVICE_ACCOUNT_LABEL,
  ciliumHttpPattern,
  ciliumSelectorToSelector,
  compileCiliumPolicy,
  parseCiliumPolicy,
  validateCiliumPolicy,
  type CiliumCidrRule,
  type CiliumEndpointSelector,
  type CiliumEntity,
  type CiliumHttpRule,
  type CiliumIcmpField,
  type CiliumKind,
  type CiliumL7Rules,
  type CiliumPolicy,
  type CiliumPolicyRule,
  type CiliumPortProtocol,
  type CiliumPortRule,
  type CiliumProtocol,
  type CiliumRule,
  type ParseCiliumPolicyOptions,
} from './cilium/index.js';

export {
  evaluate,
  VERDICT_REASON,
  type DirectionVerdict,
  type RuleHit,
  type Verdict,
  type VerdictPeer,
  type VerdictReason,
} from './evaluate/evaluate.js';
export { createSnapshot, type Snapshot, type SnapshotInput } from './evaluate/snapshot.js';

export { identityLabels, IdentityAllocator } from './identity/allocator.js';
export { IpIdentityCache } from './identity/ip-cache.js';
export {
  FIRST_LABEL_IDENTITY,
  isReservedIdentity,
  LAST_LABEL_IDENTITY,
  RESERVED_IDENTITY,
  reservedIdentityName,
  type NumericIdentity,
} from './identity/reserved.js';

export { PolicyIndex, type PolicyIndexChange, type PolicyIndexOptions } from './engine/policy-index.js';
export type {
  EffectiveDirection,
  EffectiveRule,
  EffectiveTier,
  EndpointPolicy,
  EndpointPolicyChange,
  IpIdentityEntry,
  LocalMatch,
  PeerAtom,
  PolicyIndexDiff,
  RemoteMatch,
  ResolvedPort,
} from './engine/types.js';
export type { IndexVerdict, IndexDirectionVerdict } from './engine/index-evaluate.js';
export { PolicyIndexError } from './engine/errors.js';
export { lintPolicies, LINT_FINDING_KIND, type LintFinding, type LintFindingKind, type LintInput } from './lint/lint.js';

// The nftables dataplane's pure half (rules → chains, sets and `nft -f` scripts).
export {
  buildTableModel,
  checkLogGroup,
  compileEndpointNft,
  directionChain,
  DROP_KIND,
  dropLogPrefix,
  dropStatement,
  EMPTY_TABLE_MODEL,
  endpointHash,
  endpointStem,
  failClosedEndpointNft,
  identityAddresses,
  NFT_BASE,
  NFT_FAMILY,
  NFT_TABLE,
  NftablesNameError,
  parseDropLogPrefix,
  quoteInterface,
  renderDeleteTable,
  renderDelta,
  renderFullSync,
  tierChain,
  type AttachedEndpointNft,
  type CompileEndpointOptions,
  type DropKind,
  type DropLogPrefix,
  type EndpointNft,
  type IdentityAddresses,
  type NftKernelState,
  type NftSet,
  type NftTableModel,
} from './dataplane/nftables/index.js';

// The eBPF dataplane's map generation (issue 8): policy map and ipcache entries from effective rules.
export {
  BPF_ANY_IDENTITY,
  BPF_DEFAULT_RULE,
  BPF_VERDICT,
  BpfMapCompiler,
  bpfEntryKey,
  diffBpfEntries,
  FIRST_PEER_CLASS,
  keyPort,
  lookupBpfVerdict,
  lookupPeerClass,
  lookupPolicyEntry,
  rangeToPrefixes,
  type BpfEndpointChange,
  type BpfEntryDiff,
  type BpfMapDiff,
  type BpfPacket,
  type BpfPolicyEntry,
  type BpfRuleRef,
  type IpcacheEntry,
  type PeerClass,
  type PortPrefix,
} from './dataplane/bpf/index.js';

// Resource documents of any dialect (chosen by apiVersion and kind), and the Namespace and Pod objects policies select.
export {
  compileResourceDocument,
  endpointFromPod,
  endpointFromRecord,
  endpointKeyOfRecord,
  endpointsFromRecords,
  isNewerRecord,
  namespaceFromResource,
  RESOURCE_DOCUMENT_KINDS,
  type CompiledResourceDocument,
  type EndpointFromPodOptions,
  type EndpointKey,
  type EndpointRecordInput,
  type RecordEndpoint,
} from './documents/index.js';
