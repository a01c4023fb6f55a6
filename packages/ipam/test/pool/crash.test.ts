import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { parsePoolIpamConfig, PoolAllocator, SqliteStore } from '@twill/ipam';

import { bundleScript } from '../bundle.js';

// A process allocating from the pool as fast as it can is SIGKILLed at an arbitrary
// moment, mid-allocation more often than not. Whatever it had committed but not yet
// reported is then held by an attachment nobody knows: GC, with the reported
// attachments as the valid ones, must free exactly that, leaving no leak, no duplicate
// and a consistent store.
const worker = join(import.meta.dirname, 'fixtures', 'pool-worker.ts');
const config = parsePoolIpamConfig({ pools: [{ name: 'p', cidr: '10.20.0.0/24', blockSize: 28 }] }, { network: 'net' });

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// Runs the worker until it has reported `reports` allocations, then kills it.
async function killAfter(path: string, node: string, id: string, reports: number): Promise<{ containerId: string; ip: string }[]> {
  const script = await bundleScript(worker);
  const child = spawn(process.execPath, [script, path, node, id, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen: { containerId: string; ip: string }[] = [];
  let buffered = '';
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) seen.push(JSON.parse(line) as { containerId: string; ip: string });
    if (seen.length >= reports) child.kill('SIGKILL');
  });
  expect(await exited).toBe('SIGKILL');
  return seen;
}

describe('a pool allocator process killed with SIGKILL', () => {
  it('leaves nothing GC does not free: no leak, no duplicate, a clean check()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-pool-crash-'));
    dirs.push(dir);
    const path = join(dir, 'twill.db');
    await SqliteStore.open({ path }).close();
    const first = await killAfter(path, 'node-a', '1', 20);
    const second = await killAfter(path, 'node-b', '2', 5);
    const reported = [...first, ...second];

    const store = SqliteStore.open({ path });
    try {
      const allocator = new PoolAllocator({ config, store });
      const before = (await allocator.usage())[0]?.allocated ?? 0n;
      // The worker reports after each commit: at most one allocation per process was
      // committed and not reported.
      expect(before - BigInt(reported.length)).toBeGreaterThanOrEqual(0n);
      expect(before - BigInt(reported.length)).toBeLessThanOrEqual(2n);
      const freed = await allocator.gc(reported.map((r) => ({ containerID: r.containerId, ifname: 'eth0' })));
      expect(freed.length).toBe(Number(before) - reported.length);
      expect(freed.every((f) => f.reason === 'invalid-attachment')).toBe(true);
      expect((await allocator.check()).problems).toEqual([]);
      expect((await allocator.usage())[0]?.allocated).toBe(BigInt(reported.length));
      expect(new Set(reported.map((r) => r.ip)).size).toBe(reported.length);
      for (const { containerId, ip } of reported) expect(await allocator.whyHeld(ip)).toMatchObject({ state: 'allocated', containerId });
      // Allocation goes on without handing out a held address.
      const next = await allocator.allocate({ containerId: 'after', ifName: 'eth0', node: 'node-a' });
      expect(reported.map((r) => r.ip)).not.toContain(next.addresses[0]?.ip);
    } finally {
      await store.close();
    }
  }, 120_000);
});
