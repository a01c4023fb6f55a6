// `twill observe`: flows from one observer (the agent's GetFlows, Hubble's API), or from
// every node of a lab merged by time. Past flows are sorted by time across the nodes and
// cut to `--last`/`--first` over all of them; followed flows are printed as they come.

import { posix } from 'node:path';

import { DEFAULT_OBSERVER_SOCKET, type Flow, type GetFlowsRequest, type GetFlowsResponse, type LostEvent } from '@twill/flows';

import { type CommandContext } from '../context.js';
import { CliError, EXIT, FailedError, UsageError } from '../errors.js';
import { LabError } from '../lab/errors.js';
import { type LabNode } from '../lab/ports.js';
import { decodeLabState } from '../lab/state.js';
import { LAB_STATE_FILE, observerSocketOf } from '../lab/plan.js';
import { observerFailure } from './errors.js';
import { msOf, observeRequest, type ObserveRequestOptions } from './filters.js';
import { compactLine, flowTable, FollowedTable, jsonLine, lostLine, type ObserveOutput } from './render.js';

/** The environment variable naming the observer when `--server` is not given. */
export const FLOWS_SERVER_ENV = 'TWILL_FLOWS_SERVER';

/** The options of `twill observe`, as parsed. */
export interface ObserveOptions extends ObserveRequestOptions {
  readonly server?: string;
  /** `--lab [DIR]`: true for the default lab folder. */
  readonly lab?: string | true;
  readonly output: ObserveOutput;
}

/** An observer to read: its gRPC target and, in a lab, its node and that node's agent API socket. */
export interface ObserverTarget {
  readonly target: string;
  readonly node?: string;
  /** The lab node's agent API socket (where its policies are read). */
  readonly apiSocket?: string;
}

/** A `--server` value: `unix:///path`, `unix:/path`, `unix:relative` or `host:port`. */
export function checkServerTarget(command: string, flag: string, target: string): string {
  const text = target.trim();
  if (text.startsWith('unix:')) {
    if (text.replace(/^unix:(\/\/)?/, '') === '') throw new UsageError(command, flag, `must name a socket: unix:///run/twill/observer.sock (got ${JSON.stringify(target)})`);
    return text;
  }
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]+)$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65535) throw new UsageError(command, flag, `must be unix:///PATH or HOST:PORT (got ${JSON.stringify(target)})`);
  return text;
}

/** The observer named by `--server`, else `$TWILL_FLOWS_SERVER`, else the agent's default socket. @throws {UsageError} for a value that is no target. */
export function serverTarget(ctx: Pick<CommandContext, 'io' | 'command'>, server: string | undefined): ObserverTarget {
  if (server !== undefined) return { target: checkServerTarget(ctx.command, '--server', server) };
  const fromEnv = ctx.io.env[FLOWS_SERVER_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { target: checkServerTarget(ctx.command, `$${FLOWS_SERVER_ENV}`, fromEnv) };
  return { target: `unix://${DEFAULT_OBSERVER_SOCKET}` };
}

/**
 * The nodes of the lab that `--lab [DIR]` names (true: the default folder), from its `lab.json`.
 * @throws {FailedError} when no lab is up in the folder, or its state cannot be read.
 */
export async function labNodes(ctx: CommandContext, lab: string | true, defaultLabDir: () => string): Promise<readonly LabNode[]> {
  const dir = posix.resolve(ctx.io.cwd, lab === true ? defaultLabDir() : lab);
  const file = posix.join(dir, LAB_STATE_FILE);
  if ((await ctx.io.files.kind(file)) !== 'file') throw new FailedError(ctx.command, '--lab', `no lab is up in ${dir} (twill lab up starts one)`);
  let state;
  try {
    state = decodeLabState(file, await ctx.io.files.readText(file)).lab;
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    throw new FailedError(ctx.command, '--lab', error.message, { cause: error });
  }
  if (state === undefined) throw new FailedError(ctx.command, '--lab', `the lab in ${dir} did not finish coming up (twill lab down, then up)`);
  return state.nodes;
}

/**
 * The observers `observe` reads: the lab's nodes with `--lab` ({@link labNodes}), else {@link serverTarget}.
 * @throws {UsageError} for `--server` with `--lab`; {@link FailedError} when no lab is up in the folder.
 */
export async function observerTargets(ctx: CommandContext, options: Pick<ObserveOptions, 'server' | 'lab'>, defaultLabDir: () => string): Promise<ObserverTarget[]> {
  if (options.server !== undefined && options.lab !== undefined) throw new UsageError(ctx.command, '--server', 'cannot be used with --lab (the lab names its nodes\' observers)');
  if (options.lab === undefined) return [serverTarget(ctx, options.server)];
  return (await labNodes(ctx, options.lab, defaultLabDir)).map((node) => ({ target: `unix://${observerSocketOf(node)}`, node: node.name, apiSocket: node.apiSocket }));
}

const timeOf = (response: GetFlowsResponse): number => msOf('flow' in response ? response.flow.time : response.time);

/** Reads one observer's whole answer (no follow). @throws the CLI's error naming the target. */
export async function readAll(ctx: CommandContext, target: ObserverTarget, request: GetFlowsRequest): Promise<GetFlowsResponse[]> {
  const client = ctx.io.observerClient(target.target);
  const responses: GetFlowsResponse[] = [];
  try {
    for await (const response of client.getFlows(request)) responses.push(response);
  } catch (error) {
    throw observerFailure(ctx.command, target.target, error);
  } finally {
    client.close();
  }
  return responses;
}

/**
 * The answers of several observers as one: in time order (a stable merge: one node's
 * order is kept), flows cut to the request's `number` over all of them, oldest
 * (`first`) or newest; lost-event notices kept in their place.
 */
export function mergeByTime(answers: readonly (readonly GetFlowsResponse[])[], request: Pick<GetFlowsRequest, 'number' | 'first'>): GetFlowsResponse[] {
  const all = answers.flatMap((list, node) => list.map((response, index) => ({ response, node, index })));
  all.sort((a, b) => timeOf(a.response) - timeOf(b.response) || a.node - b.node || a.index - b.index);
  const merged = all.map((a) => a.response);
  const limit = request.number;
  if (answers.length < 2 || limit === undefined || limit === 0) return merged;
  const flows = merged.filter((r) => 'flow' in r);
  if (flows.length <= limit) return merged;
  const kept = new Set<GetFlowsResponse>(request.first === true ? flows.slice(0, limit) : flows.slice(-limit));
  // A lost notice outside the kept span goes with the flows it was among.
  const firstKept = merged.findIndex((r) => kept.has(r));
  const lastKept = merged.findLastIndex((r) => kept.has(r));
  return merged.filter((r, i) => ('flow' in r ? kept.has(r) : i >= firstKept && i <= lastKept));
}

/** Where the flows and lost notices of a run go, by output format. */
function writer(ctx: CommandContext, output: ObserveOutput) {
  const { stdout, stderr } = ctx.io;
  const table = new FollowedTable(ctx.style.enabled ? ctx.style : undefined);
  const lost = (nodeName: string, event: LostEvent): void => {
    if (output === 'json') stderr.write(`twill: ${ctx.command}: warning: ${lostLine(nodeName, event).replace(/^EVENTS LOST: /, '')}`);
    else stdout.write(ctx.style.warn(lostLine(nodeName, event).trimEnd()) + '\n');
  };
  return {
    /** Past flows all at once: a table aligns on them. */
    batch(responses: readonly GetFlowsResponse[]): void {
      if (output === 'table') {
        const flows: Flow[] = [];
        const flush = (): void => {
          if (flows.length > 0) stdout.write(flowTable(flows.splice(0), ctx.style.enabled ? ctx.style : undefined));
        };
        for (const r of responses) {
          if ('flow' in r) flows.push(r.flow);
          else {
            flush();
            lost(r.nodeName, r.lostEvents);
          }
        }
        flush();
        return;
      }
      for (const r of responses) this.one(r);
    },
    one(response: GetFlowsResponse): void {
      if ('lostEvents' in response) lost(response.nodeName, response.lostEvents);
      else if (output === 'json') stdout.write(jsonLine(response.flow));
      else if (output === 'table') stdout.write(table.rows([response.flow]));
      else stdout.write(compactLine(response.flow, ctx.style.enabled ? ctx.style : undefined));
    },
  };
}

/**
 * Runs `twill observe`; returns the exit code: 0, also when Ctrl-C ends `--follow`; 1
 * when an observer of a lab could not be read while others were (the error is printed).
 * @throws the CLI's errors: bad flags (exit 2), an observer that cannot be reached (exit 1).
 */
export async function runObserve(ctx: CommandContext, options: ObserveOptions, defaultLabDir: () => string): Promise<number> {
  const request = observeRequest(ctx.command, options);
  const targets = await observerTargets(ctx, options, defaultLabDir);
  const out = writer(ctx, options.output);
  if (options.follow !== true) {
    const settled = await Promise.allSettled(targets.map((t) => readAll(ctx, t, request)));
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
    if (failures.length === targets.length) throw failures[0];
    out.batch(mergeByTime(settled.map((s) => (s.status === 'fulfilled' ? s.value : [])), request));
    return reportFailures(ctx, failures);
  }
  const controller = new AbortController();
  const stop = ctx.io.onInterrupt(() => controller.abort());
  try {
    const failures: unknown[] = [];
    await Promise.all(targets.map(async (target) => {
      const client = ctx.io.observerClient(target.target);
      try {
        for await (const response of client.getFlows(request, controller.signal)) out.one(response);
      } catch (error) {
        if (!controller.signal.aborted) failures.push(observerFailure(ctx.command, target.target, error));
      } finally {
        client.close();
      }
    }));
    if (failures.length === targets.length && !controller.signal.aborted) throw failures[0];
    return reportFailures(ctx, failures);
  } finally {
    stop();
  }
}

// Some observers of a lab answered and some did not: their errors on stderr, exit 1.
function reportFailures(ctx: CommandContext, failures: readonly unknown[]): number {
  for (const failure of failures) {
    if (failure instanceof CliError) ctx.io.stderr.write(`${failure.line()}\n`);
    else throw failure;
  }
  return failures.length === 0 ? EXIT.OK : EXIT.FAILED;
}
