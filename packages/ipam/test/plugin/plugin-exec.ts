// Helpers of the process-level tests: a temporary CNI bin folder holding the twill-ipam
// source launcher, and a plugin exec with the CNI environment, as a runtime does it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { installForwardedIpam, installSourceLauncher } from '../../src/plugin/index.js';
import { bundleScript } from '../bundle.js';

/** Debian's containernetworking-plugins. */
export const DEBIAN_CNI_BIN = '/usr/lib/cni';

/** Temporary folders, removed by {@link removeTempDirs}. */
const dirs: string[] = [];

/** A fresh temporary folder. */
export function tempDir(prefix = 'twill-ipam-plugin-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Removes every folder {@link tempDir} made. */
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * A temporary CNI bin folder with `twill-ipam` in it: the package's source launcher
 * (`installSourceLauncher`, tsx) when `source`, otherwise a launcher of the plugin
 * bundled once per test process (plain Node, ten times cheaper per call here).
 */
export async function twillBinDir(options: { source?: boolean } = {}): Promise<{ dir: string; plugin: string }> {
  const dir = tempDir('twill-ipam-bin-');
  if (options.source === true) return { dir, plugin: await installSourceLauncher(dir) };
  const bundle = await bundleScript(join(import.meta.dirname, '..', '..', 'src', 'plugin', 'sys', 'cli.ts'));
  const plugin = join(dir, 'twill-ipam');
  writeFileSync(plugin, `#!/bin/sh\nexec '${process.execPath}' '${bundle}' "$@"\n`, { mode: 0o755 });
  return { dir, plugin };
}

/** The bundled plugin's launcher script (plain Node on the esbuild bundle of cli.ts). */
export async function bundledLauncher(): Promise<string> {
  const bundle = await bundleScript(join(import.meta.dirname, '..', '..', 'src', 'plugin', 'sys', 'cli.ts'));
  return `#!/bin/sh\nexec '${process.execPath}' '${bundle}' "$@"\n`;
}

/**
 * A temporary CNI bin folder with twill-ipam behind the native forwarder
 * (installForwardedIpam): `twill-ipam` is @twill/sys's twill-forward, and
 * `twill-ipam.standalone` the bundled plugin it falls back to.
 */
export async function forwardedBinDir(): Promise<{ dir: string; plugin: string; standalone: string }> {
  const dir = tempDir('twill-ipam-fwd-');
  const installed = await installForwardedIpam(dir, { standalone: await bundledLauncher() });
  return { dir, ...installed };
}

/**
 * How to run test/plugin/fixtures/plugin-process.ts: the plugin's own code, which says
 * `ready` on stderr before reading stdin (and can pause at TWILL_IPAM_TEST_PAUSE),
 * bundled so each process starts as plain Node.
 */
export const FIXTURE_PROCESS: readonly string[] = [process.execPath];

/** The fixture's bundled file. */
export function fixtureFile(): Promise<string> {
  return bundleScript(join(import.meta.dirname, 'fixtures', 'plugin-process.ts'));
}

/** One plugin call's outcome. */
export interface PluginOutcome {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** stdout parsed as JSON, or undefined when empty. */
  readonly output: Record<string, unknown> | undefined;
  readonly stderr: string;
}

/** What to call. */
export interface PluginCall {
  readonly command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';
  readonly config: unknown;
  readonly containerId?: string;
  readonly ifName?: string;
  readonly env?: Record<string, string>;
  /** Extra arguments before the file (`[node, flags...]` to run a script). */
  readonly launcher?: readonly string[];
  /** Hold stdin back until `send()` is called (default: written at once). */
  readonly deferStdin?: boolean;
}

/** Starts a plugin process with the CNI environment; `done` settles when it exits. */
export function startPlugin(file: string, call: PluginCall) {
  const [program, ...args] = [...(call.launcher ?? []), file];
  const child = spawn(program ?? file, args, {
    env: {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: call.command,
      CNI_CONTAINERID: call.containerId ?? 'ctr',
      CNI_NETNS: '/proc/self/ns/net',
      CNI_IFNAME: call.ifName ?? 'eth0',
      CNI_PATH: DEBIAN_CNI_BIN,
      ...call.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: join(import.meta.dirname, '..', '..'),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const send = (): void => {
    child.stdin.end(JSON.stringify(call.config));
  };
  if (call.deferStdin !== true) send();
  const done = new Promise<PluginOutcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      resolve({ exitCode, signal, output: stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>), stderr });
    });
  });
  /** Resolves once the process has written `text` to stderr. */
  const stderrSays = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const look = (): void => {
        if (stderr.includes(text)) resolve();
      };
      child.stderr.on('data', look);
      look();
      void done.then(() => (stderr.includes(text) ? resolve() : reject(new Error(`exited before saying ${text}: ${stderr}`))));
    });
  return { child, done, stderrSays, send };
}

/** Runs a plugin and waits for it. */
export function execPlugin(file: string, call: PluginCall): Promise<PluginOutcome> {
  return startPlugin(file, call).done;
}

/** Runs an ADD and returns the addresses (without prefix) of its result; throws with the error JSON on failure. */
export async function addAddresses(file: string, call: Omit<PluginCall, 'command'>): Promise<string[]> {
  const outcome = await execPlugin(file, { ...call, command: 'ADD' });
  if (outcome.exitCode !== 0) throw new Error(`${file} ADD ${call.containerId ?? ''} failed: ${JSON.stringify(outcome.output)} ${outcome.stderr}`);
  const ips = (outcome.output?.['ips'] ?? []) as { address: string }[];
  return ips.map((ip) => ip.address.split('/')[0] ?? ip.address);
}
