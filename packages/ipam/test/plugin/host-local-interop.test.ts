import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { addAddresses, DEBIAN_CNI_BIN, execPlugin, removeTempDirs, tempDir, twillBinDir } from './plugin-exec.js';

// Debian's real host-local and the twill-ipam executable on one data directory, each
// called as a runtime calls an IPAM plugin (host-local needs no root for ADD and DEL).
const HOST_LOCAL = join(DEBIAN_CNI_BIN, 'host-local');
const reason = existsSync(HOST_LOCAL) ? undefined : `needs ${HOST_LOCAL} (Debian's containernetworking-plugins)`;

describe.skipIf(reason)(`twill-ipam and host-local on one data directory${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let twill = '';
  beforeAll(async () => {
    twill = (await twillBinDir()).plugin;
  });
  afterAll(removeTempDirs);

  function config(dataDir: string, type: string) {
    return { cniVersion: '1.0.0', name: 'shared', type: 'bridge', ipam: { type, dataDir, ranges: [[{ subnet: '10.77.0.0/24' }], [{ subnet: 'fd77::/120' }]] } };
  }

  it('take turns: each continues the other\'s round robin and releases the other\'s addresses', async () => {
    const dataDir = tempDir();
    const got: string[][] = [];
    for (let i = 0; i < 6; i++) {
      const [file, type] = i % 2 === 0 ? [HOST_LOCAL, 'host-local'] : [twill, 'twill-ipam'];
      got.push(await addAddresses(file, { config: config(dataDir, type), containerId: `ctr-${i}` }));
    }
    expect(got).toEqual([2, 3, 4, 5, 6, 7].map((n) => [`10.77.0.${n}`, `fd77::${n}`]));
    expect(readFileSync(join(dataDir, 'shared', '10.77.0.3'), 'utf8')).toBe('ctr-1\r\neth0');
    // host-local releases twill's reservation, twill host-local's.
    expect(await execPlugin(HOST_LOCAL, { command: 'DEL', config: config(dataDir, 'host-local'), containerId: 'ctr-1' })).toMatchObject({ exitCode: 0 });
    expect(await execPlugin(twill, { command: 'DEL', config: config(dataDir, 'twill-ipam'), containerId: 'ctr-0' })).toMatchObject({ exitCode: 0 });
    const left = readdirSync(join(dataDir, 'shared')).filter((n) => n.startsWith('10.'));
    expect(left.sort()).toEqual(['10.77.0.4', '10.77.0.5', '10.77.0.6', '10.77.0.7']);
    // Both carry on after .7 (host-local's cursor is shared) and never hand out a held address.
    expect(await addAddresses(HOST_LOCAL, { config: config(dataDir, 'host-local'), containerId: 'ctr-6' })).toEqual(['10.77.0.8', 'fd77::8']);
    expect(await addAddresses(twill, { config: config(dataDir, 'twill-ipam'), containerId: 'ctr-7' })).toEqual(['10.77.0.9', 'fd77::9']);
  }, 120_000);

  it('both at once: never the same address', async () => {
    const dataDir = tempDir();
    const calls = Array.from({ length: 12 }, (_, i) =>
      i % 2 === 0
        ? addAddresses(HOST_LOCAL, { config: config(dataDir, 'host-local'), containerId: `hl-${i}` })
        : addAddresses(twill, { config: config(dataDir, 'twill-ipam'), containerId: `tw-${i}` }),
    );
    const got = (await Promise.all(calls)).flat();
    expect(got).toHaveLength(24);
    expect(new Set(got).size).toBe(24);
    const files = readdirSync(join(dataDir, 'shared')).filter((n) => /^[0-9a-f.:]+$/u.test(n) && /[.:]/u.test(n));
    expect(files.sort()).toEqual([...got].sort());
  }, 180_000);
});
