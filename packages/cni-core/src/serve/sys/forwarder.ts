// Where the native forwarder is, and installing it under a plugin's name. The
// executable is built by @twill/sys (`npm run build:native`); it is found through that
// package's folder, without loading any of its code.
import { copyFile, chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { PLUGIN_SERVER_ERROR, PluginServerError } from '../errors.js';

/** The suffix of the standalone plugin the forwarder execs when no server answers. */
export const STANDALONE_SUFFIX = '.standalone';

/**
 * The path of @twill/sys's `build/Release/twill-forward`.
 * @throws PluginServerError `FORWARDER_MISSING` when it is not built (run
 * `npm run build:native -w @twill/sys`).
 */
export function forwarderPath(): string {
  const sysDir = dirname(createRequire(import.meta.url).resolve('@twill/sys/package.json'));
  const file = join(sysDir, 'build', 'Release', 'twill-forward');
  if (!existsSync(file)) {
    throw new PluginServerError(PLUGIN_SERVER_ERROR.FORWARDER_MISSING, `${file} is not built: run \`npm run build:native -w @twill/sys\``);
  }
  return file;
}

/** Options of {@link installForwardedPlugin}. */
export interface InstallForwardedPluginOptions {
  /** The CNI bin folder (`/opt/cni/bin`), created when missing. */
  readonly binDir: string;
  /** The plugin's name, the `type` a config names (`twill-ipam`). */
  readonly name: string;
  /** The standalone plugin's executable text (a script with its `#!` line), run when no server answers. */
  readonly standalone: string;
  /** The forwarder to copy (default {@link forwarderPath}). */
  readonly forwarder?: string;
}

/** What {@link installForwardedPlugin} wrote. */
export interface InstalledPlugin {
  /** `<binDir>/<name>`: the forwarder. */
  readonly plugin: string;
  /** `<binDir>/<name>.standalone`. */
  readonly standalone: string;
}

// Writes through a temporary name in the same folder and renames: a runtime exec'ing
// the plugin meanwhile sees the old file or the new one, never half of one.
async function atomically(target: string, write: (temporary: string) => Promise<void>): Promise<void> {
  const temporary = join(dirname(target), `.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    await write(temporary);
    await chmod(temporary, 0o755);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Installs a forwarded plugin into a CNI bin folder: the standalone plugin as
 * `<name>.standalone` first, then the forwarder as `<name>`, each atomically (written
 * beside, renamed into place), both mode 0755. The forwarder sends each call to the
 * plugin server on `TWILL_AGENT_SOCKET` (default `/run/twill/agent.sock`) and execs
 * `<name>.standalone` when nothing listens there.
 * @throws PluginServerError `FORWARDER_MISSING`; a Node error when a file cannot be written.
 */
export async function installForwardedPlugin(options: InstallForwardedPluginOptions): Promise<InstalledPlugin> {
  const plugin = join(options.binDir, options.name);
  const standalone = `${plugin}${STANDALONE_SUFFIX}`;
  const forwarder = options.forwarder ?? forwarderPath();
  await mkdir(options.binDir, { recursive: true });
  await atomically(standalone, (temporary) => writeFile(temporary, options.standalone));
  await atomically(plugin, (temporary) => copyFile(forwarder, temporary));
  return { plugin, standalone };
}
