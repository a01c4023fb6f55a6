// The twill command line: the commander program, how its mistakes become one line on
// stderr with exit code 2, and main().

import { Command, Option, type CommanderError } from 'commander';

import { CNI_VERBS, runCni, type CniVerb } from './cni/cni.js';
import { renderCompletion, COMPLETION_SHELLS, type CompletionShell } from './completion.js';
import { type CommandContext } from './context.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { type CliIo } from './io.js';
import { parsersFor } from './options.js';
import { styleFor, type OutputFormat } from './output.js';
import { runLint } from './policy/lint.js';
import { runSimulate } from './policy/simulate.js';

// Help ends with examples; every command has some.
function examples(command: Command, lines: readonly string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
}

/** The long flag of an option's flags text (`-o, --output <format>` → `--output`). */
function longFlag(flags: string): string {
  return /--[a-z0-9-]+/i.exec(flags)?.[0] ?? flags.split(/[ ,]/)[0] ?? flags;
}

const pathOf = (command: Command): string => {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null && c.parent !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
};

// A commander error, said as the CLI says everything: where, then what.
function translate(command: Command, error: CommanderError): UsageError {
  const path = pathOf(command);
  const message = error.message.replace(/^error: /, '');
  let match: RegExpExecArray | null;
  switch (error.code) {
    case 'commander.unknownOption':
      match = /unknown option '([^']+)'(?:\s*\(Did you mean (.+)\?\))?/.exec(message);
      return new UsageError(path, match?.[1] ?? '', `unknown option${match?.[2] === undefined ? '' : ` (did you mean ${match[2]}?)`}; see twill ${path} --help`.replace('twill  --help', 'twill --help'));
    case 'commander.missingArgument':
      match = /missing required argument '([^']+)'/.exec(message);
      return new UsageError(path, match?.[1] ?? '', `required argument missing (usage: twill ${path} ${command.usage()})`);
    case 'commander.optionMissingArgument':
      match = /option '([^']+)' argument missing/.exec(message);
      return new UsageError(path, longFlag(match?.[1] ?? ''), 'needs a value');
    case 'commander.missingMandatoryOptionValue':
      match = /required option '([^']+)' not specified/.exec(message);
      return new UsageError(path, longFlag(match?.[1] ?? ''), 'required');
    case 'commander.excessArguments': {
      const expected = command.registeredArguments.length;
      const extra = command.args.slice(expected).map((a) => JSON.stringify(a)).join(' ');
      return new UsageError(path, '', `unexpected argument${command.args.length - expected === 1 ? '' : 's'} ${extra} (usage: twill ${path} ${command.usage()})`);
    }
    default:
      return new UsageError(path, '', message);
  }
}

// A command that only groups others: without one of them it says which there are.
function group(parent: Command, name: string, description: string): Command {
  const command = parent.command(name).description(description).usage('<command> [options]').allowExcessArguments(true);
  command.action(() => {
    const sub = command.args[0];
    const names = command.commands.map((c) => c.name()).filter((n) => n !== 'help');
    const path = pathOf(command);
    if (sub === undefined) throw new UsageError(path, '', `a command is required: ${names.join(', ')} (see twill ${path} --help)`);
    throw new UsageError(path, sub, `unknown command: expected ${names.join(', ')} (see twill ${path} --help)`);
  });
  return command;
}

/** Outcome of one run: the exit code an action returned. */
interface RunState {
  exitCode: number;
}

/**
 * The twill program over `io`. Actions record their exit code in `state`. Exported
 * for the completion generator and tests; `main` is the entry point.
 */
export function buildProgram(io: CliIo, state: RunState = { exitCode: 0 }): Command {
  const style = styleFor(io);
  const ctx = (command: Command): CommandContext => ({ io, style, command: pathOf(command) });
  const program = new Command('twill')
    .description('twill, the command line for Twill: policy simulation and lint, a CNI tool, shell completion.')
    .usage('<command> [options]')
    .option('--debug', 'on an error, print its stack and causes too')
    .allowExcessArguments(true)
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Our own one-line message replaces commander's (see translate).
      outputError: () => undefined,
      getOutHelpWidth: () => 100,
      getErrHelpWidth: () => 100,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    });
  program.action(() => {
    const sub = program.args[0];
    if (sub === undefined) throw new UsageError('', '', 'a command is required: policy, cni, completion (see twill --help)');
    throw new UsageError('', sub, 'unknown command: expected policy, cni or completion (see twill --help)');
  });
  examples(program, ['twill policy simulate --cluster cluster.yaml --policies policies/ --matrix', 'twill policy lint policies/', 'sudo CNI_PATH=/usr/lib/cni twill cni add mynet /var/run/netns/testing', 'source <(twill completion bash)']);

  // policy
  const policy = group(program, 'policy', 'simulate and lint network policies (Kubernetes, Calico, Cilium) offline');
  examples(policy, ['twill policy simulate --cluster cluster.yaml --policies policies/ --from x/a --to y/b --port 80', 'twill policy lint policies/']);
  {
    const p = parsersFor('policy simulate');
    const outputs: OutputFormat[] = ['table', 'wide', 'json', 'yaml'];
    const simulate = policy
      .command('simulate')
      .description('the verdict of probes between pods of a cluster snapshot under a set of policies: offline, no agent, no root')
      .option('--cluster <file>', '(required) YAML of Namespace and Pod objects as Kubernetes writes them (kubectl get ns,pods -A -o yaml)')
      .option('--policies <path...>', '(required) policy files or folders (.yaml, .yml, .json), any of the three dialects')
      .option('--from <ns/pod>', 'the client pod of one probe', p.pod('--from'))
      .option('--to <ns/pod>', 'the server pod of one probe', p.pod('--to'))
      .option('--port <n>', 'the destination port of one probe', p.port('--port'))
      .addOption(withChoices(new Option('--protocol <protocol>', 'the protocol of one probe (default TCP)').argParser(p.protocol('--protocol')), ['TCP', 'UDP', 'SCTP']))
      .option('--matrix', 'probe every ordered pair of distinct pods')
      .option('--ports <list>', 'with --matrix: ports to probe, comma-separated (default: every containerPort the pods declare)', p.ports('--ports'))
      .option('--protocols <list>', 'with --matrix: protocols, comma-separated (default TCP)', p.protocols('--protocols'))
      .addOption(withChoices(new Option('-o, --output <format>', 'table, wide, json or yaml').argParser(p.choice('--output', outputs)).default('table'), outputs));
    examples(simulate, [
      'twill policy simulate --cluster cluster.yaml --policies policies/ --from x/a --to y/b --port 80',
      'twill policy simulate --cluster cluster.yaml --policies deny.yaml allow.yaml --from x/a --to y/b --port 53 --protocol UDP -o json',
      'twill policy simulate --cluster cluster.yaml --policies policies/ --matrix --ports 80,81 --protocols TCP,UDP',
      'kubectl get namespaces,pods -A -o yaml > cluster.yaml   # a snapshot of a live cluster',
    ]);
    simulate.action(async (opts: Parameters<typeof runSimulate>[1], command: Command) => {
      state.exitCode = await runSimulate(ctx(command), opts);
    });

    const l = parsersFor('policy lint');
    const lint = policy
      .command('lint')
      .description('validate policy documents and find rules that never match, shadowed rules, Allow/Deny overlaps and policies that select nothing')
      .argument('<PATH...>', 'policy files or folders')
      .option('--cluster <file>', 'also report policies that select none of this snapshot\'s pods')
      .option('--strict', 'warnings fail too (exit 1)')
      .addOption(withChoices(new Option('-o, --output <format>', 'table, wide, json or yaml').argParser(l.choice('--output', outputs)).default('table'), outputs));
    examples(lint, ['twill policy lint policies/', 'twill policy lint --strict --cluster cluster.yaml policies/ -o json']);
    lint.action(async (paths: string[], opts: Parameters<typeof runLint>[2], command: Command) => {
      state.exitCode = await runLint(ctx(command), paths, opts);
    });
  }

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
      state.exitCode = await runCni(ctx(cmd), verb, network, netns, { ...opts, output: (opts as { output?: 'json' | 'yaml' }).output ?? 'json' });
    });
  }

  // completion
  const completion = program
    .command('completion')
    .description('print a shell completion script for bash or zsh')
    .argument('<SHELL>', 'bash or zsh', (value: string) => {
      if (!(COMPLETION_SHELLS as readonly string[]).includes(value)) throw new UsageError('completion', 'SHELL', `must be one of ${COMPLETION_SHELLS.join(', ')} (got ${JSON.stringify(value)})`);
      return value as CompletionShell;
    });
  examples(completion, ['source <(twill completion bash)          # in ~/.bashrc', 'twill completion zsh > "${fpath[1]}/_twill"  # then start a new zsh']);
  completion.action((shell: CompletionShell) => {
    io.stdout.write(renderCompletion(program, shell));
  });

  // Every command turns commander's errors into ours, knowing where it is.
  const wire = (command: Command): void => {
    // Subcommands inherit the groups' leniency; commands that run take exactly their arguments.
    if (command.commands.length === 0) command.allowExcessArguments(false);
    command.exitOverride((error) => {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') throw new HelpShown();
      throw translate(command, error);
    });
    command.commands.forEach(wire);
  };
  wire(program);
  return program;
}

/** Completion choices of an option (commander shows them in help too). */
function withChoices(option: Option, choices: readonly string[]): Option {
  option.argChoices = [...choices];
  return option;
}

// `--help` was answered: not an error.
class HelpShown extends Error {}

function describeCauses(error: unknown): string {
  const lines: string[] = [];
  for (let e: unknown = error; e !== undefined; e = e instanceof Error ? e.cause : undefined) {
    lines.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    if (lines.length > 5) break;
  }
  return lines.join('\ncaused by: ');
}

/**
 * Runs the twill command line on `argv` (without the node and script paths) and
 * returns the exit code: 0 done, 1 a check or operation failed, 2 the invocation or
 * its inputs are wrong. Never exits the process itself.
 * @param io - The ports (tests pass their own); the process's when absent.
 */
export async function runTwill(argv: readonly string[], io: CliIo): Promise<number> {
  const state: RunState = { exitCode: EXIT.OK };
  const debug = argv.includes('--debug');
  try {
    await buildProgram(io, state).parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (error) {
    if (error instanceof HelpShown) return EXIT.OK;
    if (error instanceof CliError) {
      io.stderr.write(`${error.line()}\n`);
      if (debug) io.stderr.write(`${describeCauses(error)}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`twill: internal error: ${message}${debug ? '' : ' (run with --debug for the stack)'}\n`);
    if (debug) io.stderr.write(`${describeCauses(error)}\n`);
    return EXIT.FAILED;
  }
}
