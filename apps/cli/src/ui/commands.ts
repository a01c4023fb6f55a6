// `twill ui`: its options, help and examples.
import { type Command, Option } from 'commander';

import { addAgentSocketOption } from '../client/index.js';
import { examples, type CommandKit } from '../command-kit.js';
import { defaultLabDir } from '../lab/sys/host-facts.js';
import { netnsForwarder } from './sys/forwarder.js';
import { xdgOpen } from './sys/open-browser.js';
import { runUi, type UiOptions } from './ui.js';

/** Registers `twill ui`. */
export function registerUiCommands(program: Command, kit: CommandKit): void {
  const ui = addAgentSocketOption(
    program
      .command('ui')
      .description("the agent's web dashboard (service map, live flows, policies, BGP, IPAM): prints its address and opens it in a browser")
      .addOption(new Option('--lab [dir]', "forward every lab node's dashboard (twill lab up) to this host's loopback until Ctrl-C; DIR when the lab is not in the default folder"))
      .option('--port-base <port>', 'with --lab: node-1 on this port of 127.0.0.1, node-2 on the next, ... (default: ports the kernel picks)')
      .option('--no-open', 'print the address only; do not start a browser'),
  );
  examples(ui, ['sudo twill ui', 'sudo twill ui --no-open', 'sudo twill ui --agent-socket /run/twill/api.sock', 'sudo twill ui --lab', 'sudo twill ui --lab --port-base 9200 --no-open']);
  ui.action(async (opts: UiOptions, command: Command) => {
    kit.state.exitCode = await runUi(kit.context(command), opts, { opener: xdgOpen, forwarder: netnsForwarder, defaultLabDir });
  });
}
