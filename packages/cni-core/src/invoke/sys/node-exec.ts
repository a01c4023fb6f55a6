// Runs plugin executables with Node's child_process: an argument array and no shell,
// the caller's environment plus the CNI_* variables, stdin fed and closed, bounded
// capture of stdout and stderr, and SIGKILL at the timeout.
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
        const child = spawn(request.file, [], {
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
        // A plugin may exit without reading all of stdin: that is its business.
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
