// Root-test helpers: run the reference plugins inside a scratch "host" namespace, so the
// bridge, iptables rules and qdiscs they make on the host side never touch the real host.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type ScratchNetns } from '@twill/sys/testing';

import { nodePluginExec } from '../../src/invoke/sys/node-exec.js';
import { type PluginExec } from '../../src/invoke/types.js';

/**
 * A {@link PluginExec} that runs each plugin inside `host` with `ip netns exec NS PLUGIN`
 * (an argument array; it execs the plugin in place, so the timeout's kill reaches it).
 * `ip netns exec` also remounts /sys for the namespace, which tuning and bandwidth read.
 */
export function netnsPluginExec(host: ScratchNetns): PluginExec {
  return nodePluginExec({ command: (file) => ({ file: 'ip', args: ['netns', 'exec', host.name, file] }) });
}

/** A fresh temporary folder. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'twill-invoke-root-'));
}

/** host-local's reservations under `dataDir/network`: one file named by each reserved address. */
export function hostLocalReservations(dataDir: string, network: string): string[] {
  try {
    return readdirSync(join(dataDir, network)).filter((name) => /^[0-9a-f.:]+$/u.test(name) && /[.:]/u.test(name));
  } catch {
    return [];
  }
}
