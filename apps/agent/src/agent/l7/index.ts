// The L7 proxy (issue 14): HTTP/1.1 and HTTP/2 (gRPC) requests checked against L7 rules.
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
export { type L7ListenTarget, L7Proxy, type L7ProxyOptions, type L7ProxyStats } from './sys/proxy.js';
