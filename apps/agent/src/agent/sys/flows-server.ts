// The flow observer's server: @twill/flows' gRPC observer (Hubble's API) on the agent's
// flows socket, its folder made as the API socket's is (mode 0755), and on TCP when asked.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

import { type ObserverServer, serveObserver } from '@twill/flows';

import { type AgentFlowsServeOptions } from '../agent.js';

/**
 * Serves the observer on `options.socket` (mode 0660; a stale socket replaced, a live one
 * refused) and on `options.listen` when given.
 * @throws what serveObserver throws (a live server on the socket, a port in use), or a
 *   Node error when the folder cannot be made.
 */
export async function serveFlows(options: AgentFlowsServeOptions): Promise<ObserverServer> {
  await mkdir(dirname(options.socket), { recursive: true, mode: 0o755 });
  return serveObserver({ service: options.service, socket: options.socket, ...(options.listen === undefined ? {} : { listen: options.listen }) });
}
