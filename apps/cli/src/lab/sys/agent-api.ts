// The calls the lab makes on an agent's API (apps/agent/API.md), through the CLI's agent
// client: writing resources, reading BGP sessions and the L7 proxy's state, and whether
// the API answers yet.

import { type AgentClient, createAgentClient, type L7StatusView } from '../../client/index.js';
import { unixHttpTransport } from '../../client/sys/unix-http.js';
import { LAB_ERROR_CODE, LabError } from '../errors.js';
import { type LabResource } from '../plan.js';

const clientOf = (socketPath: string, timeoutMs: number): AgentClient => createAgentClient({ transport: unixHttpTransport(socketPath, { timeoutMs }), socketPath, command: 'lab' });

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * `POST /v1/resources` with `resources`: all validated, then all written.
 * @throws LabError `STEP_FAILED` naming the socket and the agent's error.
 */
export async function applyResources(socketPath: string, resources: readonly LabResource[]): Promise<void> {
  try {
    await clientOf(socketPath, 30_000).apply(resources);
  } catch (error) {
    throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `writing the lab's resources through ${socketPath}: ${messageOf(error)}`, { cause: error });
  }
}

/** A BGP session as the agent reports it. */
export interface AgentBgpSession {
  readonly peer: string;
  readonly state: string;
}

/** `GET /v1/bgp/peers`: each peer's address and FSM state. @throws the client's error when the agent does not answer or runs no BGP. */
export async function bgpSessions(socketPath: string, timeoutMs = 3_000): Promise<AgentBgpSession[]> {
  const status = await clientOf(socketPath, timeoutMs).bgpPeers();
  return status.peers.map((p) => ({ peer: p.address, state: p.state }));
}

/** `GET /v1/status`'s `l7` part: the agent's L7 proxy; undefined from an agent older than issue 14. @throws the client's error when the agent does not answer. */
export async function l7Status(socketPath: string, timeoutMs = 3_000): Promise<L7StatusView | undefined> {
  return (await clientOf(socketPath, timeoutMs).status()).l7;
}

/** Whether the agent's API answers `GET /v1/status`. */
export async function answers(socketPath: string): Promise<boolean> {
  try {
    await clientOf(socketPath, 2_000).status();
    return true;
  } catch {
    return false;
  }
}
