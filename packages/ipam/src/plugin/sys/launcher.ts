// Writes the source launcher (../launcher.ts) into a CNI bin folder.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { sourceLauncherScript } from '../launcher.js';

/** Options of {@link installSourceLauncher}. */
export interface InstallSourceLauncherOptions {
  /** The executable's name in the folder (default `twill-ipam`, the `ipam.type` to use). */
  readonly name?: string;
  /** The node executable (default: the one running this process). */
  readonly node?: string;
}

/**
 * Writes an executable `twill-ipam` launcher into `binDir` (created when missing) that
 * runs the plugin from this package's TypeScript sources with tsx: for tests and the
 * lab, where nothing is built. Needs the workspace's node_modules (tsx).
 * @returns the launcher's path.
 * @throws when tsx cannot be resolved or the file cannot be written.
 */
export async function installSourceLauncher(binDir: string, options: InstallSourceLauncherOptions = {}): Promise<string> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const entry = join(import.meta.dirname, 'cli.ts');
  const file = join(binDir, options.name ?? 'twill-ipam');
  await mkdir(binDir, { recursive: true });
  await writeFile(file, sourceLauncherScript({ node: options.node ?? process.execPath, tsx, entry }), { mode: 0o755 });
  await chmod(file, 0o755);
  return file;
}
