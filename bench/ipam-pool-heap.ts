// Heap bytes per allocation of the ipam-pool workload on the memory store, figures that
// the machine's load does not move (unlike allocations per second): bytes still held
// after a full GC (what the store keeps, plus the caller's result strings), and bytes
// allocated in all (sampled by V8's heap profiler, objects already collected included).
// Usage: node --expose-gc --import tsx --conditions=@twill/source bench/ipam-pool-heap.ts [MODULE]
// MODULE (default @twill/ipam) lets an earlier build of the package be measured the same way.
import { Session } from 'node:inspector/promises';

interface Ipam {
  MemoryStore: new () => object;
  PoolAllocator: new (options: { config: unknown; store: object }) => { allocate(request: object): Promise<{ addresses: readonly { ip: string }[] }> };
  parsePoolIpamConfig(ipam: unknown, options: { network: string }): unknown;
}

interface ProfileNode {
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

const ipam = (await import(process.argv[2] ?? '@twill/ipam')) as Ipam;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const config = ipam.parsePoolIpamConfig({ pools: [{ name: 'bench', cidr: '10.64.0.0/14', blockSize: 26 }], releaseCooldownSeconds: 0 }, { network: 'bench' });

// The bench's workload (ipam-pool.bench.ts): 256 nodes in turn, results kept.
async function run(allocations: number, keep: unknown[]): Promise<void> {
  const store = new ipam.MemoryStore();
  const allocator = new ipam.PoolAllocator({ config, store });
  const got = new Array<string>(allocations);
  for (let i = 0; i < allocations; i++) {
    const { addresses } = await allocator.allocate({ containerId: `c${i}`, ifName: 'eth0', node: `node-${i % 256}`, namespace: 'default', pod: `pod-${i}` });
    got[i] = addresses[0]?.ip ?? '';
  }
  keep.push(store, got);
}

await run(5_000, []); // warm-up
const n = 50_000;
const keep: unknown[] = [];
gc();
const before = process.memoryUsage().heapUsed;
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
await run(n, keep);
const { profile } = await session.post('HeapProfiler.stopSampling');
const total = (node: ProfileNode): number => node.selfSize + node.children.reduce((sum, child) => sum + total(child), 0);
gc();
const held = process.memoryUsage().heapUsed - before;
process.stdout.write(`${n} allocations: held ${Math.round(held / n)} bytes per allocation after GC, allocated ~${Math.round(total(profile.head as unknown as ProfileNode) / n)} bytes per allocation\n`);
