// `twill cni add|check|del|gc|status`: a cnitool on @twill/cni-core.

import { type Command, Option } from 'commander';

import { examples, group, withChoices, type CommandKit } from '../command-kit.js';
import { parsersFor } from '../options.js';
import { CNI_VERBS, runCni, type CniVerb } from './cni.js';

/** Registers `twill cni`. */
export function registerCniCommands(program: Command, kit: CommandKit): void {
  // cni
  const cni = group(program, 'cni', 'run a CNI network configuration on a network namespace, as cnitool does');
  examples(cni, ['sudo CNI_PATH=/usr/lib/cni twill cni add mynet /var/run/netns/testing', 'sudo CNI_PATH=/usr/lib/cni twill cni del mynet /var/run/netns/testing']);
  for (const verb of CNI_VERBS) {
    const needsNetns = verb === 'add' || verb === 'check' || verb === 'del';
    const what: Record<CniVerb, string> = {
      add: 'add the namespace to the network (ADD) and print the result',
      check: 'check the namespace\'s attachment (CHECK)',
      del: 'remove the namespace from the network (DEL)',
      gc: 'delete every cached attachment of the network (GC with no valid attachments, as cnitool)',
      status: 'ask the network\'s plugins whether they are ready (STATUS)',
    };
    const c = parsersFor(`cni ${verb}`);
    const command = cni
      .command(verb)
      .description(`${what[verb]}; NETCONFPATH (default /etc/cni/net.d), CNI_PATH (default /opt/cni/bin), CAP_ARGS and CNI_ARGS as cnitool`)
      .argument('<NETWORK>', 'the network\'s name in a configuration of NETCONFPATH')
      .argument(needsNetns ? '<NETNS>' : '[NETNS]', needsNetns ? 'the network namespace\'s path' : 'accepted and unused, as cnitool')
      .option('--ifname <name>', 'the interface in the namespace (default: CNI_IFNAME, or eth0)')
      .option('--container-id <id>', 'the container id (default: cnitool-<hash of the netns path>, as cnitool)')
      .option('--cache-dir <dir>', 'libcni\'s result cache (default /var/lib/cni)');
    if (verb === 'add') command.addOption(withChoices(new Option('-o, --output <format>', 'json or yaml').argParser(c.choice('--output', ['json', 'yaml'] as const)).default('json'), ['json', 'yaml']));
    examples(command, [
      `sudo ip netns add testing`,
      `sudo CNI_PATH=/usr/lib/cni twill cni ${verb} mynet${needsNetns || verb === 'gc' ? ' /var/run/netns/testing' : ''}`,
      ...(verb === 'add' ? ['sudo CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=web-0" CNI_PATH=/usr/lib/cni twill cni add mynet /var/run/netns/testing --ifname net1'] : []),
    ]);
    command.action(async (network: string, netns: string | undefined, opts: Parameters<typeof runCni>[4], cmd: Command) => {
      kit.state.exitCode = await runCni(kit.context(cmd), verb, network, netns, { ...opts, output: (opts as { output?: 'json' | 'yaml' }).output ?? 'json' });
    });
  }
}
