// The CPU cost of @twill/bgp's speaker alone, without TCP, BIRD or network namespaces:
// what bench/bgp-speaker.bench.ts measures end to end, in one process, for profiling
// (`node --cpu-prof`) and for comparing changes on a loaded machine by CPU time. A
// scripted peer (AS 65001) opens a session to a `BgpSpeaker` (AS 65002) over an
// in-memory transport and sends N IPv4 /24s as BIRD does (UPDATEs of up to 4096 octets,
// one attribute set: ORIGIN, AS_PATH, NEXT_HOP), in reads of 64 KiB, one per
// macrotask; then withdraws them all. Then the speaker originates N /24s and the
// harness counts the NLRI written to the peer.
//
//   npx tsx --conditions=@twill/source bench/bgp-speaker-cpu.ts [N] [rounds]
//   (BGP_SRC, BGP_PHASES, BGP_READ, BGP_PACE_MS, BGP_GC, BGP_WITHDRAW_ORDER: see below; BGP_GC needs
//   `node --expose-gc --import tsx --conditions=@twill/source bench/bgp-speaker-cpu.ts`. A BGP_SRC copy must be inside the
//   repository, e.g. under tmp/ (ignored by git): outside it, tsx finds neither the
//   package's "type": "module" nor its tsconfig and transpiles it differently and slower.)
//
// Prints, per round, CPU ms and wall ms of receive (first byte until the FibSink holds
// N), withdraw (until 0) and send (originate until N NLRI written).
import { performance } from 'node:perf_hooks';

import type * as Bgp from '@twill/bgp';
import { type Connection, type ConnectionEvents, type FibBatch, type SpeakerTransport } from '@twill/bgp';

// BGP_SRC: another copy of the package's src/index.ts, to compare two versions side by side.
const { BgpSpeaker, MESSAGE_TYPE, asn, encodeMessage, makePrefix, routerId, systemClock } = (await import(process.env.BGP_SRC ?? '@twill/bgp')) as typeof Bgp;

const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 5);
// BGP_READ: octets per read (default 64 KiB); e.g. 4096 for reads of one BIRD UPDATE each, as over TCP.
const READ = Number(process.env.BGP_READ ?? 65_536);
// BGP_PACE_MS: a read every so many ms (default: one per macrotask, as fast as taken), as a
// sender that paces the table; the lines then show the tail, from the last read until the
// FibSink holds it all (what a flush delay adds to the end of a transfer).
const PACE_MS = Number(process.env.BGP_PACE_MS ?? 0);

/** The n-th /24 from 11.0.0.0. */
function prefixBytes(n: number): [number, number, number] {
  return [11 + (n >>> 16), (n >>> 8) & 0xff, n & 0xff];
}

/**
 * The order of the withdrawals: BIRD announces a static table in prefix order but
 * withdraws it in the order of its own hash table, which looks random against it (seen
 * in bench/bgp-speaker.bench.ts: consecutive withdrawals 10,171 prefixes apart).
 * BGP_WITHDRAW_ORDER=scattered withdraws like that (the i-th withdrawal: prefix i times
 * 10,171 modulo N, a permutation when N shares no factor with 10,171 = 7 x 1453); the
 * default withdraws in prefix order.
 */
const SCATTERED = process.env.BGP_WITHDRAW_ORDER === 'scattered';
const STRIDE = 10_171;

/**
 * UPDATEs as BIRD packs them: as many /24s as fit in 4096 octets, announced (in prefix
 * order) or withdrawn (in prefix order, or scattered: above).
 */
function table(n: number, announce: boolean): Uint8Array {
  if (SCATTERED && (n % 7 === 0 || n % 1453 === 0)) throw new Error(`BGP_WITHDRAW_ORDER=scattered needs an N not divisible by 7 or 1453, not ${n}`);
  // ORIGIN IGP, AS_PATH (AS_SEQUENCE 65001, 4-octet), NEXT_HOP 10.99.1.1.
  const attrs = Uint8Array.of(0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9, 0x40, 3, 4, 10, 99, 1, 1);
  const messages: Uint8Array[] = [];
  const fixed = 19 + 2 + 2 + (announce ? attrs.length : 0);
  const per = Math.floor((4096 - fixed) / 4);
  for (let first = 0; first < n; first += per) {
    const count = Math.min(per, n - first);
    const m = new Uint8Array(fixed + count * 4);
    m.fill(0xff, 0, 16);
    m[16] = m.length >> 8;
    m[17] = m.length & 0xff;
    m[18] = MESSAGE_TYPE.UPDATE;
    let o = 19;
    const field = count * 4;
    if (announce) {
      m[o++] = 0;
      m[o++] = 0;
      m[o++] = attrs.length >> 8;
      m[o++] = attrs.length & 0xff;
      m.set(attrs, o);
      o += attrs.length;
    } else {
      m[o++] = field >> 8;
      m[o++] = field & 0xff;
    }
    for (let i = 0; i < count; i += 1) {
      const [a, b, c] = prefixBytes(!announce && SCATTERED ? ((first + i) * STRIDE) % n : first + i);
      m[o++] = 24;
      m[o++] = a;
      m[o++] = b;
      m[o++] = c;
    }
    if (!announce) {
      m[o++] = 0;
      m[o++] = 0;
    }
    messages.push(m);
  }
  const total = messages.reduce((s, m) => s + m.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const m of messages) {
    out.set(m, at);
    at += m.length;
  }
  return out;
}

/** IPv4 NLRI octets in the UPDATEs of `bytes` (whole messages), /24s counted as 4. */
function countAnnounced(bytes: Uint8Array, state: { rest: Uint8Array }): number {
  let buf = bytes;
  if (state.rest.length > 0) {
    buf = new Uint8Array(state.rest.length + bytes.length);
    buf.set(state.rest);
    buf.set(bytes, state.rest.length);
  }
  let o = 0;
  let nlri = 0;
  while (buf.length - o >= 19) {
    const length = (buf[o + 16]! << 8) | buf[o + 17]!;
    if (buf.length - o < length) break;
    if (buf[o + 18] === MESSAGE_TYPE.UPDATE) {
      const w = (buf[o + 19]! << 8) | buf[o + 20]!;
      const a = (buf[o + 21 + w]! << 8) | buf[o + 22 + w]!;
      nlri += (length - 23 - w - a) / 4;
    }
    o += length;
  }
  state.rest = buf.slice(o);
  return nlri;
}

let installed = 0;
let waitFor: { count: number; resolve: () => void } | undefined;
const fib = {
  apply(batch: FibBatch): void {
    installed += batch.addCount - batch.removeCount;
    if (waitFor && installed === waitFor.count) waitFor.resolve();
  },
};

let events: ConnectionEvents | undefined;
let announcedOut = 0;
let sentWait: { count: number; resolve: () => void } | undefined;
const outState = { rest: new Uint8Array(0) };
let established: (() => void) | undefined;

const remoteOpen = encodeMessage(
  {
    type: 'open',
    version: 4,
    myAs: asn(65001),
    holdTime: 240,
    bgpIdentifier: '10.99.1.1',
    capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'route-refresh' }, { kind: 'four-octet-as', asn: asn(65001) }],
  },
  { fourOctetAs: false, extendedMessage: false, addPathReceive: [], addPathSend: [] },
);
const keepalive = encodeMessage({ type: 'keepalive' }, { fourOctetAs: false, extendedMessage: false, addPathReceive: [], addPathSend: [] });

const transport: SpeakerTransport = {
  connect(_target, e): Connection {
    events = e;
    setImmediate(() => e.onConnect());
    let opened = false;
    return {
      localAddress: '10.99.1.2',
      write(bytes) {
        if (!opened && bytes[18] === MESSAGE_TYPE.OPEN) {
          opened = true;
          setImmediate(() => {
            e.onData(remoteOpen);
            e.onData(keepalive);
            established?.();
          });
          return;
        }
        announcedOut += countAnnounced(bytes, outState);
        if (sentWait && announcedOut >= sentWait.count) sentWait.resolve();
      },
      close() {
        events = undefined;
      },
    };
  },
  async close() {
    await Promise.resolve();
  },
};

const speaker = new BgpSpeaker({ localAs: asn(65002), routerId: routerId('10.99.1.2'), fib, clock: systemClock, transport });
speaker.addPeer({ address: '10.99.1.1', asn: asn(65001), holdTime: 240, idleHold: { initial: 1, max: 1 } });

async function deliver(bytes: Uint8Array, until: number): Promise<{ cpu: number; wall: number; tail: number }> {
  const done = new Promise<void>((resolve) => (waitFor = { count: until, resolve }));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let o = 0; o < bytes.length; o += READ) {
    // A fresh Buffer per read, as a socket gives.
    const chunk = bytes.slice(o, o + READ);
    await new Promise((resolve) => (PACE_MS > 0 ? setTimeout(resolve, PACE_MS) : setImmediate(resolve)));
    events?.onData(chunk);
  }
  const last = performance.now();
  await done;
  const cpu = process.cpuUsage(cpu0);
  return { cpu: (cpu.user + cpu.system) / 1000, wall: performance.now() - t0, tail: performance.now() - last };
}

async function send(n: number): Promise<{ cpu: number; wall: number }> {
  announcedOut = 0;
  const done = new Promise<void>((resolve) => (sentWait = { count: n, resolve }));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1) {
    const [a, b, c] = prefixBytes(i);
    speaker.originate(makePrefix(4, Uint8Array.of(a, b, c, 0), 24));
  }
  await done;
  const cpu = process.cpuUsage(cpu0);
  const result = { cpu: (cpu.user + cpu.system) / 1000, wall: performance.now() - t0 };
  for (let i = 0; i < n; i += 1) {
    const [a, b, c] = prefixBytes(i);
    speaker.withdraw(makePrefix(4, Uint8Array.of(a, b, c, 0), 24));
  }
  // Until every withdrawal has gone out: a prefix originated again before its withdrawal
  // is flushed is no change to the peer, so the next round would never count N.
  while ((speaker.peers()[0]?.advertisedPrefixes ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  return result;
}

// The speaker's timers are unref'd: keep the process alive meanwhile.
const alive = setInterval(() => undefined, 1000);
const up = new Promise<void>((resolve) => (established = resolve));
await speaker.start();
await up;
await new Promise((resolve) => setTimeout(resolve, 50));
const announce = table(N, true);
const withdraw = table(N, false);
const fmt = (r: { cpu: number; wall: number; tail?: number }): string => `${r.cpu.toFixed(0)} cpu ${r.wall.toFixed(0)} wall${PACE_MS > 0 && r.tail !== undefined ? ` ${r.tail.toFixed(1)} tail` : ''}`;
const results: { rx: number[]; wd: number[]; tx: number[] } = { rx: [], wd: [], tx: [] };
// BGP_PHASES=send (or receive): only those, e.g. for a profile of one.
const phases = process.env.BGP_PHASES ?? 'receive,send';
const none = { cpu: 0, wall: 0, tail: 0 };
// BGP_GC=k: k full GCs before each round (node --expose-gc), as the end-to-end bench's
// memory readings do between its runs.
const fullGcs = Number(process.env.BGP_GC ?? 0);
for (let round = 0; round < ROUNDS; round += 1) {
  for (let i = 0; i < fullGcs; i += 1) (globalThis as { gc?: () => void }).gc?.();
  const rx = phases.includes('receive') ? await deliver(announce, N) : none;
  const wd = phases.includes('receive') ? await deliver(withdraw, 0) : none;
  const tx = phases.includes('send') ? await send(N) : none;
  results.rx.push(rx.cpu);
  results.wd.push(wd.cpu);
  results.tx.push(tx.cpu);
  process.stdout.write(`N=${N} receive ${fmt(rx)} | withdraw ${fmt(wd)} | send ${fmt(tx)}\n`);
}
const med = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? 0;
const min = (a: number[]): number => Math.min(...a);
process.stdout.write(`CPU ms, median (min): receive ${med(results.rx).toFixed(0)} (${min(results.rx).toFixed(0)}), withdraw ${med(results.wd).toFixed(0)} (${min(results.wd).toFixed(0)}), send ${med(results.tx).toFixed(0)} (${min(results.tx).toFixed(0)})\n`);
await speaker.stop();
clearInterval(alive);
process.exit(0);
