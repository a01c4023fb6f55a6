/**
 * `@twill/flows`: flow records with Hubble's field names in protobuf, flow filters, a
 * bounded ring of recent flows, and a Hubble-style gRPC observer service and client.
 * @packageDocumentation
 */
export * from './model.js';
export {
  FLOWS_ERROR_CODE,
  type FlowsErrorCode,
  FlowsError,
  FlowCodecError,
  FlowFilterError,
  FlowsArgumentError,
  ObserverCallError,
  ObserverServeError,
} from './errors.js';
export {
  encodeFlow,
  decodeFlow,
  encodeGetFlowsRequest,
  decodeGetFlowsRequest,
  encodeGetFlowsResponse,
  decodeGetFlowsResponse,
  encodeServerStatus,
  decodeServerStatus,
  encodeServerStatusRequest,
  decodeServerStatusRequest,
} from './codec/observer.js';
export { compileFlowFilters, MAX_FILTERS, MAX_FIELD_VALUES, MAX_NODE_PATTERN_LENGTH } from './filters/compile.js';
export { FlowRing, type FlowRingOptions, type LazyFlow, isLazyFlow, compareFlowTime, flowTimeOf } from './ring.js';
export {
  serveObserver,
  type ServeObserverOptions,
  type ObserverService,
  type ObserverServer,
  DEFAULT_OBSERVER_SOCKET,
  DEFAULT_MAX_STREAMS,
  MAX_REQUEST_BYTES,
} from './sys/server.js';
export { connectObserver, type ConnectObserverOptions, type ObserverClient, DEFAULT_FLOWS_TIMEOUT_MS } from './sys/client.js';
export { formatLatency } from './format.js';
