// The flow observer: kernel verdicts to flow records (issue 13).
export { type Decision, FlowPolicies, policyLabel } from './attribution.js';
export { type FlowSink, type FlowMetrics, OBSERVER_LOST_SOURCE, type FlowObserverOptions, type FlowObserverStats, FlowObserver } from './observer.js';
export { type FlowEndpointInfo, type FlowPolicyView } from './policy-view.js';
