// Runs twill in-process over in-memory files and captured streams.

import { posix } from 'node:path';

import { nodeIo, runTwill, type CliIo, type PathKind } from '@twill/cli';

/** What one run printed and returned. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link twill}. */
export interface TwillOptions {
  /** Files by absolute path (or relative to `cwd`); folders are implied by the paths. */
  readonly files?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
  readonly tty?: boolean;
  readonly cwd?: string;
  /** Ports to use instead of the in-memory ones (the real CNI ports, say). */
  readonly cni?: CliIo['cni'];
  /** Use the real file system instead of `files`. */
  readonly realFiles?: boolean;
  /** What stdin holds (empty when absent). */
  readonly stdin?: string;
  /** The agent transport to use instead of the real one (HTTP on the named Unix socket). */
  readonly agentTransport?: CliIo['agentTransport'];
  /** The wall clock's reading, in milliseconds since the epoch (the real clock when absent). */
  readonly now?: number;
  /** Ctrl-C: aborting it is the user pressing Ctrl-C (the command must have asked to hear it). */
  readonly interrupt?: AbortSignal;
  /** Called with everything written to stdout so far, after each write (to wait for a followed flow). */
  readonly onStdout?: (stdout: string) => void;
}

/** Runs `twill ARGS...` in-process. */
export async function twill(args: readonly string[], options: TwillOptions = {}): Promise<Run> {
  const cwd = options.cwd ?? '/work';
  const files = new Map(Object.entries(options.files ?? {}).map(([path, text]) => [posix.resolve(cwd, path), text]));
  const kind = async (path: string): Promise<PathKind> => {
    if (files.has(path)) return 'file';
    const prefix = path.endsWith('/') ? path : `${path}/`;
    return [...files.keys()].some((f) => f.startsWith(prefix)) ? 'directory' : 'missing';
  };
  let stdout = '';
  let stderr = '';
  const real = nodeIo();
  const io: CliIo = {
    stdout: {
      write: (text) => {
        stdout += text;
        options.onStdout?.(stdout);
      },
      isTTY: options.tty === true,
    },
    stderr: { write: (text) => void (stderr += text), isTTY: options.tty === true },
    stdin: { readText: async () => options.stdin ?? '' },
    env: options.env ?? {},
    cwd,
    files: options.realFiles === true ? real.files : {
      kind,
      async list(dir) {
        const prefix = dir.endsWith('/') ? dir : `${dir}/`;
        return [...new Set([...files.keys()].filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length).split('/')[0] as string))];
      },
      async readText(path) {
        const text = files.get(path);
        if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
        return text;
      },
    },
    cni: options.cni ?? real.cni,
    agentTransport: options.agentTransport ?? real.agentTransport,
    observerClient: real.observerClient,
    now: () => options.now ?? Date.now(),
    onInterrupt(handler) {
      const signal = options.interrupt;
      if (signal === undefined) return () => undefined;
      signal.addEventListener('abort', handler);
      return () => signal.removeEventListener('abort', handler);
    },
  };
  const code = await runTwill(args, io);
  return { code, stdout, stderr };
}
