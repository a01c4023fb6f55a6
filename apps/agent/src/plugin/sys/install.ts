// Installing `twill` into a CNI bin folder: the native forwarder as `twill` and the
// standalone plugin beside it as `twill.standalone`, its fallback when no agent answers
// (@twill/sys README, "Forwarder"), as @twill/ipam's installForwardedIpam does.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { type InstalledPlugin, installForwardedPlugin } from '@twill/cni-core';
import { sourceLauncherScript } from '@twill/ipam';

/** The plugin's name: the conflist's `type` and the file the runtime execs. */
export const TWILL_PLUGIN_NAME = 'twill';

/** Options of {@link twillSourceLauncher}. */
export interface TwillLauncherOptions {
  /** The node executable (default: the one running this process). */
  readonly node?: string;
}

/**
 * A `#!/bin/sh` script running the standalone plugin from this package's TypeScript
 * sources with tsx (tests and the lab: nothing built; about half a second of CPU per call).
 * @throws when tsx cannot be resolved.
 */
export function twillSourceLauncher(options: TwillLauncherOptions = {}): string {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return sourceLauncherScript({ node: options.node ?? process.execPath, tsx, entry: join(import.meta.dirname, 'cli.ts') });
}

/**
 * A `#!/bin/sh` script running the built standalone entry `bin/twill.js` (after
 * `npx tsc -p apps/agent/tsconfig.lib.json` and the packages it uses).
 */
export function twillBuiltLauncher(options: TwillLauncherOptions = {}): string {
  const entry = join(import.meta.dirname, '..', '..', '..', 'bin', 'twill.js');
  const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;
  return `#!/bin/sh\n# twill, the standalone CNI plugin (built).\nexec ${quote(options.node ?? process.execPath)} ${quote(entry)} "$@"\n`;
}

/** Options of {@link installTwill}. */
export interface InstallTwillOptions {
  /** The standalone plugin's executable text (default: {@link twillSourceLauncher}). */
  readonly standalone?: string;
  /** The forwarder executable (default: @twill/sys's build/Release/twill-forward). */
  readonly forwarder?: string;
}

/**
 * Installs `twill` into a CNI bin folder (created when missing): `<binDir>/twill` is the
 * native forwarder (calls go to the agent on `TWILL_AGENT_SOCKET`, default
 * `/run/twill/agent.sock`), `<binDir>/twill.standalone` the plugin itself, run when no
 * agent answers. Each file is written beside and renamed into place.
 * @throws PluginServerError `FORWARDER_MISSING` when @twill/sys's forwarder is not built.
 */
export function installTwill(binDir: string, options: InstallTwillOptions = {}): Promise<InstalledPlugin> {
  return installForwardedPlugin({
    binDir,
    name: TWILL_PLUGIN_NAME,
    standalone: options.standalone ?? twillSourceLauncher(),
    ...(options.forwarder === undefined ? {} : { forwarder: options.forwarder }),
  });
}
