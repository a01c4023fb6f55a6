// The real ports: the process's streams and environment, node:fs, and cni-core's
// Linux implementations (config directory, plugin exec, libcni's result cache), and
// HTTP on the agent's API socket, gRPC to the flow observer, the clock and Ctrl-C.

import { readdir, readFile, stat } from 'node:fs/promises';

import { fileResultCache, nodeConfigDirectory, nodePluginExec } from '@twill/cni-core';
import { connectObserver } from '@twill/flows';

import { unixHttpTransport } from '../client/sys/unix-http.js';
import { type CliIo, type PathKind } from '../io.js';

/** The process's own I/O. */
export function nodeIo(): CliIo {
  // `twill ... | head`: a reader that stopped reading is not an error of ours.
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) {
      stream.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') throw error;
      });
    }
  }
  return {
    stdout: { write: (text) => void process.stdout.write(text), isTTY: process.stdout.isTTY === true },
    stderr: { write: (text) => void process.stderr.write(text), isTTY: process.stderr.isTTY === true },
    stdin: {
      async readText() {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString('utf8');
      },
    },
    env: process.env,
    cwd: process.cwd(),
    files: {
      async kind(path): Promise<PathKind> {
        try {
          return (await stat(path)).isDirectory() ? 'directory' : 'file';
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return 'missing';
          throw error;
        }
      },
      list: (dir) => readdir(dir),
      readText: (path) => readFile(path, 'utf8'),
    },
    cni: {
      configDirectory: nodeConfigDirectory,
      pluginExec: () => nodePluginExec(),
      resultCache: (dir) => fileResultCache(dir),
    },
    agentTransport: (socketPath) => unixHttpTransport(socketPath),
    observerClient: (target) => connectObserver(target),
    now: () => Date.now(),
    onInterrupt(handler) {
      const listener = (): void => handler();
      process.on('SIGINT', listener);
      return () => void process.off('SIGINT', listener);
    },
  };
}
