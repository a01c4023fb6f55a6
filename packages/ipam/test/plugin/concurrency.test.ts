import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { SqliteStore } from '../../src/store/sys/sqlite-store.js';
import { fixtureFile, FIXTURE_PROCESS, removeTempDirs, startPlugin, tempDir } from './plugin-exec.js';

// 64 twill-ipam processes ADD at once on one data directory. Each process loads first
// and says `ready`; only when all are up does every one get its config, so the 64
// allocations overlap instead of trickling in behind node's start-up. Every process
// gets its own dual-stack addresses, and the store holds exactly those. Node's start-up
// with tsx (about 1 s of CPU per process) dominates: ~35 s on an idle 2-core machine.
const PROCESSES = 64;
afterAll(removeTempDirs);

function config(dataDir: string, store: 'files' | 'sqlite') {
  return {
    cniVersion: '1.0.0',
    name: 'many',
    type: 'bridge',
    ipam: { type: 'twill-ipam', store, dataDir, ranges: [[{ subnet: '10.64.0.0/24' }], [{ subnet: 'fd64::/120' }]] },
  };
}

async function addAtOnce(dataDir: string, store: 'files' | 'sqlite'): Promise<string[]> {
  const file = await fixtureFile();
  const processes = Array.from({ length: PROCESSES }, (_, i) =>
    startPlugin(file, { command: 'ADD', config: config(dataDir, store), containerId: `ctr-${i}`, launcher: FIXTURE_PROCESS, deferStdin: true }),
  );
  await Promise.all(processes.map((p) => p.stderrSays('ready')));
  for (const p of processes) p.send();
  const outcomes = await Promise.all(processes.map((p) => p.done));
  return outcomes.flatMap((outcome) => {
    expect(outcome).toMatchObject({ exitCode: 0 });
    const ips = (outcome.output?.['ips'] ?? []) as { address: string }[];
    expect(ips).toHaveLength(2);
    return ips.map((ip) => ip.address.split('/')[0] ?? '');
  });
}

describe(`${PROCESSES} twill-ipam processes allocating at once`, () => {
  it('files store (host-local layout): no duplicates, one file per address', async () => {
    const dataDir = tempDir();
    const got = await addAtOnce(dataDir, 'files');
    expect(new Set(got).size).toBe(PROCESSES * 2);
    const files = readdirSync(join(dataDir, 'many')).filter((name) => /^[0-9a-f.:]+$/u.test(name) && /[.:]/u.test(name));
    expect(files.sort()).toEqual([...got].sort());
  }, 300_000);

  it('SQLite store: no duplicates, one row per address', async () => {
    const dataDir = tempDir();
    const got = await addAtOnce(dataDir, 'sqlite');
    expect(new Set(got).size).toBe(PROCESSES * 2);
    const store = SqliteStore.open({ path: join(dataDir, 'twill-ipam.db') });
    const rows = (await store.list('many/')).map((e) => e.key.slice('many/'.length)).filter((name) => !name.startsWith('last_reserved_ip.'));
    await store.close();
    expect(rows.sort()).toEqual([...got].sort());
  }, 300_000);
});
