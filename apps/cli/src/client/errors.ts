// What goes wrong talking to the agent, as the CLI's one-line errors. Each names the
// agent's socket. Exit codes: 1 when the agent is missing, refuses, or failed; 2 when
// the agent says the request or a document in it is wrong (400 BadRequest, 422 Invalid).
// A named object that does not exist (404) is exit 1, as kubectl has it: the
// invocation was fine, the cluster does not hold the object.

import { CliError, EXIT, type ExitCode } from '../errors.js';
import { type AgentTransportError } from './transport.js';
import { type ApiErrorBody } from './types.js';

/** No answer from the agent: not running, not ours to reach, or too slow (exit 1). */
export class AgentUnreachableError extends CliError {
  override readonly name: string = 'AgentUnreachableError';

  constructor(
    command: string,
    /** The API socket tried. */
    readonly socketPath: string,
    /** The system's errno name, or `TIMEOUT`. */
    readonly code: string,
    cause: AgentTransportError,
  ) {
    super(command, '', unreachableText(socketPath, code, cause.message), EXIT.FAILED, { cause });
  }
}

function unreachableText(socket: string, code: string, message: string): string {
  switch (code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ENOTSOCK':
      return `no agent at ${socket} (is twill-agent running? --agent-socket or TWILL_API_SOCKET)`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${socket}: the agent's API is for root only (run twill with sudo)`;
    case 'TIMEOUT':
      return `the agent at ${socket} did not answer: ${message}`;
    default:
      return `cannot reach the agent at ${socket}: ${message}`;
  }
}

/** The agent answered with an error (API.md "Errors"). */
export class AgentApiError extends CliError {
  override readonly name: string = 'AgentApiError';

  constructor(
    command: string,
    readonly socketPath: string,
    /** The HTTP status. */
    readonly status: number,
    /** The API's error body. */
    readonly body: ApiErrorBody,
  ) {
    super(command, '', apiErrorText(socketPath, status, body), apiExitCode(status));
  }

  /** The API's error code: `NotFound`, `Invalid`, ... */
  get code(): string {
    return this.body.code;
  }
}

const apiExitCode = (status: number): ExitCode => (status === 400 || status === 422 ? EXIT.USAGE : EXIT.FAILED);

function apiErrorText(socket: string, status: number, body: ApiErrorBody): string {
  const field = body.field !== undefined && body.field !== '' && !body.message.includes(body.field) ? `${body.field}: ` : '';
  return `${field}${body.message} (agent at ${socket}: ${status} ${body.code})`;
}

/** The agent answered something the API does not say it answers (exit 1). */
export class AgentProtocolError extends CliError {
  override readonly name: string = 'AgentProtocolError';

  constructor(command: string, socketPath: string, what: string) {
    super(command, '', `the agent at ${socketPath} ${what}`, EXIT.FAILED);
  }
}
