// `twill bgp peers|routes`: the agent's BGP answers (API.md `/v1/bgp`), printed for
// people or as JSON/YAML for programs (README: "twill bgp").

import { agentClientFor, type AgentSocketOptions } from '../client/index.js';
import { type CommandContext } from '../context.js';
import { EXIT } from '../errors.js';
import { renderJson, renderYaml, type OutputFormat } from '../output.js';
import { renderPeers, renderRoutes } from './render.js';

/** The `-o` formats of `bgp peers`. */
export type PeersOutput = Extract<OutputFormat, 'table' | 'json' | 'yaml'>;

/** `twill bgp peers`: the speaker's sessions. */
export async function runBgpPeers(ctx: CommandContext, options: AgentSocketOptions & { readonly output: PeersOutput }): Promise<number> {
  const status = await agentClientFor(ctx, options).bgpPeers();
  const { stdout } = ctx.io;
  if (options.output === 'json') stdout.write(renderJson(status));
  else if (options.output === 'yaml') stdout.write(renderYaml(status));
  else stdout.write(renderPeers(status, ctx.style));
  return EXIT.OK;
}

/** Options of `bgp routes`. */
export interface BgpRoutesOptions extends AgentSocketOptions {
  readonly peer?: string;
  readonly prefix?: string;
  readonly output: OutputFormat;
}

/** `twill bgp routes`: every path the speaker holds, of one peer or inside one prefix. */
export async function runBgpRoutes(ctx: CommandContext, options: BgpRoutesOptions): Promise<number> {
  const routes = await agentClientFor(ctx, options).bgpRoutes({
    ...(options.peer === undefined ? {} : { peer: options.peer }),
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
  });
  const { stdout } = ctx.io;
  if (options.output === 'json') stdout.write(renderJson({ routes }));
  else if (options.output === 'yaml') stdout.write(renderYaml({ routes }));
  else stdout.write(renderRoutes(routes, options.output === 'wide', ctx.style));
  return EXIT.OK;
}
