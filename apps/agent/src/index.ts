/**
 * @twill/agent: twill-agent, the node daemon, and twill, the CNI plugin: the plugin's
 * handlers, plumbing and installers, and the policy dataplanes (nftables and eBPF).
 * @packageDocumentation
 */

// The twill CNI plugin: configuration, handlers, plumbing, the standalone entry, serving and installing.
export * from './plugin/index.js';

// The policy dataplanes (nftables and eBPF) behind one port.
export * from './dataplane/index.js';

// twill-agent: configuration, the composition root, the resource datastore, the
// controllers, metrics, health, install-cni and the command line.
export * from './agent/index.js';

// The flow observer (issue 13): the dataplane's verdicts as flow records, and what serves them.
export * from './agent/flows/index.js';
export { type AgentFlowsServeOptions, type AgentFlowsStatus } from './agent/agent.js';
export { serveFlows } from './agent/sys/flows-server.js';
