// Runs plugin executables inside a given network namespace with util-linux's nsenter:
// `nsenter --net=PATH FILE`, an argument array and no shell. nsenter execs the plugin
// after setns(2) (no fork for --net), so the exit code and signals are the plugin's own.
import { nodePluginExec } from '../../invoke/sys/node-exec.js';
import { type PluginExec } from '../../invoke/types.js';

/** Options of {@link nsenterPluginExec}. */
export interface NsenterPluginExecOptions {
  /** Path of the network namespace the plugins run in (`/run/netns/NAME`). */
  readonly netns: string;
  /** The nsenter executable (default `nsenter`, found on the base environment's PATH). */
  readonly nsenter?: string;
  /** The environment plugins inherit, under the CNI_* variables (default `process.env`). */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
  /** Largest stdout kept, in bytes (default 16 MiB); a plugin printing more is killed. */
  readonly maxStdoutBytes?: number;
}

/** The program and arguments that run `file` inside the namespace at `netns`. */
export function nsenterCommand(
  netns: string,
  file: string,
  nsenter = 'nsenter',
): {
  /** The program to run: `nsenter`. */
  file: string;
  /** Its arguments: `--net=<netns> -- <file>`. */
  args: string[];
} {
  // `--net=PATH` as one argument: a path starting with "-" cannot be taken for an option.
  return { file: nsenter, args: [`--net=${netns}`, '--', file] };
}

/**
 * The {@link PluginExec} that runs real executables inside the network namespace
 * `options.netns`, as if it were the host. Finding plugins is as `nodePluginExec`.
 * Needs CAP_SYS_ADMIN (setns).
 */
export function nsenterPluginExec(options: NsenterPluginExecOptions): PluginExec {
  return nodePluginExec({
    ...(options.baseEnv ? { baseEnv: options.baseEnv } : {}),
    ...(options.maxStdoutBytes !== undefined ? { maxStdoutBytes: options.maxStdoutBytes } : {}),
    command: (file) => nsenterCommand(options.netns, file, options.nsenter),
  });
}
