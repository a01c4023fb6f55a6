// The agent client's port: one HTTP request on the agent's API socket and its answer.
// `sys/unix-http.ts` is the real one (node:http over a Unix socket); tests may pass
// their own through `CliIo.agentTransport`.

/** One request to the agent's API. */
export interface AgentRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** The path and query: `/v1/resources/ippools.projectcalico.org?namespace=x`. */
  readonly path: string;
  /** The JSON body, already encoded. */
  readonly body?: string;
}

/** The agent's answer: the HTTP status and the body as text. */
export interface AgentAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * Why a request got no answer at all (the socket is missing, refused, not ours to
 * open, or the agent did not answer in time). `code` is the system's errno name
 * (`ENOENT`, `ECONNREFUSED`, `EACCES`) or `TIMEOUT`.
 */
export class AgentTransportError extends Error {
  override readonly name = 'AgentTransportError';

  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Sends requests to one agent. */
export interface AgentTransport {
  /**
   * Sends `request` and resolves with whatever status the agent answered.
   * @throws {AgentTransportError} when no answer came.
   */
  request(request: AgentRequest): Promise<AgentAnswer>;
}
