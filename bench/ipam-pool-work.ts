// The ipam-pool workload alone, for instruction counts that the machine's load does not
// move: warm-up (5,000 allocations, then 4 runs of 20,000), then ROUNDS runs of 20,000 on
// a fresh memory store each. Run it under valgrind with ROUNDS and with 0, and divide the
// difference by ROUNDS x 20,000:
//   valgrind --tool=cachegrind --cache-sim=no node --single-threaded --import tsx --conditions=@twill/source bench/ipam-pool-work.ts [MODULE] 5
// (--single-threaded: the compiler and the collector work on the main thread, so two runs
// of one build count nearly the same). MODULE (default @twill/ipam) is a build to measure.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Ipam {
  MemoryStore: new () => object;
  PoolAllocator: new (options: { config: unknown; store: object }) => { allocate(request: object): Promise<{ addresses: readonly { ip: string }[] }> };
  parsePoolIpamConfig(ipam: unknown, options: { network: string }): unknown;
}

const args = process.argv.slice(2);
const rounds = Number(args.at(-1));
if (!Number.isInteger(rounds) || rounds < 0) throw new Error('usage: ipam-pool-work.ts [MODULE] ROUNDS');
const module = args.length > 1 ? (args[0] as string) : '@twill/ipam';
const ipam = (await import(module.startsWith('.') || module.startsWith('/') ? pathToFileURL(resolve(module)).href : module)) as Ipam;
const config = ipam.parsePoolIpamConfig({ pools: [{ name: 'bench', cidr: '10.64.0.0/14', blockSize: 26 }], releaseCooldownSeconds: 0 }, { network: 'bench' });

async function run(allocations: number): Promise<void> {
  const allocator = new ipam.PoolAllocator({ config, store: new ipam.MemoryStore() });
  const got = new Array<string>(allocations);
  for (let i = 0; i < allocations; i++) {
    const { addresses } = await allocator.allocate({ containerId: `c${i}`, ifName: 'eth0', node: `node-${i % 256}`, namespace: 'default', pod: `pod-${i}` });
    got[i] = addresses[0]?.ip ?? '';
  }
  if (new Set(got).size !== allocations) throw new Error('duplicate addresses');
}

await run(5_000);
for (let i = 0; i < 4; i++) await run(20_000);
for (let i = 0; i < rounds; i++) await run(20_000);
