// The twill side of the BGP benchmark (bench/bgp-speaker.bench.ts: receive and send),
// run as a child process so that the harness's polling of BIRD does not share its event
// loop and so that its heap and RSS are its own. One BgpSpeaker with one peer, its
// socket opened inside the given network namespace (as the agent does). Commands come
// over the IPC channel; each gets one reply.
//   { cmd: 'established' }               -> { established: true } once the session is up
//   { cmd: 'mark' }                      -> { marked: true }; CPU time and the trace start here
//   { cmd: 'fib', routes: N }            -> { reached: N, cpuMs, ...trace } when the FibSink holds N routes
//   { cmd: 'memory' }                    -> { heapUsed, arrayBuffers, rss } after a full GC (typed arrays,
//                                           the RIB's hash slots among them, are outside heapUsed)
//   { cmd: 'release' }                   -> { released } after `Rib.releaseStandby()` (as after a quiet minute)
//   { cmd: 'cpu' }                       -> { cpuMs, ...trace } since the last `mark` or `originate`
//   { cmd: 'originate', count: N }       -> { originated: N } (N /24s from 11.0.0.0)
//   { cmd: 'withdraw', count: N }        -> { withdrawn: N }
//   { cmd: 'stop' }                      -> exits
import net from 'node:net';
import { performance } from 'node:perf_hooks';

import { AF, SOCK, openSocket } from '@twill/sys';
import { type FibBatch, BgpSpeaker, asn, createTcpTransport, makePrefix, routerId, systemClock } from '@twill/bgp';

interface PeerArgs {
  readonly netns: string;
  readonly localAs: number;
  readonly routerId: string;
  readonly peerAddress: string;
  readonly peerAs: number;
}

type Command =
  | { cmd: 'established' }
  | { cmd: 'fib'; routes: number }
  | { cmd: 'memory' }
  | { cmd: 'release' }
  | { cmd: 'cpu' }
  | { cmd: 'mark' }
  | { cmd: 'originate'; count: number }
  | { cmd: 'withdraw'; count: number }
  | { cmd: 'stop' };

const args = JSON.parse(process.argv[2] ?? '{}') as PeerArgs;
const gc = (globalThis as { gc?: () => void }).gc;

function reply(message: object): void {
  process.send?.(message);
}

let installed = 0;
let waitingFor: number | undefined;
/** CPU time when the current wait began, to tell CPU-bound from waiting (reported with `reached`). */
let cpuAtWait = process.cpuUsage();

/**
 * Where the time went since the last mark, to tell waiting from working: socket reads
 * (count, bytes, first and last after the mark), FibSink batches and the last one, the
 * last time the socket drained after a write that filled its buffer, the event loop's
 * utilisation (1: never idle), all in ms since the mark.
 */
const trace = { at: 0, elu: performance.eventLoopUtilization(), reads: 0, bytes: 0, firstRead: -1, firstReadCpu: -1, lastRead: -1, batches: 0, lastBatch: -1, lastDrain: -1 };
function mark(): void {
  cpuAtWait = process.cpuUsage();
  Object.assign(trace, { at: performance.now(), elu: performance.eventLoopUtilization(), reads: 0, bytes: 0, firstRead: -1, firstReadCpu: -1, lastRead: -1, batches: 0, lastBatch: -1, lastDrain: -1 });
}
function usage(): Record<string, number> {
  const cpu = process.cpuUsage(cpuAtWait);
  const round = (ms: number): number => Math.round(ms);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    sysMs: cpu.system / 1000,
    // CPU from the first read on (the work on the routes, without the wait before them).
    cpuFromReadMs: trace.firstReadCpu < 0 ? -1 : (cpu.user + cpu.system) / 1000 - trace.firstReadCpu,
    elu: Math.round(performance.eventLoopUtilization(trace.elu).utilization * 100) / 100,
    reads: trace.reads,
    kbytes: round(trace.bytes / 1024),
    firstReadMs: round(trace.firstRead),
    lastReadMs: round(trace.lastRead),
    batches: trace.batches,
    lastBatchMs: round(trace.lastBatch),
    lastDrainMs: round(trace.lastDrain),
    nowMs: round(performance.now() - trace.at),
  };
}

const fib = {
  apply(batch: FibBatch): void {
    installed += batch.addCount - batch.removeCount;
    trace.batches += 1;
    trace.lastBatch = performance.now() - trace.at;
    if (installed === waitingFor) {
      waitingFor = undefined;
      reply({ reached: installed, ...usage() });
    }
  },
};

function traced(socket: net.Socket): net.Socket {
  socket.on('data', (chunk: Buffer) => {
    const t = performance.now() - trace.at;
    if (trace.reads === 0) {
      trace.firstRead = t;
      const cpu = process.cpuUsage(cpuAtWait);
      trace.firstReadCpu = (cpu.user + cpu.system) / 1000;
    }
    trace.lastRead = t;
    trace.reads += 1;
    trace.bytes += chunk.length;
  });
  socket.on('drain', () => (trace.lastDrain = performance.now() - trace.at));
  return socket;
}

const speaker = new BgpSpeaker({
  localAs: asn(args.localAs),
  routerId: routerId(args.routerId),
  fib,
  clock: systemClock,
  transport: createTcpTransport({ socketFactory: () => traced(new net.Socket({ fd: openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: args.netns }) })) }),
});
speaker.addPeer({ address: args.peerAddress, asn: asn(args.peerAs), holdTime: 240, idleHold: { initial: 1, max: 1 } });

/** The n-th /24 from 11.0.0.0, as BIRD's static routes in the benchmarks number them. */
function prefix(n: number): ReturnType<typeof makePrefix> {
  return makePrefix(4, Uint8Array.of(11 + (n >>> 16), (n >>> 8) & 0xff, n & 0xff, 0), 24);
}

function established(): void {
  if (speaker.peers()[0]?.state === 'Established') reply({ established: true });
  else setTimeout(established, 5);
}

process.on('message', (message: Command) => {
  switch (message.cmd) {
    case 'established':
      return established();
    case 'mark':
      mark();
      return reply({ marked: true });
    case 'fib':
      if (installed === message.routes) return reply({ reached: installed, ...usage() });
      waitingFor = message.routes;
      return;
    case 'cpu':
      return reply(usage());
    case 'release':
      return reply({ released: speaker.rib.releaseStandby() });
    case 'memory':
      gc?.();
      gc?.();
      return reply({ heapUsed: process.memoryUsage().heapUsed, arrayBuffers: process.memoryUsage().arrayBuffers, rss: process.memoryUsage().rss });
    case 'originate':
      mark();
      for (let i = 0; i < message.count; i += 1) speaker.originate(prefix(i));
      return reply({ originated: message.count });
    case 'withdraw':
      for (let i = 0; i < message.count; i += 1) speaker.withdraw(prefix(i));
      return reply({ withdrawn: message.count });
    case 'stop':
      void speaker.stop().then(() => process.exit(0));
      return;
  }
});

await speaker.start();
reply({ ready: true });
