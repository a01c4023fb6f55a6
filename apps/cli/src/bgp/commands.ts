// `twill bgp peers|routes`: their options, help and examples.

import { type Command, Option } from 'commander';

import { cidrParser, peerParser } from '../address-options.js';
import { addAgentSocketOption } from '../client/index.js';
import { examples, group, withChoices, type CommandKit } from '../command-kit.js';
import { parsersFor } from '../options.js';
import { type OutputFormat } from '../output.js';
import { runBgpPeers, runBgpRoutes, type PeersOutput } from './bgp.js';

/** Registers `twill bgp`. */
export function registerBgpCommands(program: Command, kit: CommandKit): void {
  const bgp = group(program, 'bgp', 'the node\'s BGP speaker through the agent: sessions and routes');
  examples(bgp, ['sudo twill bgp peers', 'sudo twill bgp routes --prefix 10.244.0.0/16']);

  const peerOutputs: readonly PeersOutput[] = ['table', 'json', 'yaml'];
  const peers = addAgentSocketOption(bgp
    .command('peers')
    .description('each BGP session: peer, AS, state, how long it has been up, prefixes received and advertised, the last error in words')
    .addOption(withChoices(new Option('-o, --output <format>', 'table, json or yaml').argParser(parsersFor('bgp peers').choice('--output', peerOutputs)).default('table'), peerOutputs)));
  examples(peers, ['sudo twill bgp peers', 'sudo twill bgp peers -o json']);
  peers.action(async (opts: Parameters<typeof runBgpPeers>[1], command: Command) => {
    kit.state.exitCode = await runBgpPeers(kit.context(command), opts);
  });

  const routeOutputs: readonly OutputFormat[] = ['table', 'wide', 'json', 'yaml'];
  const routes = addAgentSocketOption(bgp
    .command('routes')
    .description('every path the speaker holds: prefix, next hop, where from, AS path, origin; the best per prefix marked *')
    .option('--peer <address>', 'only the paths received from this peer (local: the ones this node originates)', peerParser('bgp routes', '--peer'))
    .option('--prefix <cidr>', 'only the paths to this prefix or to prefixes inside it', cidrParser('bgp routes', '--prefix'))
    .addOption(withChoices(new Option('-o, --output <format>', 'table, wide, json or yaml').argParser(parsersFor('bgp routes').choice('--output', routeOutputs)).default('table'), routeOutputs)));
  examples(routes, ['sudo twill bgp routes', 'sudo twill bgp routes --peer 10.0.0.2', 'sudo twill bgp routes --prefix 10.244.0.0/16 -o wide']);
  routes.action(async (opts: Parameters<typeof runBgpRoutes>[1], command: Command) => {
    kit.state.exitCode = await runBgpRoutes(kit.context(command), opts);
  });
}
