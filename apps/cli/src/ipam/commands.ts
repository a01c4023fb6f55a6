// `twill ipam show|check|release|why`: their options, help and examples.

import { type Command, Option } from 'commander';

import { ipAddressParser } from '../address-options.js';
import { addAgentSocketOption } from '../client/index.js';
import { examples, group, withChoices, type CommandKit } from '../command-kit.js';
import { parsersFor } from '../options.js';
import { runIpamCheck, runIpamRelease, runIpamShow, runIpamWhy, type IpamOutput } from './ipam.js';

const OUTPUTS: readonly IpamOutput[] = ['table', 'json', 'yaml'];

function outputOption(command: string): Option {
  return withChoices(new Option('-o, --output <format>', 'table, json or yaml').argParser(parsersFor(command).choice('--output', OUTPUTS)).default('table'), OUTPUTS);
}

/** Registers `twill ipam`. */
export function registerIpamCommands(program: Command, kit: CommandKit): void {
  const ipam = group(program, 'ipam', 'IP address management through the agent: pool usage, consistency, releasing, who holds an address');
  examples(ipam, ['sudo twill ipam show --blocks', 'sudo twill ipam why 10.244.0.5', 'sudo twill ipam check']);

  const show = addAgentSocketOption(ipam
    .command('show')
    .description('every IP pool\'s size, addresses in use and free; with --blocks each block and the node it is affine to; with --ip what holds the address')
    .option('--blocks', 'list the blocks too')
    .option('--ip <address>', 'say what holds this address too', ipAddressParser('ipam show', '--ip'))
    .addOption(outputOption('ipam show')));
  examples(show, ['sudo twill ipam show', 'sudo twill ipam show --blocks', 'sudo twill ipam show --ip 10.244.0.5 -o json']);
  show.action(async (opts: Parameters<typeof runIpamShow>[1], command: Command) => {
    kit.state.exitCode = await runIpamShow(kit.context(command), opts, Date.now());
  });

  const check = addAgentSocketOption(ipam
    .command('check')
    .description('check the pools\' blocks, handles and affinities against each other: exit 1 when they disagree')
    .addOption(outputOption('ipam check')));
  examples(check, ['sudo twill ipam check', 'sudo twill ipam check -o json | jq .problems']);
  check.action(async (opts: Parameters<typeof runIpamCheck>[1], command: Command) => {
    kit.state.exitCode = await runIpamCheck(kit.context(command), opts);
  });

  const release = addAgentSocketOption(ipam
    .command('release')
    .description('release an address (--ip), or every address of a handle (--handle); exactly one of them')
    .option('--ip <address>', 'the address to release', ipAddressParser('ipam release', '--ip'))
    .option('--handle <handle>', 'the handle whose addresses to release (<network>.<containerID>)')
    .addOption(outputOption('ipam release')));
  examples(release, ['sudo twill ipam release --ip 10.244.0.5', 'sudo twill ipam release --handle k8s-pod-network.0123abcd']);
  release.action(async (opts: Parameters<typeof runIpamRelease>[1], command: Command) => {
    kit.state.exitCode = await runIpamRelease(kit.context(command), opts);
  });

  const why = addAgentSocketOption(ipam
    .command('why')
    .description('who holds an address (handle, pod, namespace, node, since when), or why it is free, reserved or cooling down')
    .argument('<IP>', 'the address', ipAddressParser('ipam why', 'IP'))
    .addOption(outputOption('ipam why')));
  examples(why, ['sudo twill ipam why 10.244.0.5', 'sudo twill ipam why fd00:10:244::7 -o json']);
  why.action(async (ip: string, opts: Parameters<typeof runIpamWhy>[2], command: Command) => {
    kit.state.exitCode = await runIpamWhy(kit.context(command), ip, opts, Date.now());
  });
}
