// The twill command line: the commander program, how its mistakes become one line on
// stderr with exit code 2, and main().

import { Command, type CommanderError } from 'commander';

import { registerBgpCommands } from './bgp/commands.js';
import { registerCniCommands } from './cni/commands.js';
import { examples, pathOf, type CommandKit, type RegisterCommands, type RunState } from './command-kit.js';
import { renderCompletion, COMPLETION_SHELLS, type CompletionShell } from './completion.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { type CliIo } from './io.js';
import { registerIpamCommands } from './ipam/commands.js';
import { registerLabCommands } from './lab/commands.js';
import { registerObserveCommands } from './observe/commands.js';
import { styleFor } from './output.js';
import { registerPolicyCommands } from './policy/commands.js';
import { registerResourceCommands } from './resources/commands.js';
import { registerUiCommands } from './ui/commands.js';
import { CLI_VERSION } from './sys/version.js';

/** The command groups, in the order `twill --help` lists them (`completion` comes last). */
const COMMAND_GROUPS: readonly RegisterCommands[] = [registerResourceCommands, registerPolicyCommands, registerObserveCommands, registerIpamCommands, registerBgpCommands, registerCniCommands, registerLabCommands, registerUiCommands];

/** The long flag of an option's flags text (`-o, --output <format>` → `--output`). */
function longFlag(flags: string): string {
  return /--[a-z0-9-]+/i.exec(flags)?.[0] ?? flags.split(/[ ,]/)[0] ?? flags;
}

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

/**
 * The twill program over `io`. Actions record their exit code in `state`. Exported
 * for the completion generator and tests; `main` is the entry point.
 */
export function buildProgram(io: CliIo, state: RunState = { exitCode: 0 }): Command {
  const style = styleFor(io);
  const kit: CommandKit = { io, state, context: (command) => ({ io, style, command: pathOf(command) }) };
  const program = new Command('twill')
    .description('twill, the command line for Twill: the agent\'s status and resources, IPAM, BGP, policy explain, simulate and lint, the flows it saw, a CNI tool, the lab, shell completion.')
    .usage('<command> [options]')
    .version(CLI_VERSION, '-V, --version', "twill's version")
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
    const names = program.commands.map((c) => c.name()).filter((n) => n !== 'help');
    if (sub === undefined) throw new UsageError('', '', `a command is required: ${names.join(', ')} (see twill --help)`);
    throw new UsageError('', sub, `unknown command: expected ${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''} (see twill --help)`);
  });
  examples(program, [
    'sudo twill status',
    'sudo twill apply -f policies/',
    'sudo twill policy explain --from default/web --to production/api-server --port 8080',
    'sudo twill observe -f --verdict DROPPED',
    'twill policy simulate --cluster cluster.yaml --policies policies/ --matrix',
    'sudo twill lab up',
    'source <(twill completion bash)',
  ]);

  for (const register of COMMAND_GROUPS) register(program, kit);

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
