// Runs plugin executables inside a given network namespace with util-linux's nsenter:
// `nsenter --net=PATH FILE`, an argument array and no shell. nsenter execs the plugin
// after setns(2) (no fork for --net), so the exit code and signals are the plugin's own.
import { spawn } from 'node:child_process';

import { nodePluginExec } from '../../invoke/sys/node-exec.js';
import { type ExecRequest, type ExecResult, type PluginExec } from '../../invoke/types.js';

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

const STDERR_KEPT = 64 * 1024;

/** The program and arguments that run `file` inside the namespace at `netns`. */
export function nsenterCommand(netns: string, file: string, nsenter = 'nsenter'): { file: string; args: string[] } {
  // `--net=PATH` as one argument: a path starting with "-" cannot be taken for an option.
  return { file: nsenter, args: [`--net=${netns}`, '--', file] };
}

/**
 * The {@link PluginExec} that runs real executables inside the network namespace
 * `options.netns`, as if it were the host. Finding plugins is as `nodePluginExec`.
 * Needs CAP_SYS_ADMIN (setns).
 */
export function nsenterPluginExec(options: NsenterPluginExecOptions): PluginExec {
  const maxStdout = options.maxStdoutBytes ?? 16 * 1024 * 1024;
  const finder = nodePluginExec(options.baseEnv ? { baseEnv: options.baseEnv } : {});
  return {
    find: (type, paths) => finder.find(type, paths),
    exec(request: ExecRequest): Promise<ExecResult> {
      const command = nsenterCommand(options.netns, request.file, options.nsenter);
      return new Promise((resolve, reject) => {
        const child = spawn(command.file, command.args, {
          env: { ...(options.baseEnv ?? process.env), ...request.env },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        const out: Buffer[] = [];
        let outBytes = 0;
        let err = '';
        let timedOut = false;
        let overflow = false;
        const timer = setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, request.timeoutMs);
        child.stdout.on('data', (chunk: Buffer) => {
          outBytes += chunk.length;
          if (outBytes > maxStdout) {
            overflow = true;
            child.kill('SIGKILL');
            return;
          }
          out.push(chunk);
        });
        child.stderr.on('data', (chunk: Buffer) => {
          err = (err + chunk.toString('utf8')).slice(-STDERR_KEPT);
        });
        child.stdin.on('error', () => undefined);
        child.stdin.end(request.stdin);
        child.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          resolve({
            exitCode: overflow ? null : code,
            signal: overflow ? 'SIGKILL (stdout over the limit)' : signal,
            stdout: new Uint8Array(Buffer.concat(out)),
            stderr: err,
            timedOut,
          });
        });
      });
    },
  };
}
