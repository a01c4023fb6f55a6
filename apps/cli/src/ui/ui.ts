// `twill ui`: the dashboard's URL from the agent's `/v1/status` (its `ui` part), printed,
// and opened in a browser unless `--no-open` (xdg-open, when installed: its absence is
// said, never an error). With `--lab`, every node's dashboard, read from each node's agent.
import { agentClientFor, type AgentSocketOptions, type UiStatusView } from '../client/index.js';
import { type CommandContext } from '../context.js';
import { CliError, EXIT, FailedError, UsageError } from '../errors.js';
import { labNodes } from '../observe/observe.js';

/** Opens a URL in a browser; says whether it did and with what, or why not. Never throws. */
export type BrowserOpener = (url: string, env: Readonly<Record<string, string | undefined>>) => { readonly opened: true; readonly with: string } | { readonly opened: false; readonly why: string };

/** The options of `twill ui`, as parsed. */
export interface UiOptions extends AgentSocketOptions {
  /** `--lab [DIR]`: every node of the lab (true: the default folder). */
  readonly lab?: string | true;
  /** Commander's `--no-open`: false when given. */
  readonly open?: boolean;
}

/** The URL of a status's `ui` part, or the reason there is none. */
export function uiUrlOrReason(ui: UiStatusView | undefined): { url: string } | { reason: string } {
  if (ui === undefined) return { reason: 'this agent serves no dashboard (it is older than the dashboard: upgrade twill-agent)' };
  if (!ui.enabled) return { reason: `the dashboard is off: ${ui.reason}` };
  if (!ui.listening) return { reason: ui.serveError ?? `the dashboard is not listening on ${ui.listen.host}:${ui.listen.port}` };
  return { url: ui.url };
}

/** Runs `twill ui`; returns the exit code. */
export async function runUi(ctx: CommandContext, options: UiOptions, opener: BrowserOpener, defaultLabDir: () => string): Promise<number> {
  if (options.lab !== undefined && options.agentSocket !== undefined) throw new UsageError(ctx.command, '--agent-socket', 'cannot be used with --lab (the lab names its nodes\' agents)');
  if (options.lab !== undefined) {
    const nodes = await labNodes(ctx, options.lab, defaultLabDir);
    let failed = 0;
    for (const node of nodes) {
      let found;
      try {
        found = uiUrlOrReason((await agentClientFor(ctx, { agentSocket: node.apiSocket }).status()).ui);
      } catch (error) {
        // One node's agent down is that node's line, not the end of the listing.
        if (!(error instanceof CliError)) throw error;
        found = { reason: error.message };
      }
      if ('url' in found) ctx.io.stdout.write(`${node.name}: ${found.url} (on the node's network namespace loopback: sudo ip netns exec ${node.netns} ...)\n`);
      else {
        failed += 1;
        ctx.io.stdout.write(`${node.name}: ${found.reason}\n`);
      }
    }
    return failed === nodes.length && nodes.length > 0 ? EXIT.FAILED : EXIT.OK;
  }
  const status = await agentClientFor(ctx, options).status();
  const found = uiUrlOrReason(status.ui);
  if ('reason' in found) throw new FailedError(ctx.command, '', `node ${status.node}: ${found.reason}`);
  ctx.io.stdout.write(`${found.url}\n`);
  if (options.open !== false) {
    const opened = opener(found.url, ctx.io.env);
    ctx.io.stderr.write(opened.opened ? `twill: ${ctx.command}: opening it with ${opened.with}\n` : `twill: ${ctx.command}: ${opened.why}: open the address in a browser on this host\n`);
  }
  return EXIT.OK;
}
