// Writes the source launcher (../launcher.ts) into a CNI bin folder.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { type InstalledPlugin, installForwardedPlugin } from '@twill/cni-core';

import { sourceLauncherScript } from '../launcher.js';

/** Options of {@link installSourceLauncher}. */
export interface InstallSourceLauncherOptions {
  /** The executable's name in the folder (default `twill-ipam`, the `ipam.type` to use). */
  readonly name?: string;
  /** The node executable (default: the one running this process). */
  readonly node?: string;
}

// The source launcher's text: node on this package's cli.ts with tsx.
function sourceLauncher(node = process.execPath): string {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return sourceLauncherScript({ node, tsx, entry: join(import.meta.dirname, 'cli.ts') });
}

/**
 * Writes an executable `twill-ipam` launcher into `binDir` (created when missing) that
 * runs the plugin from this package's TypeScript sources with tsx: for tests and the
 * lab, where nothing is built. Needs the workspace's node_modules (tsx).
 * @returns the launcher's path.
 * @throws when tsx cannot be resolved or the file cannot be written.
 */
export async function installSourceLauncher(binDir: string, options: InstallSourceLauncherOptions = {}): Promise<string> {
  const file = join(binDir, options.name ?? 'twill-ipam');
  await mkdir(binDir, { recursive: true });
  await writeFile(file, sourceLauncher(options.node), { mode: 0o755 });
  await chmod(file, 0o755);
  return file;
}

/** Options of {@link installForwardedIpam}. */
export interface InstallForwardedIpamOptions {
  /**
   * The standalone plugin's executable text, run when no server answers (default: the
   * source launcher, node with tsx on this package's sources).
   */
  readonly standalone?: string;
  /** The forwarder executable (default: @twill/sys's build/Release/twill-forward). */
  readonly forwarder?: string;
}

/**
 * Installs twill-ipam behind the native forwarder into a CNI bin folder: `twill-ipam`
 * is the forwarder (calls go to `twill-ipam serve` on `TWILL_AGENT_SOCKET`, default
 * `/run/twill/agent.sock`) and `twill-ipam.standalone` the plugin itself, run when no
 * server answers. Each file is written beside and renamed into place.
 * @throws PluginServerError `FORWARDER_MISSING` when @twill/sys's forwarder is not built.
 */
export function installForwardedIpam(binDir: string, options: InstallForwardedIpamOptions = {}): Promise<InstalledPlugin> {
  return installForwardedPlugin({
    binDir,
    name: 'twill-ipam',
    standalone: options.standalone ?? sourceLauncher(),
    ...(options.forwarder === undefined ? {} : { forwarder: options.forwarder }),
  });
}
