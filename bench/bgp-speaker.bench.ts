// @twill/bgp's speaker against BIRD 2 over TCP, side by side in one run (issue 7,
// "Measured"). Three network namespaces joined by veth:
//
//   S (BIRD, AS 65001, the source) --- T (twill, AS 65002, a child process)
//   S ------------------------------- R (BIRD, AS 65003, the second receiver)
//   T ------------------------------- R
//
// Receive: S holds N /24s in two static protocols, each in its own table exported to one
// peer only (`s_twill` -> T, `s_bird` -> R), both disabled. A run enables one of them
// (the CLI's `enable`, over BIRD's control socket) and times until the receiver holds all
// N: twill's FibSink has counted N routes (the child reports it), or R's protocol counter
// shows N imported (read every millisecond, ~0.1 ms a read: BirdControl). Then the
// static protocol is disabled and the withdrawal of all N is timed the same way.
// Send: twill originates N /24s and advertises them to R; timed until R shows N
// imported from twill, against S -> R as above (BIRD to BIRD).
// Twill's memory is read in untimed rounds before the timed ones (why: in measure()); the
// send has one untimed round of each side first.
// Every timed run starts once no CPU time of S, R or the twill child has been counted
// for 100 ms (quiet()), so that work left from the run before does not run into it.
// Twill and BIRD runs alternate; S is asked `show status` every 2 ms
// during every run (BIRD 2.0.12 as a source otherwise holds back its last export batch
// for ~3 s, /work/shared/MEASURED.md). Needs root, bird2.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';

import { NetworkScratch, type ScratchNetns } from '@twill/sys/testing';

import { median } from './lib/compare.js';
import { writeSection } from './lib/report.js';

const PEER_SCRIPT = join(import.meta.dirname, 'lib', 'bgp-twill-peer.ts');

/** `route 11.0.0.0/24 blackhole;` ... for the first n /24s from 11.0.0.0. */
function staticRoutes(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i += 1) lines.push(`route ${11 + (i >>> 16)}.${(i >>> 8) & 0xff}.${i & 0xff}.0/24 blackhole;`);
  return `${lines.join('\n')}\n`;
}

const SOURCE_CONF = (dir: string): string => `
router id 10.99.1.1;
ipv4 table t_twill;
ipv4 table t_bird;
protocol device {}
protocol static s_twill {
  disabled;
  ipv4 { table t_twill; };
  include "${join(dir, 'routes.conf')}";
}
protocol static s_bird {
  disabled;
  ipv4 { table t_bird; };
  include "${join(dir, 'routes.conf')}";
}
protocol bgp to_twill {
  local 10.99.1.1 as 65001; neighbor 10.99.1.2 as 65002; passive on;
  ipv4 { table t_twill; import none; export all; };
}
protocol bgp to_bird {
  local 10.99.2.1 as 65001; neighbor 10.99.2.2 as 65003; passive on;
  ipv4 { table t_bird; import none; export all; };
}
`;

const RECEIVER_CONF = `
router id 10.99.2.2;
protocol device {}
protocol bgp from_src {
  local 10.99.2.2 as 65003; neighbor 10.99.2.1 as 65001; connect delay time 1;
  ipv4 { import all; export none; };
}
protocol bgp from_twill {
  local 10.99.3.2 as 65003; neighbor 10.99.3.1 as 65002; passive on;
  ipv4 { import all; export none; };
}
`;

/**
 * One connection to a BIRD control socket, as birdc talks to it: a command is a line,
 * and its reply is lines that start with a four-digit code and '-' (more follow) or
 * with a space (continued), up to the line of a code and a space, the last (8xxx and
 * 9xxx: errors). A command takes ~0.1 ms this way. Until 2026-11-29 the bench spawned
 * birdc for each (~2 ms, ~1.8 ms of CPU between Node's spawn and birdc, measured on a
 * quiet machine) and polled BIRD's counters back to back: the polls kept about a CPU
 * busy during BIRD's runs (not during twill's, which wait on the child's message), and
 * BIRD's time was read up to one spawn late.
 */
class BirdControl {
  private socket: net.Socket | undefined;
  private text = '';
  private reply: string[] = [];
  private pending: { resolve: (text: string) => void; reject: (e: Error) => void } | undefined;
  /** Commands go one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  /** The reply to `command`, its lines joined. */
  command(command: string): Promise<string> {
    const run = this.queue.then(() => this.send(command));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private async send(command: string): Promise<string> {
    if (this.socket === undefined) {
      const socket = net.connect(this.path);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => this.take(chunk));
      socket.on('error', (e) => this.fail(e));
      socket.on('close', () => this.fail(new Error(`BIRD control socket ${this.path} closed`)));
      this.socket = socket;
      // The greeting ("0001 BIRD 2.0.12 ready.") is a reply of its own.
      await this.await();
    }
    const reply = this.await();
    this.socket.write(`${command}\n`);
    return reply;
  }

  private await(): Promise<string> {
    return new Promise((resolve, reject) => (this.pending = { resolve, reject }));
  }

  private take(chunk: string): void {
    this.text += chunk;
    let end: number;
    while ((end = this.text.indexOf('\n')) >= 0) {
      const line = this.text.slice(0, end);
      this.text = this.text.slice(end + 1);
      this.reply.push(line);
      if (!/^\d{4} /.test(line)) continue;
      const text = this.reply.join('\n');
      this.reply = [];
      const pending = this.pending;
      this.pending = undefined;
      if (line.startsWith('8') || line.startsWith('9')) pending?.reject(new Error(`BIRD (${this.path}): ${text}`));
      else pending?.resolve(text);
    }
  }

  private fail(e: Error): void {
    this.socket = undefined;
    // A reply cut off by the close is dropped whole: the next connection starts clean.
    this.text = '';
    this.reply = [];
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(e);
  }
}

class Bird {
  private readonly control: BirdControl;
  constructor(
    readonly socket: string,
    readonly pidFile: string,
  ) {
    this.control = new BirdControl(socket);
  }
  /** A CLI command (as birdc's arguments) and its reply. */
  async cli(...args: string[]): Promise<string> {
    return this.control.command(args.join(' '));
  }
  close(): void {
    this.control.close();
  }
  /** Routes imported by a protocol (`show protocols all`, a counter, not a table walk). */
  async imported(protocol: string): Promise<number> {
    const text = await this.cli('show', 'protocols', 'all', protocol);
    return Number(/Routes:\s+(\d+) imported/.exec(text)?.[1] ?? 0);
  }
  async established(protocol: string): Promise<boolean> {
    return (await this.cli('show', 'protocols', protocol)).includes('Established');
  }
  /** Bytes in routing tables and route attributes (`show memory`, effective). */
  async memory(): Promise<number> {
    const text = await this.cli('show', 'memory');
    let total = 0;
    for (const label of ['Routing tables', 'Route attributes']) {
      const m = new RegExp(`${label}:\\s+([\\d.]+)\\s*(B|kB|MB|GB)`).exec(text);
      if (!m) throw new Error(`no "${label}" in birdc show memory:\n${text}`);
      total += Number(m[1]) * { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] as 'B' | 'kB' | 'MB' | 'GB'];
    }
    return total;
  }
  pid(): number {
    return Number(readFileSync(this.pidFile, 'utf8').trim());
  }
}

/** The twill child process and its one-reply-per-command channel. */
class TwillPeer {
  private readonly replies: { resolve: (m: Record<string, number | boolean>) => void; reject: (e: Error) => void }[] = [];
  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: Record<string, number | boolean>) => this.replies.shift()?.resolve(m));
    child.once('exit', (code) => {
      for (const r of this.replies.splice(0)) r.reject(new Error(`twill peer exited (${code})`));
    });
  }
  static async start(args: object, profileDir?: string): Promise<TwillPeer> {
    const flags = ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', '--conditions=@twill/source'];
    if (profileDir) flags.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
    // BGP_BENCH_NODE_FLAGS: more Node/V8 flags for the child only (e.g. --trace-gc, --trace-deopt), split at spaces.
    flags.push(...(process.env.BGP_BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''));
    const child = spawn(process.execPath, [...flags, PEER_SCRIPT, JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const peer = new TwillPeer(child);
    await peer.next();
    return peer;
  }
  next(): Promise<Record<string, number | boolean>> {
    return new Promise((resolve, reject) => this.replies.push({ resolve, reject }));
  }
  ask(command: object): Promise<Record<string, number | boolean>> {
    const reply = this.next();
    this.child.send(command);
    return reply;
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ cmd: 'stop' });
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (this.child.exitCode === null && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
  }
}

/** Polls `check` every millisecond (a BIRD counter read costs ~0.1 ms) until it holds. */
async function until(what: string, check: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** CPU time (user + system, in clock ticks) process `pid` has used (/proc/PID/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Waits until the processes' CPU time has not moved for 100 ms (at most 10 s), so that a
 * timed run starts from quiet. A withdrawal counted done leaves work behind: after
 * twill's FibSink counted a 1M withdrawal, S went on to use 40-50 ms of CPU in the next
 * second (measured); without this wait, in one run of 11, twill's receives found S
 * ~150 ms slower to start sending than BIRD's did. The counts are in clock ticks (10 ms
 * here): work of a few ms in the window may pass unseen; a busy process does not.
 */
async function quiet(pids: readonly number[]): Promise<void> {
  const end = Date.now() + 10_000;
  let last = pids.map(cpuTicks);
  while (Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = pids.map(cpuTicks);
    if (now.every((t, i) => t === last[i])) return;
    last = now;
  }
  process.stdout.write(`  (processes ${pids.join(', ')} not quiet after 10 s; timing anyway)\n`);
}

/**
 * Times `work` from its start until `done` resolves, waking S every 2 ms meanwhile (a
 * command on its control socket, ~0.1 ms, wakes its event loop: woken every 20 ms, S
 * began to send up to 20 ms late, by chance), once the `pids` (S, R and the twill
 * child) are quiet and `prepare` has run.
 */
async function timed(pids: readonly number[], source: Bird, start: () => Promise<unknown>, done: () => Promise<unknown>, prepare?: () => Promise<unknown>): Promise<number> {
  await quiet(pids);
  // After the wait: what the traces count from (the twill child's mark, BIRD's start).
  await prepare?.();
  const t0 = process.hrtime.bigint();
  // The start's command goes to S before the first wake-up (one connection, in order).
  const started = start();
  let waking = true;
  const wake = (async () => {
    while (waking) {
      await source.cli('show', 'status');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  // A failed wake-up is thrown by the `await wake` below, after the run stops it.
  wake.catch(() => undefined);
  let ms: number;
  try {
    await started;
    await done();
    ms = Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    waking = false;
  }
  await wake;
  return ms;
}

interface Topology {
  source: Bird;
  receiver: Bird;
  twillNs: ScratchNetns;
}

/** With BGP_BENCH_TRACE set: the child's account of a run (reads, batches, event loop use; ms since the start). */
function trace(what: string, t: Record<string, number | boolean>): void {
  if (!process.env.BGP_BENCH_TRACE) return;
  process.stdout.write(`  ${what}: ${Object.entries(t).map(([k, v]) => `${k}=${String(v)}`).join(' ')}\n`);
}

const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const row = (label: string, a: number[], b: number[], cpu?: number[]): string =>
  `| ${label} | ${a.length} | ${fmt(median(a))} (${fmt(Math.min(...a))}–${fmt(Math.max(...a))}) | ${cpu ? fmt(median(cpu)) : '–'} | ${fmt(median(b))} (${fmt(Math.min(...b))}–${fmt(Math.max(...b))}) | **${(median(a) / median(b)).toFixed(2)}** |`;

async function measure(n: number, topo: Topology, runs: number, profileDir: string | undefined): Promise<{ receive: string[]; memory: string; send: string[] }> {
  const { source, receiver } = topo;
  // Receive: twill's child peers with S only, so it re-advertises nothing.
  const twill = await TwillPeer.start({ netns: topo.twillNs.name, localAs: 65002, routerId: '10.99.1.2', peerAddress: '10.99.1.1', peerAs: 65001 }, profileDir);
  const pids = [source.pid(), receiver.pid(), twill.child.pid ?? 0];
  const rx = { twill: [] as number[], twillCpu: [] as number[], bird: [] as number[], twillOut: [] as number[], twillOutCpu: [] as number[], birdOut: [] as number[] };
  const mem = { heap: [] as number[], rss: [] as number[], bird: [] as number[] };
  try {
    await twill.ask({ cmd: 'established' });
    await until('S-R session', () => source.established('to_bird'));
    const pollR = async (count: number): Promise<void> => until(`R to hold ${count}`, async () => (await receiver.imported('from_src')) === count);
    // Twill's memory per route is read in rounds of its own, before the timed runs, not
    // around them: a reading forces two full GCs (so that only live objects count), and
    // a full GC while the table is empty (after the withdrawal, before the next receive)
    // throws away optimized code that V8 built on objects that are gone then (deopt
    // reason "weak objects", see packages/bgp/src/internal/keep-shape.ts). Readings
    // right before each timed receive cost twill ~25 ms CPU of 100k's ~40 to re-optimize,
    // something no running agent does before a table arrives and BIRD, compiled ahead of
    // time, never pays. The rounds are the same as before (GCs, receive N, GCs, withdraw
    // N, so RSS and heap move as they did), and they warm the JIT as a first timed run did.
    // One unmeasured round first (the process's own warm-up: optimized code, the young
    // generation's growth, socket buffers), then its standby memory is given back, as
    // after a quiet minute, and the reading before comes then, once: a table withdrawn
    // whole leaves its arrays as standby memory for the next one, which a reading before
    // each round would leave out.
    await source.cli('enable', 's_twill');
    await twill.ask({ cmd: 'fib', routes: n });
    await source.cli('disable', 's_twill');
    await twill.ask({ cmd: 'fib', routes: 0 });
    await twill.ask({ cmd: 'release' });
    const before = await twill.ask({ cmd: 'memory' });
    for (let i = 0; i < runs; i += 1) {
      await source.cli('enable', 's_twill');
      await twill.ask({ cmd: 'fib', routes: n });
      const after = await twill.ask({ cmd: 'memory' });
      // The JS heap and the typed arrays beside it (the RIB's hash slots live there, not in heapUsed).
      mem.heap.push((Number(after.heapUsed) + Number(after.arrayBuffers) - Number(before.heapUsed) - Number(before.arrayBuffers)) / n);
      mem.rss.push((Number(after.rss) - Number(before.rss)) / n);
      await source.cli('disable', 's_twill');
      await twill.ask({ cmd: 'fib', routes: 0 });
    }
    trace('memory B/route, heap+buffers', Object.fromEntries(mem.heap.map((b, i) => [i, Math.round(b)])));
    trace('memory B/route, RSS', Object.fromEntries(mem.rss.map((b, i) => [i, Math.round(b)])));
    for (let i = 0; i < runs; i += 1) {
      let inTrace: Record<string, number | boolean> = {};
      const mark = (): Promise<unknown> => twill.ask({ cmd: 'mark' });
      rx.twill.push(
        await timed(
          pids,
          source,
          () => source.cli('enable', 's_twill'),
          async () => (inTrace = await twill.ask({ cmd: 'fib', routes: n })),
          mark,
        ),
      );
      rx.twillCpu.push(Number(inTrace.cpuMs));
      let outTrace: Record<string, number | boolean> = {};
      rx.twillOut.push(await timed(pids, source, () => source.cli('disable', 's_twill'), async () => (outTrace = await twill.ask({ cmd: 'fib', routes: 0 })), mark));
      rx.twillOutCpu.push(Number(outTrace.cpuMs));
      trace(`receive ${n}: twill ${fmt(rx.twill.at(-1) ?? 0)} ms`, inTrace);
      trace(`withdraw ${n}: twill ${fmt(rx.twillOut.at(-1) ?? 0)} ms`, outTrace);

      const birdBefore = await receiver.memory();
      // For the trace: when R's counter first showed routes and how many polls it took (the
      // counterpart of twill's firstReadMs, to tell S's delay before sending from R's work).
      const birdTrace = { firstRoutesMs: -1, polls: 0 };
      let birdStart = 0n;
      const birdMs = await timed(
        pids,
        source,
        () => source.cli('enable', 's_bird'),
        () =>
          until(`R to hold ${n}`, async () => {
            const count = await receiver.imported('from_src');
            birdTrace.polls += 1;
            if (count > 0 && birdTrace.firstRoutesMs < 0) birdTrace.firstRoutesMs = Math.round(Number(process.hrtime.bigint() - birdStart) / 1e6);
            return count === n;
          }),
        async () => (birdStart = process.hrtime.bigint()),
      );
      rx.bird.push(birdMs);
      trace(`receive ${n}: BIRD ${fmt(birdMs)} ms`, birdTrace);
      mem.bird.push(((await receiver.memory()) - birdBefore) / n);
      rx.birdOut.push(await timed(pids, source, () => source.cli('disable', 's_bird'), () => pollR(0)));
    }
  } finally {
    await twill.stop();
  }
  // Send: a fresh child peers with R only and originates N /24s.
  const sender = await TwillPeer.start({ netns: topo.twillNs.name, localAs: 65002, routerId: '10.99.3.1', peerAddress: '10.99.3.2', peerAs: 65003 }, profileDir);
  const sendPids = [source.pid(), receiver.pid(), sender.child.pid ?? 0];
  const tx = { twill: [] as number[], twillCpu: [] as number[], bird: [] as number[] };
  try {
    await sender.ask({ cmd: 'established' });
    await until('R-twill session', () => receiver.established('from_twill'));
    const pollR = async (protocol: string, count: number): Promise<void> => until(`R to hold ${count}`, async () => (await receiver.imported(protocol)) === count);
    // One untimed round of each first, as the receive side has its memory rounds: the
    // child's first advertisement and withdrawal run its export and encoding code for the
    // first time (--trace-deopt: the second round still reoptimizes what the first
    // withdrawal taught it; ~3 times a warm round's CPU for 100k), which an agent pays
    // once in its life, not per table. BIRD gets the same round, for symmetry.
    await sender.ask({ cmd: 'originate', count: n });
    await pollR('from_twill', n);
    await sender.ask({ cmd: 'withdraw', count: n });
    await pollR('from_twill', 0);
    await source.cli('enable', 's_bird');
    await pollR('from_src', n);
    await source.cli('disable', 's_bird');
    await pollR('from_src', 0);
    for (let i = 0; i < runs; i += 1) {
      tx.twill.push(await timed(sendPids, source, () => sender.ask({ cmd: 'originate', count: n }), () => pollR('from_twill', n)));
      const sent = await sender.ask({ cmd: 'cpu' });
      tx.twillCpu.push(Number(sent.cpuMs));
      trace(`advertise ${n}: twill ${fmt(tx.twill.at(-1) ?? 0)} ms`, sent);
      await sender.ask({ cmd: 'withdraw', count: n });
      await pollR('from_twill', 0);
      tx.bird.push(await timed(sendPids, source, () => source.cli('enable', 's_bird'), () => pollR('from_src', n)));
      await source.cli('disable', 's_bird');
      await pollR('from_src', 0);
    }
  } finally {
    await sender.stop();
  }
  const label = n.toLocaleString('en');
  return {
    receive: [row(`${label}: receive all`, rx.twill, rx.bird, rx.twillCpu), row(`${label}: withdraw all`, rx.twillOut, rx.birdOut, rx.twillOutCpu)],
    memory: `| ${label} | ${median(mem.heap).toFixed(0)} | ${median(mem.rss).toFixed(0)} | ${median(mem.bird).toFixed(0)} | **${(median(mem.heap) / median(mem.bird)).toFixed(2)}** | **${(median(mem.rss) / median(mem.bird)).toFixed(2)}** |`,
    send: [row(`${label}: advertise all`, tx.twill, tx.bird, tx.twillCpu)],
  };
}

async function topology(scratch: NetworkScratch, n: number, dir: string, birds: Bird[]): Promise<Topology> {
  const s = scratch.netns();
  const t = scratch.netns();
  const r = scratch.netns();
  const links: [ScratchNetns, string, ScratchNetns, string][] = [
    [s, '10.99.1.1/24', t, '10.99.1.2/24'],
    [s, '10.99.2.1/24', r, '10.99.2.2/24'],
    [t, '10.99.3.1/24', r, '10.99.3.2/24'],
  ];
  for (const [a, addrA, b, addrB] of links) {
    const veth = scratch.veth(a, b);
    scratch.ip(a, 'addr', 'add', addrA, 'dev', veth.a);
    scratch.ip(b, 'addr', 'add', addrB, 'dev', veth.b);
  }
  writeFileSync(join(dir, 'routes.conf'), staticRoutes(n));
  const start = (ns: ScratchNetns, name: string, conf: string): Bird => {
    writeFileSync(join(dir, `${name}.conf`), conf);
    const bird = new Bird(join(dir, `${name}.ctl`), join(dir, `${name}.pid`));
    birds.push(bird);
    scratch.exec(ns, 'bird', ['-c', join(dir, `${name}.conf`), '-s', bird.socket, '-P', bird.pidFile]);
    return bird;
  };
  const source = start(s, 'source', SOURCE_CONF(dir));
  const receiver = start(r, 'receiver', RECEIVER_CONF);
  await until('BIRD sockets', async () => {
    try {
      await source.cli('show', 'status');
      await receiver.cli('show', 'status');
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return false;
    }
  });
  return { source, receiver, twillNs: t };
}

export async function run(command: string): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bgp-speaker needs root (network namespaces, BIRD)');
  const sizes = (process.env.BGP_BENCH_SIZES ?? '100000,1000000').split(',').map(Number);
  const profileDir = process.env.BGP_BENCH_PROFILE;
  const receive: string[] = [];
  const memory: string[] = [];
  const send: string[] = [];
  for (const n of sizes) {
    const scratch = new NetworkScratch();
    const dir = mkdtempSync(join(tmpdir(), 'twill-bench-bgp-'));
    const birds: Bird[] = [];
    try {
      const topo = await topology(scratch, n, dir, birds);
      const result = await measure(n, topo, Number(process.env.BGP_BENCH_RUNS ?? (n >= 1_000_000 ? 3 : 5)), profileDir);
      receive.push(...result.receive);
      memory.push(result.memory);
      send.push(...result.send);
      process.stdout.write(`${[...result.receive, result.memory, ...result.send].join('\n')}\n`);
    } finally {
      for (const bird of birds) {
        bird.close();
        try {
          process.kill(bird.pid(), 'SIGTERM');
        } catch {
          // Never started or already gone.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      scratch.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (process.env.BGP_BENCH_NO_WRITE) return;
  const env = ['BGP_BENCH_SIZES', 'BGP_BENCH_RUNS'].filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k] ?? ''} `);
  writeSection({
    id: 'bgp-speaker',
    title: 'BGP speaker vs BIRD 2 over TCP: receive, withdraw and advertise N routes',
    command: `${env.join('')}${command}`,
    body: `Load average at the end of the run: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (2 CPUs shared with other jobs).

Receive: a BIRD 2.0.12 source sends N IPv4 /24s (one static protocol enabled with the CLI's \`enable\`) over eBGP to twill's
\`BgpSpeaker\` (a child process) or to a second BIRD; time from the enable until twill's FibSink has counted all N
(pushed in batches by \`Rib.flush\`) or BIRD's \`show protocols all\` counter shows N imported (read every millisecond over
its control socket, ~0.1 ms a read). Withdraw: the same after \`disable\`, until 0. Every timed run starts once both BIRDs
and the twill child have had no CPU time counted for 100 ms (a source BIRD goes on working after a withdrawal counted done).
Median (min–max) ms; ratio = median twill / median BIRD.

| N | runs | twill ms | twill CPU ms | BIRD ms | ratio |
|---|---|---|---|---|---|
${receive.join('\n')}

Memory per route held: twill's \`heapUsed\` plus \`arrayBuffers\` (typed arrays, where the RIB's hash slots are; after two
full GCs) and RSS with N routes held, minus the same after one unmeasured round and \`Rib.releaseStandby()\` (so the
standby memory a withdrawn table leaves for the next counts), in untimed rounds before the timed runs (forced GCs before a timed
receive would cost twill its optimized code, see the bench's source), against
BIRD's \`show memory\` (routing tables + route attributes, effective) on the receiver; bytes per route, medians.

| N | twill heap+buffers B/route | twill RSS B/route | BIRD B/route | heap+buffers ratio | RSS ratio |
|---|---|---|---|---|---|
${memory.join('\n')}

Send: twill originates N /24s (\`BgpSpeaker.originate\` N times) and advertises them to BIRD; time until that BIRD's
counter shows N imported, against the BIRD source sending the same N to it (as above). One untimed round of each
comes first (a fresh child's first advertisement runs its export and encoding code for the first time, as the
receive side's memory rounds do for receiving).

| N | runs | twill ms | twill CPU ms | BIRD ms | ratio |
|---|---|---|---|---|---|
${send.join('\n')}

Goals (issue 7): receive and send at most 1.0x BIRD's time; memory per route at most 2x BIRD's.`,
  });
}
