// `twill status`, `twill get`, `twill describe`, `twill apply` and `twill delete`: their
// options, help and examples. All talk to the agent on its API socket (--agent-socket).

import { Argument, type Command, Option } from 'commander';

import { addAgentSocketOption } from '../client/index.js';
import { examples, withChoices, type CommandKit } from '../command-kit.js';
import { parsersFor } from '../options.js';
import { type OutputFormat } from '../output.js';
import { runApply, type ApplyOptions } from './apply.js';
import { runDelete, type DeleteOptions } from './delete.js';
import { runDescribe, type DescribeOptions } from './describe.js';
import { runGet, type GetOptions } from './get.js';
import { CLI_KINDS } from './kinds.js';
import { runStatus, type StatusOptions } from './status.js';

const OUTPUTS: OutputFormat[] = ['table', 'wide', 'json', 'yaml'];

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const outputOption = (command: string, choices: readonly string[], fallback?: string): Option => {
  const option = new Option('-o, --output <format>', choices.join(', ')).argParser(parsersFor(command).choice('--output', choices));
  return withChoices(fallback === undefined ? option : option.default(fallback), choices);
};

const KIND_HELP = 'a plural, singular or short name (networkpolicies and netpol are Kubernetes\', cnetpol Calico\'s, cnp Cilium\'s)';

// The KIND argument, its plurals offered by help and shell completion; any name of a
// kind is accepted (scope.ts resolves it), so commander does not check the choices.
const kindArgument = (flags: string, writableOnly: boolean): Argument => {
  const argument = new Argument(flags, KIND_HELP);
  const kinds = CLI_KINDS.filter((k) => !writableOnly || k.source === 'resource');
  argument.argChoices = [...new Set([...kinds.map((k) => k.plural), 'cnetpol'])];
  return argument;
};

const namespaceOption = (): Option => new Option('-n, --namespace <ns>', 'the namespace of namespaced kinds (default: default)');

/** Registers `status`, `get`, `describe`, `apply` and `delete`. */
export function registerResourceCommands(program: Command, kit: CommandKit): void {
  const status = addAgentSocketOption(program.command('status').description("the agent's health, datastore, dataplane, endpoints and BGP peers in one screen; exit 1 when it is not ready"))
    .addOption(outputOption('status', OUTPUTS, 'table'));
  examples(status, ['twill status', 'twill status -o json | jq .ready', 'twill status --agent-socket /run/twill/api.sock']);
  status.action(async (opts: StatusOptions, command: Command) => {
    kit.state.exitCode = await runStatus(kit.context(command), opts);
  });

  const get = addAgentSocketOption(program.command('get').description('list objects of a kind, or show one'))
    .addArgument(kindArgument('<KIND>', false))
    .argument('[NAME]', 'one object')
    .addOption(namespaceOption())
    .option('-A, --all-namespaces', 'every namespace (adds a NAMESPACE column)')
    .addOption(outputOption('get', OUTPUTS, 'table'));
  examples(get, ['twill get ippools', 'twill get networkpolicies -A -o wide', 'twill get cnetpol allow-web -n shop -o yaml', 'twill get globalnetworkpolicies -o json', 'twill get ipamblocks', 'twill get endpoints -A']);
  get.action(async (kind: string, name: string | undefined, opts: GetOptions, command: Command) => {
    kit.state.exitCode = await runGet(kit.context(command), kind, name, opts);
  });

  const describe = addAgentSocketOption(program.command('describe').description('one object for people: metadata, body, and what the agent knows of it'))
    .addArgument(kindArgument('<KIND>', false))
    .argument('<NAME>', 'its name')
    .addOption(namespaceOption());
  examples(describe, ['twill describe ippool default-ipv4-ippool', 'twill describe netpol allow-web -n shop', 'twill describe bgppeer rack-tor']);
  describe.action(async (kind: string, name: string, opts: DescribeOptions, command: Command) => {
    kit.state.exitCode = await runDescribe(kit.context(command), kind, name, opts);
  });

  const apply = addAgentSocketOption(program.command('apply').description('create or update objects from files: every document validated first (policy kinds by the policy engine), then all written or none'))
    .option('-f, --filename <path>', 'a file, a folder (its .yaml, .yml and .json files at any depth), or - for stdin; repeatable', collect)
    .addOption(namespaceOption())
    .option('--dry-run', 'validate and say what would happen; write nothing')
    .addOption(outputOption('apply', ['json', 'yaml']));
  examples(apply, ['twill apply -f policies/', 'twill apply -f pool.yaml -f peers.yaml --dry-run', 'kubectl get netpol -A -o yaml | twill apply -f -']);
  apply.action(async (opts: ApplyOptions, command: Command) => {
    kit.state.exitCode = await runApply(kit.context(command), opts);
  });

  const del = addAgentSocketOption(program.command('delete').description('delete an object by kind and name, or the objects files describe'))
    .addArgument(kindArgument('[KIND]', true))
    .argument('[NAME]', 'its name')
    .option('-f, --filename <path>', 'delete the objects of these files or folders, or - for stdin; repeatable', collect)
    .addOption(namespaceOption())
    .option('--ignore-not-found', 'an object that is not there is not an error');
  examples(del, ['twill delete ippool old-pool', 'twill delete netpol allow-web -n shop', 'twill delete -f policies/']);
  del.action(async (kind: string | undefined, name: string | undefined, opts: DeleteOptions, command: Command) => {
    kit.state.exitCode = await runDelete(kit.context(command), kind, name, opts);
  });
}
