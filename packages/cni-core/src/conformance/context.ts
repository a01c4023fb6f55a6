// What every check needs: the plugin path, the exec port (watched for stray stdout), the
// runtime, the namespace port, fresh container ids, and where checks and notes go.
import { type CniRuntime } from '../invoke/runtime.js';
import { type PluginExec } from '../invoke/types.js';
import { parseStdout } from './outcome.js';
import { type CheckStatus, type ConformanceCheck, type NamespacePort, type ThrowawayNetns } from './types.js';

/** The state of one run of the suite. */
export interface SuiteContext {
  /** Runs plugins (the caller's port, watched by {@link watchStdout}). */
  readonly exec: PluginExec;
  readonly path: readonly string[];
  readonly timeoutMs: number;
  readonly ifName: string;
  readonly namespaces: NamespacePort;
  /** A runtime over `exec` and the suite's result cache. */
  readonly runtime: CniRuntime;
  /** A runtime over `exec` with an empty cache of its own (for GC, which acts on every cached attachment). */
  isolatedRuntime(): CniRuntime;
  /** A container id not used before in this run. */
  nextContainerId(): string;
  /** Adds a decided check to the report. */
  record(check: ConformanceCheck): void;
  /** Adds a note (a problem outside the checks, such as a failed cleanup). */
  note(text: string): void;
  /** The stdout problems seen since the last call (`DEL printed "..."`), then forgets them. */
  takeStdoutProblems(): string[];
}

/** Builds a check. */
export function makeCheck(id: string, title: string, status: CheckStatus, reason: string, plugin?: string): ConformanceCheck {
  return { id, title, status, reason, ...(plugin !== undefined ? { plugin } : {}) };
}

/**
 * Wraps an exec port so that every call whose stdout is neither empty nor one JSON
 * document is remembered: the spec allows nothing else on stdout, whatever the command.
 */
export function watchStdout(inner: PluginExec): { exec: PluginExec; take(): string[] } {
  let problems: string[] = [];
  const decoder = new TextDecoder();
  return {
    exec: {
      find: (type, paths) => inner.find(type, paths),
      async exec(request) {
        const result = await inner.exec(request);
        const parsed = parseStdout(decoder.decode(result.stdout));
        if (parsed !== undefined && 'error' in parsed) {
          problems.push(`${request.env['CNI_COMMAND'] ?? '(no command)'} of ${request.file}: ${parsed.error}`);
        }
        return result;
      },
    },
    take() {
      const out = problems;
      problems = [];
      return out;
    },
  };
}

/** Runs `fn` with a fresh namespace and removes it afterwards, noting a failed removal. */
export async function withNetns<T>(ctx: SuiteContext, fn: (netns: ThrowawayNetns) => Promise<T>): Promise<T> {
  const netns = await ctx.namespaces.create();
  try {
    return await fn(netns);
  } finally {
    await removeNetns(ctx, netns);
  }
}

/** Removes a namespace, noting (not throwing) a failure. */
export async function removeNetns(ctx: SuiteContext, netns: ThrowawayNetns): Promise<void> {
  try {
    await ctx.namespaces.remove(netns);
  } catch (error) {
    ctx.note(`could not remove namespace ${netns.path}: ${(error as Error).message}`);
  }
}

/** An error as one line for a reason: message and, for CNI errors, details. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(describeError).join('; ');
  if (error instanceof Error) return error.message.replace(/\s+/g, ' ').trim();
  return String(error);
}
