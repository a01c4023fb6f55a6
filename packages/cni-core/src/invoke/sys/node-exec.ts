// Runs plugin executables with Node's child_process: an argument array and no shell,
// the caller's environment plus the CNI_* variables, stdin fed and closed, bounded
// capture of stdout and stderr, and SIGKILL at the timeout to the plugin's whole process
// group, so that a child it started (a shell script's `sleep`, an IPAM delegate) dies
// with it instead of holding its stdout open and the call hanging.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

import { type ExecRequest, type ExecResult, type PluginExec } from '../types.js';

/** Options of {@link nodePluginExec}. */
export interface NodePluginExecOptions {
  /** The environment plugins inherit, under the CNI_* variables (default `process.env`, as libcni). */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
  /** Largest stdout kept, in bytes (default 16 MiB); a plugin printing more is killed. */
  readonly maxStdoutBytes?: number;
  /**
   * How a plugin file is started (default: the file itself, no arguments). A launcher
   * that execs the plugin in place, such as `nsenter --net=PATH -- FILE`, keeps the exit
   * code and signals the plugin's own.
   */
  readonly command?: (file: string) => {
    /** The program to run. */
    file: string;
    /** Its arguments. */
    args: string[];
  };
}

const STDERR_KEPT = 64 * 1024;

/** The {@link PluginExec} that runs real executables. */
export function nodePluginExec(options: NodePluginExecOptions = {}): PluginExec {
  const maxStdout = options.maxStdoutBytes ?? 16 * 1024 * 1024;
  return {
    // Synchronous on purpose: two stat-like calls cost microseconds, their async forms
    // a thread-pool round trip each on every plugin call.
    async find(type, paths) {
      for (const dir of paths) {
        if (dir === '') continue;
        const file = join(dir, type);
        try {
          accessSync(file, constants.X_OK);
          if (statSync(file).isFile()) return file;
        } catch {
          // not here: try the next folder
        }
      }
      return undefined;
    },

    exec(request: ExecRequest): Promise<ExecResult> {
      return new Promise((resolve, reject) => {
        const command = options.command?.(request.file) ?? { file: request.file, args: [] };
        const child = spawn(command.file, command.args, {
          env: { ...(options.baseEnv ?? process.env), ...request.env },
          stdio: ['pipe', 'pipe', 'pipe'],
          // Its own process group (setsid), so a kill reaches everything it started.
          detached: true,
        });
        const killAll = (): void => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          } catch {
            // the group is gone already
          }
          child.kill('SIGKILL');
        };
        const out: Buffer[] = [];
        let outBytes = 0;
        let err = '';
        let timedOut = false;
        let overflow = false;
        const timer = setTimeout(() => {
          timedOut = true;
          killAll();
        }, request.timeoutMs);
        child.stdout.on('data', (chunk: Buffer) => {
          outBytes += chunk.length;
          if (outBytes > maxStdout) {
            overflow = true;
            killAll();
            return;
          }
          out.push(chunk);
        });
        child.stderr.on('data', (chunk: Buffer) => {
          err = (err + chunk.toString('utf8')).slice(-STDERR_KEPT);
        });
        // A plugin may exit without reading all of stdin: that is its business.
        child.stdin.on('error', () => undefined);
        child.stdin.end(request.stdin);
        // Once a killed plugin has exited, stop waiting for its pipes: a descendant that
        // left its process group could otherwise hold them open for ever.
        child.on('exit', () => {
          if (timedOut || overflow) {
            child.stdout.destroy();
            child.stderr.destroy();
          }
        });
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
