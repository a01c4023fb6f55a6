// Installing the packed tarballs as a user does, for the pack test: child processes run
// without blocking (a registry stand-in answers in this process meanwhile), and the
// native builds an install runs.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';

import { workspaceRoot } from '../boundaries.js';

/** How a child process ended, and what it printed. */
export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command` to its end (10 minutes at most), with `input` on its stdin. */
export function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string | undefined }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: 600_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** {@link run}, throwing with everything printed when the exit code is not 0. */
export async function runOk(command: string, args: readonly string[], cwd: string): Promise<string> {
  const result = await run(command, args, { cwd });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} in ${cwd} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** A registry that has nothing: every request is answered 404 and recorded. */
export interface EmptyRegistry {
  readonly url: string;
  /** The paths asked for, in order. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/**
 * Starts an {@link EmptyRegistry} on 127.0.0.1. Given as the `@twill` scope's registry, it
 * makes sure every `@twill/*` package of an install comes from the tarballs on the command
 * line: npm asks the registry about them (and takes the 404), but nothing it could install.
 */
export async function startEmptyRegistry(): Promise<EmptyRegistry> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(decodeURIComponent(request.url ?? ''));
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The folders of every installed copy of `name` under `root` (a node_modules folder), nested ones too. */
export function installedCopies(root: string, name: string): string[] {
  const found: string[] = [];
  if (!existsSync(root)) return found;
  for (const entry of readdirSync(root)) {
    const names = entry.startsWith('@') ? readdirSync(join(root, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const pkg of names) {
      if (pkg === name) found.push(join(root, pkg));
      found.push(...installedCopies(join(root, pkg, 'node_modules'), name));
    }
  }
  return found;
}

function versionAt(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The version of `name` this workspace has installed. */
export function workspaceVersion(name: string): string {
  return versionAt(join(workspaceRoot, 'node_modules', name));
}

/**
 * The install scripts of a global install under `prefix` that was made with
 * `--ignore-scripts`, as a user's install runs them: @twill/sys builds its addon and
 * forwarder with node-gyp from the tarball's sources, netlink takes its prebuilt binary.
 * better-sqlite3 (a dependency of @twill/ipam) would compile SQLite for minutes when its
 * prebuilt download fails offline; its binary from this workspace's install is the same
 * file when the versions match, and is copied.
 */
export async function runInstallScripts(prefix: string): Promise<void> {
  await runOk('npm', ['rebuild', '--global', '--prefix', prefix, '--loglevel=error', '@twill/sys', 'netlink'], prefix);
  const binary = join('build', 'Release', 'better_sqlite3.node');
  for (const sqlite of installedCopies(join(prefix, 'lib', 'node_modules'), 'better-sqlite3')) {
    if (versionAt(sqlite) === workspaceVersion('better-sqlite3')) {
      mkdirSync(join(sqlite, 'build', 'Release'), { recursive: true });
      copyFileSync(join(workspaceRoot, 'node_modules', 'better-sqlite3', binary), join(sqlite, binary));
    } else {
      await runOk('npm', ['rebuild', '--global', '--prefix', prefix, '--loglevel=error', 'better-sqlite3'], prefix);
    }
  }
}
