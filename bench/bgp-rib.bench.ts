// How fast and how compactly does @twill/bgp's RIB take a full table? One eBGP peer
// sends N IPv4 /24 prefixes in UPDATEs of 1,000 NLRI with 64 distinct attribute sets
// (as decoded by the codec); each is received into Adj-RIB-In + Loc-RIB and flushed to
// a FibSink that counts. Measured: time from the first UPDATE to the last FIB batch,
// and retained heap per route after a full GC. BIRD's receive figures (measured
// separately, /work/shared/MEASURED.md) are quoted for context; the side-by-side
// against BIRD over TCP is bench/bgp-speaker.bench.ts.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadavg } from 'node:os';

import { type BgpUpdate, type FibBatch, Rib, asn, makePrefix, peerId, routerId } from '@twill/bgp';

import { median } from './lib/compare.js';
import { writeSection } from './lib/report.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (() => void) | undefined;

const NLRI_PER_UPDATE = 1000;
const UPDATES_PER_FLUSH = 16;

function update(first: number, count: number, variant: number): BgpUpdate {
  const nlri = [];
  for (let i = 0; i < count; i += 1) {
    const n = first + i; // the n-th /24 from 11.0.0.0
    const a = 11 + (n >>> 16);
    nlri.push({ prefix: makePrefix(4, Uint8Array.of(a, (n >>> 8) & 0xff, n & 0xff, 0), 24) });
  }
  return {
    type: 'update',
    withdrawn: [],
    attributes: { origin: 0, asPath: [{ type: 2, asns: [asn(65001), asn(64512 + variant)] }], nextHop: '192.0.2.1', med: variant, communities: [(65001 << 16) | variant] },
    nlri,
  };
}

interface Run {
  readonly ms: number;
  readonly bytesPerRoute: number;
  readonly fibRoutes: number;
  readonly attributeSets: number;
}

/** The JS heap and the typed arrays beside it (the RIB's hash slots and path records live there, not in heapUsed). */
function heap(): number {
  gc?.();
  gc?.();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

function once(n: number): Run {
  let fibRoutes = 0;
  const fib = { apply: (b: FibBatch) => void (fibRoutes += b.addCount) };
  const before = heap();
  const rib = new Rib({ localAs: asn(65000), routerId: routerId('10.0.0.1'), fib });
  const id = peerId('192.0.2.1');
  rib.peerUp({ id, address: '192.0.2.1', asn: asn(65001), routerId: routerId('192.0.2.1'), localAddress: '192.0.2.254' });
  // UPDATEs are built a flush's worth at a time, as a decoder would hand them over,
  // and only receive + flush are timed.
  let elapsed = 0n;
  let k = 0;
  for (let first = 0; first < n; ) {
    const updates: BgpUpdate[] = [];
    for (let u = 0; u < UPDATES_PER_FLUSH && first < n; u += 1, k += 1, first += NLRI_PER_UPDATE) updates.push(update(first, Math.min(NLRI_PER_UPDATE, n - first), k % 64));
    const start = process.hrtime.bigint();
    for (const u of updates) rib.receive(id, u);
    rib.flush();
    elapsed += process.hrtime.bigint() - start;
  }
  const ms = Number(elapsed) / 1e6;
  const after = heap();
  if (rib.size !== n || fibRoutes !== n) throw new Error(`expected ${n} routes, RIB has ${rib.size}, FIB got ${fibRoutes}`);
  return { ms, bytesPerRoute: (after - before) / n, fibRoutes, attributeSets: rib.attributeSetCount };
}

export async function run(command: string): Promise<void> {
  const rows: string[] = [];
  for (const n of [100_000, 1_000_000]) {
    const runs: Run[] = [];
    for (let i = 0; i < (n === 1_000_000 ? 3 : 5); i += 1) runs.push(once(n));
    const ms = runs.map((r) => r.ms);
    const bytes = runs.map((r) => r.bytesPerRoute);
    const bird = n === 100_000 ? '126 ms' : '968 ms';
    rows.push(
      `| ${n.toLocaleString('en')} | ${runs.length} | ${Math.min(...ms).toFixed(0)} | ${median(ms).toFixed(0)} | ${Math.max(...ms).toFixed(0)} | ${median(bytes).toFixed(1)} | ${runs[0]?.attributeSets ?? 0} | ${bird} |`,
    );
    await Promise.resolve();
  }
  writeSection({
    id: 'bgp-rib',
    title: 'BGP RIB: receive a full table into Adj-RIB-In + Loc-RIB + FibSink',
    command,
    body: `Load average at the end of the run: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (2 CPUs shared with other jobs; times are inflated by it).

| routes | runs | min ms | median ms | max ms | heap + array buffer bytes per route (median) | attribute sets | BIRD 2.0.12, whole receive over TCP (MEASURED.md) |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

One eBGP peer, IPv4 /24s in UPDATEs of ${NLRI_PER_UPDATE} NLRI with 64 distinct attribute sets, flushed every ${UPDATES_PER_FLUSH} UPDATEs to a
FibSink that counts. The time covers \`Rib.receive\` + \`Rib.flush\` only (no TCP, no decoding): it is
the RIB's share of a receive, not comparable with BIRD's end-to-end figure (for that, \`npm run bench -- bgp-speaker\`). Memory per route
is \`heapUsed\` plus \`arrayBuffers\` (typed arrays: the hash slots, path records and change lists are there, not in \`heapUsed\`) after a full GC (${gc ? '`gc()` exposed through `v8.setFlagsFromString`' : 'gc not available: before/after without GC'})
minus the same before the RIB was made, divided by the routes held. BIRD holds a route in
93–96 bytes (MEASURED.md), so the issue's goal is at most ~190 bytes; FRR ~570, GoBGP ~1,200.`,
  });
}
