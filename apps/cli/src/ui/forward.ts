// `twill ui --lab`: each lab node's dashboard listens on its own network namespace's
// loopback, out of a browser's reach; this forwards one port of the host's loopback to
// each (as `kubectl port-forward` does), prints them, opens the first, and runs until
// SIGINT or SIGTERM. A node whose dashboard is off, or whose agent or namespace cannot be
// reached, is said on its line and not forwarded. The sockets are sys/forwarder.ts's.
import { parseIpAddress } from '@twill/cni-core';

import { agentClientFor } from '../client/index.js';
import { type CommandContext } from '../context.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { type LabNode } from '../lab/ports.js';
import { uiUrlOrReason } from './status.js';

/** A TCP address inside a network namespace: where a forward connects to. */
export interface ForwardTarget {
  /** The network namespace's name (`/run/netns/<name>`). */
  readonly netns: string;
  /** An IP address in it. */
  readonly host: string;
  /** The TCP port there. */
  readonly port: number;
}

/** Options of {@link UiForwarder.listen}. */
export interface ForwardListenOptions {
  /** The host address listened on (`127.0.0.1`). */
  readonly host: string;
  /** The port; 0: one the kernel picks. */
  readonly port: number;
  /** Hears a connection that could not be forwarded (the node's dashboard gone, its namespace deleted). */
  onError(error: Error): void;
}

/** A listening forward. */
export interface ForwardListener {
  /** The port it listens on (the kernel's when 0 was asked for). */
  readonly port: number;
  /** Accepted connections open now. */
  readonly connections: number;
  /** Stops listening and closes every connection, both sides. Idempotent. */
  close(): Promise<void>;
}

/** Forwards host ports into network namespaces (netnsForwarder of sys/forwarder.ts). */
export interface UiForwarder {
  /** Connects once to `target` from inside its namespace and closes; rejects with why it cannot. */
  probe(target: ForwardTarget): Promise<void>;
  /**
   * Listens on `options.host:options.port`; each connection accepted is joined to a new
   * connection to `target`, made inside its namespace.
   * @throws the listen's error (EADDRINUSE).
   */
  listen(target: ForwardTarget, options: ForwardListenOptions): Promise<ForwardListener>;
  /** Calls `handler` with the signal's name on SIGINT or SIGTERM, until the returned function is called. */
  onStop(handler: (signal: string) => void): () => void;
}

/** Where the forwards listen: the host's loopback only, as the dashboards themselves do. */
export const FORWARD_HOST = '127.0.0.1';

/**
 * `--port-base N`: the first node's port (then N+1, ...), checked for `nodes` nodes.
 * @throws {UsageError} naming `--port-base` for anything but a port that leaves room for every node.
 */
export function parsePortBase(command: string, text: string, nodes: number): number {
  const base = Number(text);
  if (!/^\d+$/u.test(text) || base < 1 || base > 65535) throw new UsageError(command, '--port-base', `must be a port from 1 to 65535 (got ${JSON.stringify(text)})`);
  if (base + Math.max(nodes, 1) - 1 > 65535) throw new UsageError(command, '--port-base', `${base} leaves no room for ${nodes} nodes (one port each, up to 65535): use at most ${65536 - nodes}`);
  return base;
}

/** Where a forward of a dashboard listening on `listen` connects: an unspecified address (`0.0.0.0`, `::`) is reached on loopback. */
export function dashboardTarget(netns: string, listen: { readonly host: string; readonly port: number }): ForwardTarget | { readonly reason: string } {
  if (parseIpAddress(listen.host) === undefined) return { reason: `its dashboard listens on ${JSON.stringify(listen.host)}, which is not an IP address` };
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return { netns, host, port: listen.port };
}

/** The node's dashboard URL with the forward's origin: its path, and its fragment (the token) kept. */
export function forwardedUrl(nodeUrl: string, port: number): string {
  const url = new URL(nodeUrl);
  return `http://${FORWARD_HOST}:${port}${url.pathname}${url.search}${url.hash}`;
}

/** What `forwardLab` needs besides the context. */
export interface LabForwardPorts {
  readonly forwarder: UiForwarder;
  /** Opens the first forward in a browser (the `--no-open`-aware opener of ui.ts). */
  open(url: string): void;
}

/** Options of {@link forwardLab}. */
export interface LabForwardOptions {
  /** `--port-base`, as typed; absent: ports the kernel picks. */
  readonly portBase?: string;
}

type Plan = { readonly node: LabNode; readonly url: string; readonly target: ForwardTarget } | { readonly node: LabNode; readonly reason: string };

// One node: its dashboard's URL and address from its agent, then a connection from inside its namespace.
async function planNode(ctx: CommandContext, node: LabNode, forwarder: UiForwarder): Promise<Plan> {
  let ui;
  try {
    ui = (await agentClientFor(ctx, { agentSocket: node.apiSocket }).status()).ui;
  } catch (error) {
    // One node's agent down is that node's line, not the end of the others.
    if (!(error instanceof CliError)) throw error;
    return { node, reason: error.message };
  }
  const found = uiUrlOrReason(ui);
  if ('reason' in found) return { node, reason: found.reason };
  const target = dashboardTarget(node.netns, found.listen);
  if ('reason' in target) return { node, reason: target.reason };
  try {
    await forwarder.probe(target);
  } catch (error) {
    return { node, reason: `its dashboard at ${target.host}:${target.port} cannot be reached in network namespace ${node.netns}: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { node, url: found.url, target };
}

/**
 * Forwards every lab node's dashboard to the host's loopback, prints `NODE: URL` (or why
 * not) per node, opens the first, and runs until SIGINT or SIGTERM; then closes every
 * listener and connection. Returns the exit code (1 when no node could be forwarded).
 * @throws {UsageError} for a bad `--port-base`.
 */
export async function forwardLab(
  ctx: CommandContext,
  nodes: readonly LabNode[],
  options: LabForwardOptions,
  ports: LabForwardPorts,
): Promise<number> {
  const base = options.portBase === undefined ? undefined : parsePortBase(ctx.command, options.portBase, nodes.length);
  const plans = await Promise.all(nodes.map((node) => planNode(ctx, node, ports.forwarder)));
  const listeners: ForwardListener[] = [];
  const lines: string[] = [];
  let first: string | undefined;
  try {
    for (const [index, plan] of plans.entries()) {
      if ('reason' in plan) {
        lines.push(`${plan.node.name}: ${plan.reason} (not forwarded)\n`);
        continue;
      }
      // A port per node, by its place in the lab: node-k is always base+k-1.
      const port = base === undefined ? 0 : base + index;
      let last = '';
      let listener: ForwardListener;
      try {
        listener = await ports.forwarder.listen(plan.target, {
          host: FORWARD_HOST,
          port,
          onError: (error) => {
            // Said once while it lasts, not once per connection a browser retries.
            if (error.message === last) return;
            last = error.message;
            ctx.io.stderr.write(`twill: ${ctx.command}: ${plan.node.name}: ${error.message}\n`);
          },
        });
      } catch (error) {
        const flag = base === undefined ? '' : ' (--port-base)';
        lines.push(`${plan.node.name}: cannot listen on ${FORWARD_HOST}:${port}${flag}: ${error instanceof Error ? error.message : String(error)} (not forwarded)\n`);
        continue;
      }
      listeners.push(listener);
      const url = forwardedUrl(plan.url, listener.port);
      first ??= url;
      lines.push(`${plan.node.name}: ${url}\n`);
    }
    ctx.io.stdout.write(lines.join(''));
    if (first === undefined) return nodes.length === 0 ? EXIT.OK : EXIT.FAILED;
    let stop!: (signal: string) => void;
    const stopped = new Promise<string>((resolve) => (stop = resolve));
    const dispose = ports.forwarder.onStop(stop);
    try {
      ctx.io.stderr.write(`twill: ${ctx.command}: forwarding ${listeners.length} of ${nodes.length} dashboards from this host's loopback until Ctrl-C (SIGINT) or SIGTERM\n`);
      ports.open(first);
      const signal = await stopped;
      const open = listeners.reduce((sum, l) => sum + l.connections, 0);
      ctx.io.stderr.write(`twill: ${ctx.command}: ${signal}: closing ${listeners.length} forwards and ${open} connections\n`);
    } finally {
      dispose();
    }
    return EXIT.OK;
  } finally {
    await Promise.all(listeners.map((l) => l.close()));
  }
}
