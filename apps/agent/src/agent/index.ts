// twill-agent, the node daemon. Re-exported by name from the package root.

// The contracts between the agent's parts.
export {
  type ResourceMetadata,
  type AgentResource,
  type StoredResource,
  type ResourceKindId,
  type ResourceEvent,
  type ApplyOutcome,
  type ResourceWatch,
  type ResourceDatastore,
  type EntryEvent,
  type AgentController,
  type AgentMetrics,
  type AgentLogger,
} from './ports.js';

// Configuration: the file, the flags, the conflist install-cni writes.
export {
  AGENT_DATAPLANES,
  type AgentDataplane,
  AGENT_ROUTING_MODES,
  type AgentRouting,
  AGENT_DEFAULTS,
  type ListenAddress,
  type AgentCniConfig,
  type AgentFlowsConfig,
  type AgentL7Config,
  type AgentConfig,
  type AgentFlags,
  AGENT_FLAG_NAMES,
  AgentConfigError,
  parseListenAddress,
  parseAgentConfigText,
  type ResolveAgentConfigOptions,
  resolveAgentConfig,
  CONFLIST_CNI_VERSION,
  twillConflist,
} from './config.js';

// The composition root, metrics and health.
export {
  type AgentDatastore,
  type AgentContext,
  type AgentEndpointHooks,
  type AgentControllers,
  type AgentServeOptions,
  type AgentPorts,
  type AgentStatus,
  type AgentL7Status,
  type AgentL7StartOptions,
  type RunningAgent,
  startAgent,
} from './agent.js';
export {
  AGENT_METRIC_NAMES,
  BGP_PEER_STATES,
  type PrometheusAgentMetricsOptions,
  PrometheusAgentMetrics,
  instrumentPluginHandlers,
} from './metrics.js';
export { type ReadinessPart, type HealthSource, type HttpAnswer, HEALTH_PATHS, readinessReport, answerHealthRequest } from './health.js';

// The API (API.md): the pure router and its parts.
export {
  type ApiRequest,
  type ApiAnswer,
  type ApiRoute,
  type RouteCall,
  ApiQuery,
  jsonAnswer,
  errorAnswer,
  parseJsonBody,
  API_ERROR,
  type ApiErrorCode,
  ApiError,
  toApiError,
  findJsonSyntaxError,
  type JsonSyntaxError,
  type ApiBgpSource,
  type ApiSource,
  type ApiUnavailable,
  type ApplyResult,
  type BlockView,
  API_ROUTES,
  answerApiRequest,
} from './api/index.js';

// The resource datastore.
export {
  RESOURCE_ERROR_CODE,
  ResourceConflictError,
  ResourceContendedError,
  ResourceDatastoreError,
  ResourceValidationError,
  UnknownResourceKindError,
  type ResourceErrorCode,
  type ResourceFieldProblem,
  kindById,
  POLICY_DIALECT,
  RESOURCE_KIND_IDS,
  RESOURCE_KINDS,
  resolveKind,
  type PolicyDialect,
  type ResourceKind,
  resourceKey,
  resourcePrefix,
  RESOURCE_ROOT,
  RESOURCE_NAMESPACE_ROOT,
  CLUSTER_SEGMENT,
  DEFAULT_NAMESPACE,
  DEFAULT_POLL_MS,
  MAX_AS_NUMBER,
  BGP_CONFIGURATION_DEFAULTS,
  IP_POOL_BLOCK_SIZE_DEFAULTS,
  effectiveBgpConfiguration,
  ipPoolBlockSize,
  calicoSpec,
  type CalicoNodeSpec,
  type BgpPeerSpec,
  type BgpConfigurationSpec,
  type IpPoolSpec,
  type EffectiveBgpConfiguration,
  validateResource,
  type ValidatedResource,
  resourceDatastoreOver,
  type ClosableResourceDatastore,
  type ResourceDatastoreOptions,
  openResourceDatastore,
  type OpenResourceDatastoreOptions,
} from './datastore/index.js';

// The controllers.
export { type PolicyControllerOptions, type PolicyControllerStatus, PolicyControllerStoppedError, PolicyController } from './controllers/policy.js';
export { type NodeAddresses, type NodeControllerOptions, NodeController } from './controllers/nodes.js';
export { type RouteControllerOptions, type RouteControllerStatus, RouteController } from './controllers/routes.js';
export { BgpConfigurationError, type BgpControllerOptions, type BgpControllerStatus, type BgpRouteFilter, type BgpRouteView, BgpController } from './controllers/bgp.js';
export { NODE_KIND, RTPROT_TWILL, RTPROT_BGP, type KernelRoute, type RouteTable, type RoutingMode } from './controllers/route-model.js';
export { type KernelFibSinkOptions, KernelFibSink } from './controllers/route-fib.js';

// twill's own check of a node.
export {
  type NodeProblemKind,
  NODE_PROBLEM_KINDS,
  type NodeProblem,
  type NodeCheckReport,
  type NodeLink,
  type NodeRoute,
  type NodeCheckNetwork,
  type CheckNodeOptions,
  type NodeKernelReader,
  type NodeKernelState,
  checkNode,
  nodeCheckNetwork,
} from './node-check.js';

// The process: the real parts, the kernel, HTTP, install-cni and the command line.
export { type HealthServer, listenHealth } from './sys/http.js';
export { MAX_API_BODY_BYTES, type ApiServer, listenApi } from './sys/api-server.js';
export { type InstallCniOptions, type InstalledCni, writeFileAtomically, installCni } from './sys/install-cni.js';
export { type KernelRouteTableOptions, type KernelRouteTable, openKernelRouteTable } from './sys/kernel-routes.js';
export { type BgpTransportOptions, createBgpTransport } from './sys/bgp-transport.js';
export { type NodeKernelReaderOptions, nodeKernelReader } from './sys/node-check-kernel.js';
export { nodeAgentPorts, type LoadAgentConfigOptions, loadAgentConfig, type AgentProcessIo, runAgent, agentProgram, agentMain } from './sys/main.js';

// L7 policy (issue 14): the proxy (HTTP/1.1 and HTTP/2, gRPC, per-request policy), its
// policy source over the policy index, and the tproxy redirect.
export {
  L7Proxy,
  type L7ProxyOptions,
  type L7ProxyStats,
  type L7ListenTarget,
  type L7PolicySource,
  type L7ConnectionDecision,
  type L7Endpoint,
  type L7FlowRecord,
  type L7FlowSink,
  L7_VERDICT,
  type L7Verdict,
  type L7ProxyLimits,
  L7_DEFAULT_LIMITS,
  type L7Logger,
  GRPC_STATUS,
  HTTP2_PREFACE,
  type L7UpstreamOptions,
  L7_DEFAULT_UPSTREAM,
  IndexL7PolicySource,
  type IndexL7PolicySourceOptions,
  type L7PolicyView,
  type L7RedirectTargets,
  type L7IngressTarget,
  type L7EgressTarget,
  type L7PortRange,
  NO_L7_TARGETS,
  l7RedirectTargets,
  L7_REDIRECT_DEFAULTS,
  L7RedirectError,
  L7Redirect,
  type L7RedirectKernelOptions,
  type L7RedirectStatus,
  startL7Service,
  type L7Service,
  type L7ServiceOptions,
  type L7ServiceStatus,
} from './l7/index.js';
