// `twill ipam show|check|release|why`: the agent's IPAM answers (API.md `/v1/ipam`),
// printed for people or as JSON/YAML for programs (README: "twill ipam").

import { agentClientFor, type AgentSocketOptions } from '../client/index.js';
import { type CommandContext } from '../context.js';
import { EXIT, FailedError, UsageError } from '../errors.js';
import { renderJson, renderYaml, type OutputFormat } from '../output.js';
import { renderAddressStatus, renderBlocks, renderCheck, renderPools, reportConsistent } from './render.js';

/** The `-o` formats of the ipam commands. */
export type IpamOutput = Extract<OutputFormat, 'table' | 'json' | 'yaml'>;

function writeData(ctx: CommandContext, output: IpamOutput, value: unknown): boolean {
  if (output === 'table') return false;
  ctx.io.stdout.write(output === 'json' ? renderJson(value) : renderYaml(value));
  return true;
}

/** Options of `ipam show`. */
export interface IpamShowOptions extends AgentSocketOptions {
  readonly blocks?: boolean;
  readonly ip?: string;
  readonly output: IpamOutput;
}

/** `twill ipam show`: every pool's usage; with `--blocks` the blocks, with `--ip` what holds the address. */
export async function runIpamShow(ctx: CommandContext, options: IpamShowOptions, nowMs: number): Promise<number> {
  const view = await agentClientFor(ctx, options).ipam({ ...(options.blocks === true ? { blocks: true } : {}), ...(options.ip === undefined ? {} : { ip: options.ip }) });
  if (writeData(ctx, options.output, view)) return EXIT.OK;
  const parts = [view.pools.length === 0 ? 'no IP pools\n' : renderPools(view.pools, ctx.style)];
  if (options.blocks === true) parts.push(view.blocks === undefined || view.blocks.length === 0 ? 'no blocks claimed yet\n' : renderBlocks(view.blocks, ctx.style));
  if (view.address !== undefined) parts.push(renderAddressStatus(view.address, nowMs));
  ctx.io.stdout.write(parts.join('\n'));
  return EXIT.OK;
}

/** `twill ipam check`: the consistency report; exit 1 when the pools are inconsistent. */
export async function runIpamCheck(ctx: CommandContext, options: AgentSocketOptions & { readonly output: IpamOutput }): Promise<number> {
  const report = await agentClientFor(ctx, options).ipamCheck();
  if (!writeData(ctx, options.output, report)) ctx.io.stdout.write(renderCheck(report, ctx.style));
  return reportConsistent(report) ? EXIT.OK : EXIT.FAILED;
}

/** Options of `ipam release`. */
export interface IpamReleaseOptions extends AgentSocketOptions {
  readonly ip?: string;
  readonly handle?: string;
  readonly output: IpamOutput;
}

/** `twill ipam release --ip IP | --handle H`: frees the address, or every address of the handle. */
export async function runIpamRelease(ctx: CommandContext, options: IpamReleaseOptions): Promise<number> {
  if (options.ip !== undefined && options.handle !== undefined) throw new UsageError(ctx.command, '--handle', 'cannot be used with --ip (release one address, or every address of one handle)');
  if (options.ip === undefined && options.handle === undefined) throw new UsageError(ctx.command, '', 'exactly one of --ip or --handle is required');
  if (options.handle?.trim() === '') throw new UsageError(ctx.command, '--handle', 'must not be empty');
  const what = options.ip !== undefined ? { ip: options.ip } : { handle: options.handle as string };
  const released = await agentClientFor(ctx, options).ipamRelease(what);
  if (released.length === 0) {
    throw 'ip' in what
      ? new FailedError(ctx.command, '--ip', `${what.ip} is not allocated: nothing released (twill ipam why ${what.ip} says why)`)
      : new FailedError(ctx.command, '--handle', `no handle ${JSON.stringify(what.handle)} holds an address: nothing released`);
  }
  if (!writeData(ctx, options.output, { released })) ctx.io.stdout.write(released.map((ip) => `released ${ip}\n`).join(''));
  return EXIT.OK;
}

/** `twill ipam why IP`: who holds the address and since when, or why nobody does. */
export async function runIpamWhy(ctx: CommandContext, ip: string, options: AgentSocketOptions & { readonly output: IpamOutput }, nowMs: number): Promise<number> {
  const status = await agentClientFor(ctx, options).ipamWhy(ip);
  if (!writeData(ctx, options.output, status)) ctx.io.stdout.write(renderAddressStatus(status, nowMs));
  return EXIT.OK;
}
