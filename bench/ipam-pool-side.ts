// Two builds of @twill/ipam side by side on the ipam-pool workload (memory store): runs of
// 50,000 allocations alternating between them in one process (A B, then B A, ...), so
// that the machine's load falls on both alike; medians of allocations per CPU-second
// (this process's user + system time) and their ratio.
// Usage: node --import tsx --conditions=@twill/source bench/ipam-pool-side.ts A B [ROUNDS]
// A and B are module specifiers or paths of builds (`@twill/ipam` is the working tree),
// for example the package's src at an earlier commit bundled with esbuild into one file.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Ipam {
  MemoryStore: new () => object;
  PoolAllocator: new (options: { config: unknown; store: object }) => { allocate(request: object): Promise<{ addresses: readonly { ip: string }[] }> };
  parsePoolIpamConfig(ipam: unknown, options: { network: string }): unknown;
}

const specifier = (arg: string | undefined): string => {
  if (arg === undefined) throw new Error('usage: ipam-pool-side.ts A B [ROUNDS]');
  return arg.startsWith('.') || arg.startsWith('/') ? pathToFileURL(resolve(arg)).href : arg;
};
const builds = [(await import(specifier(process.argv[2]))) as Ipam, (await import(specifier(process.argv[3]))) as Ipam];
const rounds = Number(process.argv[4] ?? 8);

// The bench's workload (ipam-pool.bench.ts): 256 nodes in turn, from an empty store.
async function perCpuSecond(ipam: Ipam, allocations: number): Promise<number> {
  const config = ipam.parsePoolIpamConfig({ pools: [{ name: 'bench', cidr: '10.64.0.0/14', blockSize: 26 }], releaseCooldownSeconds: 0 }, { network: 'bench' });
  const allocator = new ipam.PoolAllocator({ config, store: new ipam.MemoryStore() });
  const got = new Array<string>(allocations);
  const cpu = process.cpuUsage();
  for (let i = 0; i < allocations; i++) {
    const { addresses } = await allocator.allocate({ containerId: `c${i}`, ifName: 'eth0', node: `node-${i % 256}`, namespace: 'default', pod: `pod-${i}` });
    got[i] = addresses[0]?.ip ?? '';
  }
  const used = process.cpuUsage(cpu);
  if (new Set(got).size !== allocations) throw new Error('duplicate addresses');
  return allocations / ((used.user + used.system) / 1e6);
}

const median = (values: readonly number[]): number => [...values].sort((x, y) => x - y)[values.length >> 1] ?? NaN;
for (const ipam of builds) await perCpuSecond(ipam, 20_000); // warm-up
const rates: [number[], number[]] = [[], []];
for (let round = 0; round < rounds; round++) {
  for (const side of round % 2 === 0 ? [0, 1] : [1, 0]) rates[side as 0 | 1].push(await perCpuSecond(builds[side] as Ipam, 50_000));
}
const [a, b] = [median(rates[0]), median(rates[1])];
process.stdout.write(`per CPU-second, medians of ${rounds}: A ${Math.round(a)}, B ${Math.round(b)}, B / A ${(b / a).toFixed(3)}\n`);
