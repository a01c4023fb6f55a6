// The agent client: what commands that talk to twill-agent use (API.md).

export { addAgentSocketOption, agentClientFor, API_SOCKET_ENV, DEFAULT_API_SOCKET, resolveAgentSocket, type AgentSocketOptions } from './agent-option.js';
export { createAgentClient, type AgentClient, type AgentClientOptions, type NamespaceOption } from './client.js';
export { AgentApiError, AgentProtocolError, AgentUnreachableError } from './errors.js';
export { AgentTransportError, type AgentAnswer, type AgentRequest, type AgentTransport } from './transport.js';
export type * from './types.js';
