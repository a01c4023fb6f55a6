// The two calls the lab makes on an agent's API (apps/agent/API.md: HTTP/JSON on a Unix
// socket): writing resources and reading BGP sessions.

import { request } from 'node:http';

import { LAB_ERROR_CODE, LabError } from '../errors.js';
import { type LabResource } from '../plan.js';

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

function call(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      { socketPath, method, path, timeout: timeoutMs, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) });
          } catch (error) {
            reject(new Error(`${method} ${path}: the answer is not JSON: ${text.slice(0, 200)}`, { cause: error }));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const errorText = (answer: Answer): string => {
  const error = (answer.body as { error?: { message?: string; index?: number } } | undefined)?.error;
  return `HTTP ${answer.status}${error?.message === undefined ? '' : `: ${error.message}`}${error?.index === undefined ? '' : ` (item ${error.index})`}`;
};

/**
 * `POST /v1/resources` with `resources`: all validated, then all written.
 * @throws LabError `STEP_FAILED` naming the socket and the agent's error.
 */
export async function applyResources(socketPath: string, resources: readonly LabResource[]): Promise<void> {
  let answer: Answer;
  try {
    answer = await call(socketPath, 'POST', '/v1/resources', { items: resources }, 30_000);
  } catch (error) {
    throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `writing the lab's resources through ${socketPath}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (answer.status !== 200) throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `writing the lab's resources through ${socketPath}: ${errorText(answer)}`);
}

/** A BGP session as the agent reports it. */
export interface AgentBgpSession {
  readonly peer: string;
  readonly state: string;
}

/** `GET /v1/bgp/peers`: each peer's address and FSM state. @throws when the agent does not answer or has no BGP. */
export async function bgpSessions(socketPath: string, timeoutMs = 3_000): Promise<AgentBgpSession[]> {
  const answer = await call(socketPath, 'GET', '/v1/bgp/peers', undefined, timeoutMs);
  if (answer.status !== 200) throw new Error(errorText(answer));
  const peers = (answer.body as { peers?: { address?: unknown; peer?: unknown; state?: unknown }[] } | undefined)?.peers ?? [];
  return peers.map((p) => ({ peer: String(p.address ?? p.peer ?? '?'), state: String(p.state ?? '?') }));
}

/** Whether something answers HTTP on the socket (any status). */
export async function answers(socketPath: string): Promise<boolean> {
  try {
    await call(socketPath, 'GET', '/v1/status', undefined, 2_000);
    return true;
  } catch {
    return false;
  }
}
