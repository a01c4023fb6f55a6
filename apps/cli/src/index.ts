/**
 * @twill/cli: twill, the command line for Twill clusters and labs.
 *
 * `main(argv)` runs it and returns the exit code; `runTwill(argv, io)` does the same
 * over injected I/O (tests run commands in-process with it).
 * @packageDocumentation
 */
import { type CliIo } from './io.js';
import { runTwill } from './program.js';
import { nodeIo } from './sys/node-io.js';

export { CliError, EXIT, FailedError, UsageError, type ExitCode } from './errors.js';
export type { CliIo, CniPorts, FileReader, InputStream, OutputStream, PathKind } from './io.js';
export { buildProgram, runTwill } from './program.js';
export { nodeIo } from './sys/node-io.js';
export { containerIdForNetns } from './cni/cni.js';
export * from './client/index.js';
export { unixHttpTransport, type UnixHttpOptions } from './client/sys/unix-http.js';

/**
 * Runs `twill` with `argv` (the arguments after the program name) and returns the exit
 * code: 0 done, 1 a check or operation failed, 2 the invocation or its inputs are
 * wrong. It never calls `process.exit`.
 * @param io - The ports; the process's own streams, environment and files when absent.
 */
export function main(argv: string[], io: CliIo = nodeIo()): Promise<number> {
  return runTwill(argv, io);
}
