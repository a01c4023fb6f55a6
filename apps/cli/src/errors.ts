// The CLI's errors. Each carries the exit code it ends the command with, and the
// message is one line: `<where>: <what>` (the command path is added when printed).

/** Exit codes: 0 done, 1 a check or operation failed, 2 the invocation or its inputs are wrong. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
} as const;

/** One of {@link EXIT}. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Base class: a failure the CLI reports in one line, with its exit code. */
export class CliError extends Error {
  override readonly name: string = 'CliError';

  constructor(
    /** The command path it happened in (`policy simulate`); `''` for the program itself. */
    readonly command: string,
    /** What the message is about (`--port`, `cluster.yaml:12`); `''` when nothing narrower than the command. */
    readonly where: string,
    /** What is wrong, without the place. */
    readonly what: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(where === '' ? what : `${where}: ${what}`, options);
  }

  /** The line printed on stderr: `twill: policy simulate: --port: must be 1-65535 (got 0)`. */
  line(): string {
    return ['twill', this.command, this.where, this.what].filter((part) => part !== '').join(': ');
  }
}

/** The invocation or an input file it names is wrong (exit 2). */
export class UsageError extends CliError {
  override readonly name: string = 'UsageError';

  constructor(command: string, where: string, what: string, options?: { cause?: unknown }) {
    super(command, where, what, EXIT.USAGE, options);
  }
}

/** The command ran and what it checked or did failed (exit 1). */
export class FailedError extends CliError {
  override readonly name: string = 'FailedError';

  constructor(command: string, where: string, what: string, options?: { cause?: unknown }) {
    super(command, where, what, EXIT.FAILED, options);
  }
}
