// What a group of commands needs to register itself on the program: the run's I/O and
// exit-code state, each command's context, and the helpers every command uses (examples in
// help, grouping commands, option choices). program.ts lists the groups (COMMAND_GROUPS).

import { type Command, type Option } from 'commander';

import { type CommandContext } from './context.js';
import { UsageError } from './errors.js';
import { type CliIo } from './io.js';

/** Outcome of one run: the exit code an action returned. */
export interface RunState {
  exitCode: number;
}

/** What a command group's registration receives. */
export interface CommandKit {
  readonly io: CliIo;
  /** Actions record their exit code here. */
  readonly state: RunState;
  /** The context of a command's action (its I/O, output style and path). */
  context(command: Command): CommandContext;
}

/** Registers one group of commands (`policy`, `cni`, ...) on the program. */
export type RegisterCommands = (program: Command, kit: CommandKit) => void;

// Help ends with examples; every command has some.
export function examples(command: Command, lines: readonly string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
}

/** A command's path under `twill` (`policy simulate`). */
export const pathOf = (command: Command): string => {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null && c.parent !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
};

// A command that only groups others: without one of them it says which there are.
export function group(parent: Command, name: string, description: string): Command {
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

/** Completion choices of an option (commander shows them in help too). */
export function withChoices(option: Option, choices: readonly string[]): Option {
  option.argChoices = [...choices];
  return option;
}
