// `--agent-socket <path>` on the commands that talk to the agent, and the client it
// gives: the flag, else TWILL_API_SOCKET, else the agent's default (API.md).

import { posix } from 'node:path';

import { type Command } from 'commander';

import { type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { type AgentClient, createAgentClient } from './client.js';

/** The agent's default API socket. */
export const DEFAULT_API_SOCKET = '/run/twill/api.sock';

/** The environment variable naming the API socket when `--agent-socket` is not given. */
export const API_SOCKET_ENV = 'TWILL_API_SOCKET';

/** The parsed `--agent-socket` option. */
export interface AgentSocketOptions {
  readonly agentSocket?: string;
}

/** Adds `--agent-socket <path>` to `command`. */
export function addAgentSocketOption(command: Command): Command {
  return command.option('--agent-socket <path>', `the agent's API socket (default: $${API_SOCKET_ENV}, else ${DEFAULT_API_SOCKET})`);
}

/**
 * The API socket a command uses, absolute (relative paths against the working directory).
 * @throws {UsageError} for an empty `--agent-socket`.
 */
export function resolveAgentSocket(ctx: Pick<CommandContext, 'io' | 'command'>, options: AgentSocketOptions): string {
  if (options.agentSocket !== undefined && options.agentSocket.trim() === '') throw new UsageError(ctx.command, '--agent-socket', 'must be a path (got "")');
  const fromEnv = ctx.io.env[API_SOCKET_ENV];
  const path = options.agentSocket ?? (fromEnv === undefined || fromEnv === '' ? DEFAULT_API_SOCKET : fromEnv);
  return posix.resolve(ctx.io.cwd, path);
}

/** The agent client of a command run with `options` (the socket from {@link resolveAgentSocket}). */
export function agentClientFor(ctx: Pick<CommandContext, 'io' | 'command'>, options: AgentSocketOptions): AgentClient {
  const socketPath = resolveAgentSocket(ctx, options);
  return createAgentClient({ transport: ctx.io.agentTransport(socketPath), socketPath, command: ctx.command });
}
