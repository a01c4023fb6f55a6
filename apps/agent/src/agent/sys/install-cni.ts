// `twill-agent install-cni`: what the DaemonSet's init container runs on each node. The
// plugin binaries go into the CNI bin folder (installTwill: the native forwarder as
// `twill`, the standalone plugin as `twill.standalone`) and the conflist into the CNI
// config folder, each atomically, so a runtime reading either folder meanwhile sees the
// old file or the new one, never half of one.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type InstalledPlugin } from '@twill/cni-core';

import { installTwill } from '../../plugin/sys/install.js';
import { type AgentConfig, twillConflist } from '../config.js';

/** Options of {@link installCni}. */
export interface InstallCniOptions {
  /** The standalone plugin's executable text (default: installTwill's, from sources with tsx). */
  readonly standalone?: string;
  /** The forwarder to copy (default: @twill/sys's build). */
  readonly forwarder?: string;
}

/** What {@link installCni} did. */
export interface InstalledCni {
  readonly binaries: InstalledPlugin;
  /** The conflist's path. */
  readonly conflist: string;
  /** False when the conflist already had this content (it was left untouched). */
  readonly conflistChanged: boolean;
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Writes `content` to `path` atomically: a temporary file in the same folder (hidden and
 * ending in `.tmp`, so runtimes scanning the folder for `.conf`/`.conflist`/`.json`
 * ignore it), mode 0644, flushed, then renamed over `path`. Unchanged content is not
 * rewritten. The folder is created when missing.
 * @returns whether the file changed.
 */
export async function writeFileAtomically(path: string, content: string, folder: string): Promise<boolean> {
  try {
    if ((await readFile(path, 'utf8')) === content) return false;
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
  await mkdir(folder, { recursive: true, mode: 0o755 });
  const temporary = join(folder, `.twill-${randomBytes(6).toString('hex')}.tmp`);
  try {
    // flush: the data is on disk before the rename makes it the file (a power cut leaves old or new).
    await writeFile(temporary, content, { mode: 0o644, flush: true });
    // The mode asked of open(2) is masked by the umask; the conflist must be world-readable.
    await chmod(temporary, 0o644);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return true;
}

/**
 * Installs twill on this node: the binaries into `config.cni.binDir`, then the conflist
 * ({@link twillConflist}) as `<confDir>/<conflistName>`. Idempotent: run again, it
 * replaces the binaries and leaves an identical conflist alone.
 * @throws PluginServerError `FORWARDER_MISSING` when the forwarder is not built; a Node
 * error naming the path when a folder cannot be written.
 */
export async function installCni(config: AgentConfig, options: InstallCniOptions = {}): Promise<InstalledCni> {
  const binaries = await installTwill(config.cni.binDir, {
    ...(options.standalone === undefined ? {} : { standalone: options.standalone }),
    ...(options.forwarder === undefined ? {} : { forwarder: options.forwarder }),
  });
  const conflist = join(config.cni.confDir, config.cni.conflistName);
  const conflistChanged = await writeFileAtomically(conflist, `${JSON.stringify(twillConflist(config), null, 2)}\n`, config.cni.confDir);
  return { binaries, conflist, conflistChanged };
}
