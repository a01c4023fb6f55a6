import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { FileStore, parseRangeIpamConfig, RangeAllocator } from '@twill/ipam';

// Twill's file store and the real host-local (Debian's containernetworking-plugins) take
// turns on one data directory. host-local as IPAM needs neither root nor a real netns
// for ADD and DEL: CNI_NETNS is only checked for presence.
const HOST_LOCAL = '/usr/lib/cni/host-local';
const present = existsSync(HOST_LOCAL);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function networkConfig(dataDir: string): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'interop',
    type: 'bridge',
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.20.0.0/28' }], [{ subnet: 'fd20::/124' }]] },
  };
}

function hostLocal(command: 'ADD' | 'DEL', dataDir: string, containerId: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      HOST_LOCAL,
      [],
      { env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' } },
      (error, stdout) => {
        if (error) return reject(new Error(`host-local ${command} failed: ${stdout}`, { cause: error }));
        if (command === 'DEL') return resolve([]);
        const result = JSON.parse(stdout) as { ips: { address: string }[] };
        resolve(result.ips.map((ip) => ip.address));
      },
    );
    child.stdin?.end(JSON.stringify(networkConfig(dataDir)));
  });
}

async function twill(dataDir: string): Promise<RangeAllocator> {
  const config = parseRangeIpamConfig(networkConfig(dataDir));
  return new RangeAllocator({ config, store: await FileStore.open({ root: dataDir }) });
}

describe.skipIf(!present)('interop with host-local (skipped: /usr/lib/cni/host-local is not installed)', () => {
  it('twill sees host-local\'s reservations, continues its round robin, and host-local sees twill\'s', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'twill-hl-'));
    dirs.push(dataDir);
    expect(await hostLocal('ADD', dataDir, 'hl-a')).toEqual(['10.20.0.2/28', 'fd20::2/124']);
    expect(await hostLocal('ADD', dataDir, 'hl-b')).toEqual(['10.20.0.3/28', 'fd20::3/124']);
    const allocator = await twill(dataDir);
    const mine = await allocator.allocate({ containerId: 'tw-c', ifName: 'eth0' });
    expect(mine.map((a) => a.address)).toEqual(['10.20.0.4/28', 'fd20::4/124']);
    // Written exactly as host-local writes: host-local then skips it.
    expect(readFileSync(join(dataDir, 'interop', '10.20.0.4'), 'utf8')).toBe('tw-c\r\neth0');
    expect(await hostLocal('ADD', dataDir, 'hl-d')).toEqual(['10.20.0.5/28', 'fd20::5/124']);
    // Each side releases the other's reservations.
    await hostLocal('DEL', dataDir, 'tw-c');
    expect(await allocator.release({ containerId: 'hl-a', ifName: 'eth0' })).toEqual(['10.20.0.2', 'fd20::2']);
    expect((await allocator.held()).map((h) => `${h.address} ${h.containerId}`)).toEqual([
      '10.20.0.3 hl-b',
      '10.20.0.5 hl-d',
      'fd20::3 hl-b',
      'fd20::5 hl-d',
    ]);
  });

  it('never hands out the same address when both fill the range in turns', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'twill-hl-'));
    dirs.push(dataDir);
    const allocator = await twill(dataDir);
    const seen: string[] = [];
    // 10.20.0.0/28 has 13 allocatable addresses (.2-.14): fill it alternately.
    for (let i = 0; i < 13; i++) {
      if (i % 2 === 0) seen.push(...(await hostLocal('ADD', dataDir, `hl-${i}`)));
      else seen.push(...(await allocator.allocate({ containerId: `tw-${i}`, ifName: 'eth0' })).map((a) => a.address));
    }
    expect(new Set(seen).size).toBe(26);
    await expect(allocator.allocate({ containerId: 'tw-full', ifName: 'eth0' })).rejects.toThrow('no IP addresses available in range set 0');
    await expect(hostLocal('ADD', dataDir, 'hl-full')).rejects.toThrow('host-local ADD failed');
  });

  it('flock mode takes host-local\'s own lock: host-local waits while twill holds it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'twill-hl-'));
    dirs.push(dataDir);
    const store = await FileStore.open({ root: dataDir, lock: 'flock' });
    let finished = false;
    const outcome = await store.exclusive('interop/', async () => {
      const add = hostLocal('ADD', dataDir, 'hl-wait').then((ips) => ((finished = true), ips));
      // An integration test against a real process: a short real wait is the point.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(finished).toBe(false);
      // Wrapped: returning the promise itself would make the session wait for host-local.
      return { add };
    });
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(await outcome.value.add).toEqual(['10.20.0.2/28', 'fd20::2/124']);
  });
});
