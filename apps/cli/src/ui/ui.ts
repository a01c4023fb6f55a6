// `twill ui`: the dashboard's URL from the agent's `/v1/status` (its `ui` part, with the
// token of the agent's start), printed, and opened in a browser unless `--no-open`
// (xdg-open, when installed: its absence is said, never an error). With `--lab`, every
// node's dashboard forwarded to this host's loopback (forward.ts) until Ctrl-C.
import { agentClientFor, type AgentSocketOptions } from '../client/index.js';
import { type CommandContext } from '../context.js';
import { EXIT, FailedError, UsageError } from '../errors.js';
import { labNodes } from '../observe/observe.js';
import { forwardLab, type UiForwarder } from './forward.js';
import { uiUrlOrReason } from './status.js';

export { uiUrlOrReason } from './status.js';

/** Opens a URL in a browser; says whether it did and with what, or why not. Never throws. */
export type BrowserOpener = (url: string, env: Readonly<Record<string, string | undefined>>) => { readonly opened: true; readonly with: string } | { readonly opened: false; readonly why: string };

/** The options of `twill ui`, as parsed. */
export interface UiOptions extends AgentSocketOptions {
  /** `--lab [DIR]`: every node of the lab (true: the default folder). */
  readonly lab?: string | true;
  /** `--port-base N` (with `--lab`): node-1 on N, node-2 on N+1, ...; absent: ports the kernel picks. */
  readonly portBase?: string;
  /** Commander's `--no-open`: false when given. */
  readonly open?: boolean;
}

/** What `twill ui` uses besides the context. */
export interface UiPorts {
  /** Opens a URL in a browser. */
  readonly opener: BrowserOpener;
  /** Forwards the lab's dashboards (`--lab`). */
  readonly forwarder: UiForwarder;
  /** The lab's folder when `--lab` names none. */
  defaultLabDir(): string;
}

// Opens `url` unless --no-open, saying with what or why not on stderr.
function openUnlessAsked(ctx: CommandContext, options: UiOptions, opener: BrowserOpener, url: string): void {
  if (options.open === false) return;
  const opened = opener(url, ctx.io.env);
  ctx.io.stderr.write(opened.opened ? `twill: ${ctx.command}: opening it with ${opened.with}\n` : `twill: ${ctx.command}: ${opened.why}: open the address in a browser on this host\n`);
}

/**
 * Runs `twill ui`; returns the exit code (with `--lab`, once SIGINT or SIGTERM stopped the forwards).
 * @throws {UsageError} for `--agent-socket` with `--lab`, `--port-base` without it or out of range;
 * {@link FailedError} when the agent serves no dashboard, or no lab is up.
 */
export async function runUi(ctx: CommandContext, options: UiOptions, ports: UiPorts): Promise<number> {
  if (options.lab !== undefined && options.agentSocket !== undefined) throw new UsageError(ctx.command, '--agent-socket', 'cannot be used with --lab (the lab names its nodes\' agents)');
  if (options.lab === undefined && options.portBase !== undefined) throw new UsageError(ctx.command, '--port-base', 'only with --lab (an agent on this host is reached directly, without a forward)');
  if (options.lab !== undefined) {
    const nodes = await labNodes(ctx, options.lab, () => ports.defaultLabDir());
    return forwardLab(ctx, nodes, options.portBase === undefined ? {} : { portBase: options.portBase }, {
      forwarder: ports.forwarder,
      open: (url) => openUnlessAsked(ctx, options, ports.opener, url),
    });
  }
  const status = await agentClientFor(ctx, options).status();
  const found = uiUrlOrReason(status.ui);
  if ('reason' in found) throw new FailedError(ctx.command, '', `node ${status.node}: ${found.reason}`);
  ctx.io.stdout.write(`${found.url}\n`);
  openUnlessAsked(ctx, options, ports.opener, found.url);
  return EXIT.OK;
}
