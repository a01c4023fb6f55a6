// How fast the pool allocator allocates over the Kubernetes store (the API test server,
// through client-node, in this process) against the SQLite store, side by side: rounds
// alternate between the two, and the medians are compared. A script, not a test:
//
//   cd apps/agent && npx tsx --conditions=@twill/source test/kubernetes/store-rate.ts [allocations per round] [rounds]
//
// The test server runs in the same process, so the Kubernetes figure includes the
// server's own work (JSON, schema validation, watch fan-out) as a real cluster's would
// be spent elsewhere; it is an upper bound on the client's cost, not a cluster's rate.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parsePoolIpamConfig, PoolAllocator, SqliteStore, type Store } from '@twill/ipam';

import { openKubernetesStore } from '../../src/agent/kubernetes/sys/store.js';
import { twillCrds } from '../../src/agent/manifests/twill-crds.js';
import { startKubernetesTestServer } from './api-server.js';

const perRound = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 5);
const config = parsePoolIpamConfig({ pools: [{ name: 'p', cidr: '10.0.0.0/8', blockSize: 26 }] }, { network: 'net' });

async function round(store: Store, name: string, r: number): Promise<number> {
  const allocator = new PoolAllocator({ config, store });
  const start = process.hrtime.bigint();
  for (let i = 0; i < perRound; i++) await allocator.allocate({ containerId: `${name}-${r}-${i}`, ifName: 'eth0', node: `node-${r}` });
  return perRound / (Number(process.hrtime.bigint() - start) / 1e9);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const dir = mkdtempSync(join(tmpdir(), 'twill-store-rate-'));
const api = await startKubernetesTestServer();
try {
  for (const crd of twillCrds()) await api.create(crd);
  const kubernetes = await openKubernetesStore({ kubeConfig: api.kubeConfig() });
  const sqlite = SqliteStore.open({ path: join(dir, 'twill.db') });
  // One allocation each first: connections, schema, JIT.
  await round(kubernetes, 'warm', -1);
  await round(sqlite, 'warm', -1);
  const rates = { kubernetes: [] as number[], sqlite: [] as number[] };
  let requests = 0;
  for (let r = 0; r < rounds; r++) {
    const before = api.requests.length;
    rates.kubernetes.push(await round(kubernetes, 'k', r));
    requests += api.requests.length - before;
    rates.sqlite.push(await round(sqlite, 's', r));
  }
  const k = median(rates.kubernetes);
  const s = median(rates.sqlite);
  const line = (name: string, values: readonly number[]): string => `${name}: median ${median(values).toFixed(0)}/s (rounds: ${values.map((v) => v.toFixed(0)).join(', ')})`;
  process.stdout.write(
    `${perRound} serial allocations per round, ${rounds} rounds, alternating\n` +
      `${line('kubernetes (test server, same process)', rates.kubernetes)}\n` +
      `${line('sqlite', rates.sqlite)}\n` +
      `sqlite / kubernetes: ${(s / k).toFixed(1)}x; API requests per allocation: ${(requests / (perRound * rounds)).toFixed(2)}\n`,
  );
  await kubernetes.close();
  await sqlite.close();
} finally {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
}
