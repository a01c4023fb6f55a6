// The CLI's ports: everything a command reads or writes outside itself, so commands
// run in-process in tests with captured output, a fake environment and scratch files.
// `sys/node-io.ts` is the real implementation.

import { type ConfigDirectory, type PluginExec, type ResultCache } from '@twill/cni-core';
import { type ObserverClient } from '@twill/flows';

import { type AgentTransport } from './client/transport.js';

/** A stream the CLI writes text to. */
export interface OutputStream {
  write(text: string): void;
  /** Whether it is a terminal (colour and alignment for people) or a pipe or file. */
  readonly isTTY: boolean;
}

/** A stream the CLI reads text from (stdin, for `apply -f -`). */
export interface InputStream {
  /** Everything until the end, as UTF-8. */
  readText(): Promise<string>;
}

/** What a path is on disk. */
export type PathKind = 'file' | 'directory' | 'missing';

/** Reading the files commands are given. */
export interface FileReader {
  /** What `path` is (following symbolic links). */
  kind(path: string): Promise<PathKind>;
  /** The entries directly in a directory, names only, in any order. */
  list(dir: string): Promise<string[]>;
  /** A file's text, as UTF-8. @throws with the system's message when it cannot be read. */
  readText(path: string): Promise<string>;
}

/** The CNI runtime's ports (cnitool's world: config files, plugin executables, libcni's cache). */
export interface CniPorts {
  readonly configDirectory: ConfigDirectory;
  pluginExec(): PluginExec;
  resultCache(dir: string): ResultCache;
}

/** Everything a command may touch. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly stdin: InputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The working directory relative paths are resolved against. */
  readonly cwd: string;
  readonly files: FileReader;
  readonly cni: CniPorts;
  /** A transport to the agent whose API listens on the Unix socket `socketPath`. */
  agentTransport(socketPath: string): AgentTransport;
  /** A client of the flow observer at `target` (`unix:///run/twill/observer.sock`, `unix:/path`, `host:port`). */
  observerClient(target: string): ObserverClient;
  /** The wall clock, in milliseconds since the epoch (`--since 5m`). */
  now(): number;
  /**
   * Calls `handler` on Ctrl-C (SIGINT) until the returned function is called; meanwhile
   * Ctrl-C does not end the process (`observe --follow` ends its stream and exits 0).
   */
  onInterrupt(handler: () => void): () => void;
}
