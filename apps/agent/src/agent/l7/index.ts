// L7 policy (issue 14): the proxy (HTTP/1.1 and HTTP/2, gRPC, requests checked against L7
// rules), its policy source, and the tproxy redirect of the traffic L7 rules decide.
export {
  type L7Endpoint,
  type L7ConnectionDecision,
  type L7PolicySource,
  L7_VERDICT,
  type L7Verdict,
  type L7FlowRecord,
  type L7FlowSink,
  type L7ProxyLimits,
  L7_DEFAULT_LIMITS,
  type L7Logger,
  type L7UpstreamOptions,
  L7_DEFAULT_UPSTREAM,
} from './ports.js';
export { GRPC_STATUS, HTTP2_PREFACE } from './http-semantics.js';
export { L7_DEFAULT_UPGRADES, type L7ListenTarget, L7Proxy, type L7ProxyOptions, type L7ProxyStats } from './sys/proxy.js';
export { IndexL7PolicySource, type IndexL7PolicySourceOptions, type L7PolicyView } from './policy-source.js';
export {
  type L7AttachedEndpoint,
  type L7EgressTarget,
  type L7IngressTarget,
  type L7PortRange,
  type L7RedirectTargets,
  NO_L7_TARGETS,
  l7RedirectTargets,
  mergePortRanges,
  sameL7Targets,
} from './redirect-targets.js';
export { L7_REDIRECT_DEFAULTS, L7RedirectError, type L7RedirectOptions, renderL7Redirect, renderL7RedirectDelta } from './redirect.js';
export { L7Redirect, type L7RedirectKernelOptions, type L7RedirectStatus } from './sys/redirect.js';
export { type L7Service, type L7ServiceOptions, type L7ServiceStatus, startL7Service } from './sys/service.js';
