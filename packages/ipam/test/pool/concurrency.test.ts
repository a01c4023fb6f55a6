import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import { parsePoolIpamConfig, PoolAllocator, SqliteStore } from '@twill/ipam';

import { bundleScript } from '../bundle.js';

// Real processes, as different nodes (sixteen processes per node, so a node races
// itself too), allocating at once from one pool in one SQLite file. Workers are bundled
// once (test/bundle.ts) and start as plain Node.
const run = promisify(execFile);
const packageRoot = join(import.meta.dirname, '..', '..');
const worker = join(import.meta.dirname, 'fixtures', 'pool-worker.ts');
const PROCESSES = 64;
const NODES = 4;
const PER_PROCESS = 3;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('many processes, one pool, one SQLite file', () => {
  it(`${PROCESSES} processes on ${NODES} nodes x ${PER_PROCESS} allocations: no duplicate address, no block claimed twice`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-pool-sqlite-'));
    dirs.push(dir);
    const path = join(dir, 'twill.db');
    // Create the schema once, so the workers do not race to set up WAL.
    await SqliteStore.open({ path }).close();
    const script = await bundleScript(worker);
    const outputs = await Promise.all(
      Array.from({ length: PROCESSES }, (_, i) =>
        run(process.execPath, [script, path, `node-${i % NODES}`, String(i), String(PER_PROCESS)], { cwd: packageRoot, timeout: 200_000 }),
      ),
    );
    const got = outputs.map(({ stdout }) => stdout.trim().split('\n').map((line) => JSON.parse(line) as { containerId: string; ip: string }));
    const ips = got.flat().map((a) => a.ip);
    expect(ips).toHaveLength(PROCESSES * PER_PROCESS);
    expect(new Set(ips).size).toBe(ips.length);

    const store = SqliteStore.open({ path });
    try {
      const allocator = new PoolAllocator({ config: parsePoolIpamConfig({ pools: [{ name: 'p', cidr: '10.20.0.0/24', blockSize: 28 }] }, { network: 'net' }), store });
      // A block claimed twice would show as an affinity listed by two nodes, or a block
      // whose affinity disagrees with its node's document: check() sees both.
      const report = await allocator.check();
      expect(report.problems).toEqual([]);
      expect(report.handles).toBe(PROCESSES * PER_PROCESS);
      const claims = (await store.list('twill-pools/affinity/')).flatMap((e) => (JSON.parse(e.value) as { blocks: string[] }).blocks);
      expect(new Set(claims).size).toBe(claims.length);
      expect((await allocator.usage())[0]?.allocated).toBe(BigInt(PROCESSES * PER_PROCESS));
      // Every node allocated from blocks it holds (the pool never ran short, so nobody borrowed).
      for (const [i, list] of got.entries()) {
        for (const { ip } of list) expect(await allocator.whyHeld(ip)).toMatchObject({ state: 'allocated', node: `node-${i % NODES}`, blockAffinity: `node-${i % NODES}` });
      }
    } finally {
      await store.close();
    }
  }, 240_000);
});
