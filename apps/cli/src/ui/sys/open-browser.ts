// Opens a URL in the desktop's browser with xdg-open, when it is installed: found on
// PATH, started detached (its output ignored), never waited for. Never throws.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

import { type BrowserOpener } from '../ui.js';

/** The PATH entry holding an executable `name`, or undefined. */
function findOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** The real opener: `xdg-open URL`, or `absent` when there is no xdg-open on PATH. */
export const xdgOpen: BrowserOpener = (url, env) => {
  const program = findOnPath('xdg-open', env['PATH']);
  if (program === undefined) return { opened: false, why: 'xdg-open is not installed' };
  try {
    const child = spawn(program, [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    return { opened: true, with: program };
  } catch (error) {
    return { opened: false, why: `${program} could not be started: ${error instanceof Error ? error.message : String(error)}` };
  }
};
