// The L7 proxy's throughput and tail latency (issue 14 "Measured"): requests per second and
// p99 at 64 keep-alive connections, (1) direct, (2) through the Twill proxy with the seed
// tutorial's L7 rules, (3) through a plain nginx reverse proxy (the peer), side by side in
// one run, with two Node baselines: (2b) a bare node:http proxy and (2c) a bare node:net
// relay, the floor of a Node proxy that moves bytes as it does. Goal: (2) keeps at least 50% of (1) and at least
// 0.8x of (3).
// Three network namespaces in a line (bench/lib/routed-line.ts): client ── node ── server.
//   server: nginx (Debian's nginx-light, one worker) answering every request with a small
//           fixed body from memory, the same upstream for every case;
//   client: wrk (Debian's) with --latency, 64 connections, one thread (see THREADS);
//   node:   what is measured:
//     direct     nothing: the node only routes; wrk → server:8080;
//     twill      wrk → server:8080, redirected by an nftables tproxy rule (a private table,
//                loaded for this case's runs only) to the agent's L7Proxy in a child process
//                (bench/l7-proxy-child.ts), which decides with the agent's IndexL7PolicySource
//                over a PolicyController holding the seed's l7-api-policy
//                (GET /api/v1/.* from frontend to api on 8080) and forwards over its
//                keep-alive pool;
//     node       the baseline: the same redirect to a second child that is a bare node:http
//                proxy (no policy): what Node's HTTP server and client cost on their own;
//     relay      the floor: the same redirect to a third child (bench/l7-relay-child.ts), a
//                TCP relay with no HTTP at all: one upstream connection per client connection
//                to its original destination, every chunk read from one net.Socket written to
//                the other. A proxy that moves its bytes the same way (net.Socket 'data'
//                events and write) pays this and its parsing and policy on top; if the floor
//                itself is near the budget the goals leave, those cannot fit above it. (Ways
//                of moving bytes it does not try, such as Node's `onread` buffers, might
//                cost somewhat less);
//     nginx-1    wrk → nginx in the node (proxy_pass to the server with an upstream keepalive
//                pool), one worker: Node runs the proxy on one event loop, so one worker is
//                the like-for-like peer;
//     nginx-auto the same with `worker_processes auto` (one per CPU).
// Interleaved rounds (direct twill node relay nginx-1 nginx-auto, direct ...), medians. Each round
// checks that the proxy enforces: a POST through it gets 403, and every request wrk counted was
// forwarded by the proxy. The relay counts no requests: its runs check instead that wrk got no
// non-2xx response, that the relay accepted wrk's 64 connections, and that it wrote to them at
// least wrk's request count times the size of one response (measured through it by a GET
// before the rounds). Needs root, wrk, nginx, nft.
//   L7_BENCH_ROUNDS (default 5), L7_BENCH_SECONDS (default 10): rounds and the length of a run;
//   L7_BENCH_QUICK=1: one round of 2 s, written to a scratch file, not BENCHMARKS.md;
//   L7_BENCH_WRK_THREADS (default 1): wrk's threads (see THREADS);
//   L7_BENCH_NODE_FLAGS='--trace-gc': more Node flags for the children;
//   L7_BENCH_CASES=twill,relay: only those cases; their medians are printed, nothing is written;
//   L7_BENCH_PROFILE=DIR: the proxy and relay children run with --cpu-prof into DIR; the L7Proxy's top
//     self-time functions are printed (and the run goes to the scratch file: profiling slows it).
// The scratch file is $TMPDIR/twill-l7-bench.md.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import type { L7ChildArgs, L7ChildReply } from './l7-proxy-child.js';
import type { L7RelayArgs, L7RelayCounts, L7RelayReply } from './l7-relay-child.js';
import { median } from './lib/compare.js';
import { processCpuSplitMs } from './lib/cpu.js';
import { topSelfTimeOfFile } from './lib/cpuprofile.js';
import { type Nginx, startNginx } from './lib/nginx.js';
import { writeSection } from './lib/report.js';
import { createRoutedLine, type RoutedLine } from './lib/routed-line.js';
import { runWrk, type WrkResult } from './lib/wrk.js';

const ROOT = resolve(import.meta.dirname, '..');
const CHILD = join(import.meta.dirname, 'l7-proxy-child.ts');
const RELAY_CHILD = join(import.meta.dirname, 'l7-relay-child.ts');
const QUICK = process.env.L7_BENCH_QUICK === '1';
const PROFILE_DIR = process.env.L7_BENCH_PROFILE;
const ROUNDS = Number(process.env.L7_BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const SECONDS = Number(process.env.L7_BENCH_SECONDS ?? (QUICK ? 2 : 10));
const WARMUP_SECONDS = QUICK ? 1 : 3;
const CONNECTIONS = 64;
// One wrk thread: on 2 CPUs the client, the upstream and the proxy already share the
// machine, and one wrk thread (C, epoll) drives 64 connections well past what either proxy
// serves; a second thread would take CPU from the middle that is measured. No taskset: any
// fixed placement on 2 CPUs favours one case (direct has two busy processes, the proxied
// cases three), so the scheduler places all of them the same way in every case.
const THREADS = Number(process.env.L7_BENCH_WRK_THREADS ?? 1);

const PATH = '/api/v1/users';
const BODY = '{"users":["alice","bob"]}';
const UPSTREAM_PORT = 8080;
/** The tproxy targets: the L7Proxy child's listener, the node:http baseline's, and the node:net relay's. */
const TPROXY_PORTS = { twill: 15001, node: 15002, relay: 15003 } as const;
const NGINX_PORTS = { one: 8081, auto: 8082 } as const;
/** The upstream's stub_status, on its loopback (read from inside the server namespace). */
const STATUS_PORT = 8090;
/** The tproxy mark and the routing table that delivers marked packets locally. */
const MARK = 0x1;
const TABLE = 100;
const NFT_TABLE = 'twb_l7';

/** The seed tutorial's l7-api-policy, from the fixture the agent's Kubernetes tests apply. */
const SEED_POLICY = readFileSync(join(ROOT, 'apps', 'agent', 'test', 'kubernetes', 'fixtures', 'seed', 'l7-api-policy.yaml'), 'utf8');

type Case = 'direct' | 'twill' | 'node' | 'relay' | 'nginx-1' | 'nginx-auto';
const CASES: readonly Case[] = ['direct', 'twill', 'node', 'relay', 'nginx-1', 'nginx-auto'];
// L7_BENCH_CASES=twill,relay: only those cases, their rounds printed, nothing written (for profiling one case).
const ONLY = process.env.L7_BENCH_CASES?.split(',').map((c) => {
  if (!(CASES as readonly string[]).includes(c)) throw new Error(`L7_BENCH_CASES: no case ${JSON.stringify(c)} (cases: ${CASES.join(', ')})`);
  return c as Case;
});
const RUN_CASES: readonly Case[] = ONLY ?? CASES;
/** The cases served by a child behind the tproxy rule. */
type ChildCase = 'twill' | 'node' | 'relay';
const isChildCase = (c: Case): c is ChildCase => c === 'twill' || c === 'node' || c === 'relay';
const CASE_NAMES: Record<Case, string> = {
  'direct': '(1) direct',
  'twill': '(2) twill L7Proxy, seed rules',
  'node': '(2b) bare node:http proxy, no policy',
  'relay': '(2c) bare node:net relay, no HTTP',
  'nginx-1': '(3) nginx, 1 worker',
  'nginx-auto': `(3') nginx, auto workers (${cpus().length})`,
};

/** One wrk run of a case, and what the middle spent on it. */
interface CaseRun extends WrkResult {
  /** CPU of the middle's processes (the proxy child, the nginx workers) over the run, user and system, ms; 0 for direct. */
  readonly middleUserMs: number;
  readonly middleSystemMs: number;
  /** 1-minute load average when the run started. */
  readonly load: number;
  /** Connections the upstream accepted during the run. */
  readonly upstreamConnections: number;
}

type ChildReply = L7ChildReply | L7RelayReply;

/** A proxy child (bench/l7-proxy-child.ts, or the relay's bench/l7-relay-child.ts) and its one-reply-per-command channel. */
class ProxyChild {
  private readonly replies: ((reply: ChildReply) => void)[] = [];
  private constructor(readonly child: ChildProcess) {
    child.on('message', (reply: ChildReply) => this.replies.shift()?.(reply));
  }

  static async start(script: string, args: L7ChildArgs | L7RelayArgs): Promise<ProxyChild> {
    const flags = ['--import', 'tsx', '--conditions=@twill/source'];
    if (PROFILE_DIR !== undefined) flags.push('--cpu-prof', `--cpu-prof-dir=${resolve(PROFILE_DIR)}`);
    // L7_BENCH_NODE_FLAGS: more Node/V8 flags for the children (e.g. --trace-gc), split at spaces.
    flags.push(...(process.env.L7_BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''));
    // `ip netns exec` execs node in place: the pid is node's, and the IPC descriptor passes through.
    const child = spawn('ip', ['netns', 'exec', args.netns, process.execPath, ...flags, script, JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const proxy = new ProxyChild(child);
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the proxy child exited (${code}) before it was ready`))));
    const first = await Promise.race([proxy.next(), exited]);
    if ('error' in first) throw new Error(`the proxy child failed: ${first.error}`);
    return proxy;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  next(): Promise<ChildReply> {
    return new Promise((resolve) => this.replies.push(resolve));
  }

  private async ask(): Promise<ChildReply> {
    const reply = this.next();
    this.child.send({ cmd: 'counts' });
    return reply;
  }

  /** The requests a proxy (twill, node) recorded. */
  async counts(): Promise<{ forwarded: number; denied: number; other: number; deniedConnections: number }> {
    const counts = await this.ask();
    if (!('forwarded' in counts)) throw new Error(`the proxy child answered ${JSON.stringify(counts)} to counts`);
    return counts;
  }

  /** The connections and bytes the relay moved. */
  async relayCounts(): Promise<L7RelayCounts> {
    const counts = await this.ask();
    if (!('clientBytesWritten' in counts)) throw new Error(`the relay child answered ${JSON.stringify(counts)} to counts`);
    return counts;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ cmd: 'stop' });
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** The nftables table that sends the client's connections to server:8080 to the listener on `port`. */
function tproxyRules(line: RoutedLine, port: number): string {
  return `table inet ${NFT_TABLE} {
  chain prerouting {
    type filter hook prerouting priority mangle; policy accept;
    meta l4proto tcp socket transparent 1 meta mark set ${MARK} accept
    ip daddr ${line.serverIp} tcp dport ${UPSTREAM_PORT} tproxy ip to :${port} meta mark set ${MARK} accept
  }
}
`;
}

/** `curl` from the client: the status, and the body. */
function curl(line: RoutedLine, method: string, url: string): { status: number; body: string } {
  const out = line.exec(line.client, 'curl', ['-s', '-X', method, '--max-time', '5', '-w', '\n%{http_code}', url]);
  const at = out.lastIndexOf('\n');
  return { status: Number(out.slice(at + 1)), body: out.slice(0, at) };
}

/** Connections the upstream nginx has accepted so far (stub_status: "server accepts handled requests" then the counts). */
function upstreamAccepts(line: RoutedLine): number {
  const text = line.exec(line.server, 'curl', ['-s', '--max-time', '5', `http://127.0.0.1:${STATUS_PORT}/`]);
  const m = /accepts handled requests\s+(\d+)/.exec(text);
  if (m === null) throw new Error(`the upstream's stub_status answered ${JSON.stringify(text)}`);
  return Number(m[1]);
}

function cpuOf(pids: readonly number[]): { user: number; system: number } {
  return pids.map(processCpuSplitMs).reduce((sum, cpu) => ({ user: sum.user + cpu.user, system: sum.system + cpu.system }), { user: 0, system: 0 });
}

class L7Bench {
  /** The port the tproxy table now redirects to; undefined: no table. */
  private tproxyPort: number | undefined;
  /** Bytes of one upstream response as the relay wrote it to the client, from the relay's check (0 before it). */
  private relayResponseBytes = 0;

  constructor(
    readonly line: RoutedLine,
    readonly children: Record<ChildCase, ProxyChild>,
    readonly nginx: { one: Nginx; auto: Nginx },
  ) {}

  url(c: Case): string {
    if (c === 'nginx-1') return `http://${this.line.nodeClientSideIp}:${NGINX_PORTS.one}${PATH}`;
    if (c === 'nginx-auto') return `http://${this.line.nodeClientSideIp}:${NGINX_PORTS.auto}${PATH}`;
    return `http://${this.line.serverIp}:${UPSTREAM_PORT}${PATH}`;
  }

  middlePids(c: Case): number[] {
    if (isChildCase(c)) return [this.children[c].pid];
    if (c === 'nginx-1') return this.nginx.one.workerPids();
    if (c === 'nginx-auto') return this.nginx.auto.workerPids();
    return [];
  }

  /** Loads the tproxy table for a child's case, or removes it for any other. */
  setTproxy(c: Case | undefined): void {
    const port = c !== undefined && isChildCase(c) ? TPROXY_PORTS[c] : undefined;
    if (port === this.tproxyPort) return;
    if (this.tproxyPort !== undefined) this.line.exec(this.line.node, 'nft', ['delete', 'table', 'inet', NFT_TABLE]);
    this.tproxyPort = undefined;
    if (port !== undefined) this.line.exec(this.line.node, 'nft', ['-f', '-'], tproxyRules(this.line, port));
    this.tproxyPort = port;
  }

  /**
   * A GET answered by the upstream's body, and for twill a POST refused with 403. The relay,
   * which counts no requests, must have accepted the GET's connection and written the response
   * to it: its size is what each of wrk's requests must account for in the relay's runs.
   */
  async check(c: Case): Promise<void> {
    this.setTproxy(c);
    const child = isChildCase(c) ? this.children[c] : undefined;
    const before = c === 'relay' ? undefined : await child?.counts();
    const relayBefore = c === 'relay' ? await child?.relayCounts() : undefined;
    const get = curl(this.line, 'GET', this.url(c));
    if (get.status !== 200 || get.body.trim() !== BODY) throw new Error(`${CASE_NAMES[c]}: GET ${this.url(c)} answered ${get.status} ${JSON.stringify(get.body.slice(0, 200))}, not 200 with the upstream's body`);
    if (child !== undefined && relayBefore !== undefined) {
      const after = await child.relayCounts();
      const connections = after.connections - relayBefore.connections;
      const written = after.clientBytesWritten - relayBefore.clientBytesWritten;
      if (connections !== 1 || written <= BODY.length) throw new Error(`${CASE_NAMES[c]}: the relay accepted ${connections} connections and wrote ${written} bytes to the client for one GET: the traffic did not go through it`);
      this.relayResponseBytes = written;
    }
    if (c === 'node' && child !== undefined && before !== undefined && (await child.counts()).forwarded - before.forwarded !== 1) {
      throw new Error(`${CASE_NAMES[c]}: the baseline proxy did not forward the GET: the traffic did not go through it`);
    }
    if (c === 'twill' && child !== undefined && before !== undefined) {
      const post = curl(this.line, 'POST', this.url(c));
      const after = await child.counts();
      if (post.status !== 403) throw new Error(`${CASE_NAMES[c]}: POST ${this.url(c)} answered ${post.status}, not 403: the proxy is not enforcing the seed's GET-only rule`);
      if (after.forwarded - before.forwarded !== 1 || after.denied - before.denied !== 1) {
        throw new Error(`${CASE_NAMES[c]}: the proxy recorded ${after.forwarded - before.forwarded} forwarded and ${after.denied - before.denied} denied requests for one GET and one POST: the traffic did not go through it`);
      }
    }
  }

  /**
   * One wrk run of a case; behind the tproxy rule, also checks that the child forwarded every
   * request wrk counted. The relay cannot count requests: there every response wrk counted must
   * be 2xx, the relay must have accepted wrk's connections, and it must have written at least
   * wrk's count times the checked response's size to them.
   */
  async run(c: Case, seconds: number): Promise<CaseRun> {
    this.setTproxy(c);
    const pids = this.middlePids(c);
    const load = loadavg()[0] ?? 0;
    const child = isChildCase(c) ? this.children[c] : undefined;
    const before = c === 'relay' ? undefined : await child?.counts();
    const relayBefore = c === 'relay' ? await child?.relayCounts() : undefined;
    const accepts0 = upstreamAccepts(this.line);
    const cpu0 = cpuOf(pids);
    const result = await runWrk({ url: this.url(c), connections: CONNECTIONS, threads: THREADS, seconds, netns: this.line.client });
    const cpu1 = cpuOf(pids);
    // The status request itself is one accept.
    const upstreamConnections = upstreamAccepts(this.line) - accepts0 - 1;
    if (child !== undefined && before !== undefined) {
      const after = await child.counts();
      const forwarded = after.forwarded - before.forwarded;
      if (forwarded < result.requests) throw new Error(`${CASE_NAMES[c]}: wrk counted ${result.requests} requests but the proxy forwarded ${forwarded}: traffic bypassed it`);
      if (after.denied !== before.denied || after.other !== before.other) throw new Error(`${CASE_NAMES[c]}: the proxy refused ${after.denied - before.denied + after.other - before.other} of wrk's GETs`);
    }
    if (child !== undefined && relayBefore !== undefined) {
      const after = await child.relayCounts();
      const connections = after.connections - relayBefore.connections;
      const written = after.clientBytesWritten - relayBefore.clientBytesWritten;
      if (result.non2xx > 0) throw new Error(`${CASE_NAMES[c]}: ${result.non2xx} of wrk's ${result.requests} responses were not 2xx or 3xx`);
      if (connections < CONNECTIONS) throw new Error(`${CASE_NAMES[c]}: wrk opened ${CONNECTIONS} connections but the relay accepted ${connections}: traffic bypassed it`);
      if (written < result.requests * this.relayResponseBytes) throw new Error(`${CASE_NAMES[c]}: wrk counted ${result.requests} responses of ${this.relayResponseBytes} bytes but the relay wrote ${written} bytes to the client: traffic bypassed it`);
    }
    return { ...result, middleUserMs: cpu1.user - cpu0.user, middleSystemMs: cpu1.system - cpu0.system, load, upstreamConnections };
  }
}

const f0 = (v: number): string => v.toFixed(0);
const f2 = (v: number): string => v.toFixed(2);
const range = (values: readonly number[], fmt: (v: number) => string): string => `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;

function resultTable(runs: Record<Case, CaseRun[]>): string {
  const lines = [
    '| case | requests/s (median) | requests/s (min–max) | p99 ms (median) | p99 ms (min–max) | p50 ms (median) | middle CPU µs/request, user + system (median) | upstream connections per run (max) | socket errors | non-2xx | 1-min load at start (median) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of CASES) {
    const r = runs[c];
    const rps = r.map((x) => x.requestsPerSecond);
    const p99 = r.map((x) => x.p99Ms);
    const perRequest = (ms: (x: CaseRun) => number): string => f0(median(r.map((x) => (ms(x) * 1000) / Math.max(1, x.requests))));
    const cpu = c === 'direct' ? '–' : `${perRequest((x) => x.middleUserMs + x.middleSystemMs)} (${perRequest((x) => x.middleUserMs)} + ${perRequest((x) => x.middleSystemMs)})`;
    lines.push(`| ${CASE_NAMES[c]} | ${f0(median(rps))} | ${range(rps, f0)} | ${f2(median(p99))} | ${range(p99, f2)} | ${f2(median(r.map((x) => x.p50Ms)))} | ${cpu} | ${Math.max(...r.map((x) => x.upstreamConnections))} | ${r.reduce((s, x) => s + x.errors, 0)} | ${r.reduce((s, x) => s + x.non2xx, 0)} | ${f2(median(r.map((x) => x.load)))} |`);
  }
  return lines.join('\n');
}

function ratioTable(runs: Record<Case, CaseRun[]>): string {
  const rps = (c: Case): number => median(runs[c].map((x) => x.requestsPerSecond));
  const p99 = (c: Case): number => median(runs[c].map((x) => x.p99Ms));
  // The floor's rows hold the relay to twill's goals: a Node proxy can only meet a goal its floor meets.
  const row = (name: string, of: Case, to: Case, goal: number | undefined): string => {
    const ratio = rps(of) / rps(to);
    const met = of === 'relay' ? ['the floor is within twill\'s goal', 'the floor misses twill\'s goal'] : ['met', 'not met'];
    const verdict = goal === undefined ? '–' : `${ratio >= goal ? met[0] : met[1]} (goal ≥ ${goal})`;
    return `| ${name} | ${f2(ratio)} | ${f2(p99(of) / p99(to))} | ${verdict} |`;
  };
  return [
    '| ratio (medians) | requests/s | p99 | goal |',
    '|---|---|---|---|',
    row('twill / direct', 'twill', 'direct', 0.5),
    row('twill / nginx 1 worker', 'twill', 'nginx-1', 0.8),
    row('twill / nginx auto workers', 'twill', 'nginx-auto', undefined),
    row('twill / bare node:http proxy', 'twill', 'node', undefined),
    row('twill / node:net relay', 'twill', 'relay', undefined),
    row('node:net relay / direct (the floor)', 'relay', 'direct', 0.5),
    row('node:net relay / nginx 1 worker (the floor)', 'relay', 'nginx-1', 0.8),
  ].join('\n');
}

/** The proxy child's main-thread profile (`CPU.<date>.<time>.<pid>.0.<n>.cpuprofile`; thread 1 is tsx's loader), summarised. */
function profileSummary(pid: number): string {
  if (PROFILE_DIR === undefined) return '';
  const file = readdirSync(PROFILE_DIR).filter((f) => f.includes(`.${pid}.0.`) && f.endsWith('.cpuprofile')).sort().at(-1);
  if (file === undefined) return `(no main-thread .cpuprofile of pid ${pid} in ${PROFILE_DIR})`;
  const top = topSelfTimeOfFile(join(PROFILE_DIR, file), 25);
  return [`Proxy child profile ${join(PROFILE_DIR, file)}, top self time (idle left out):`, ...top.map((t) => `  ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.selfMs.toFixed(0).padStart(6)} ms  ${t.where}`)].join('\n');
}

/** Runs the benchmark and writes its section (BENCHMARKS.md, or the scratch file for quick and profiled runs). */
export async function run(command: string): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('l7 needs root (it creates network namespaces)');
  for (const program of ['wrk', 'nginx', 'nft', 'curl']) {
    if (execFileSync('sh', ['-c', `command -v ${program} || true`], { encoding: 'utf8' }).trim() === '') throw new Error(`l7 needs ${program} (scripts/setup.sh installs it)`);
  }
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`L7_BENCH_ROUNDS=${process.env.L7_BENCH_ROUNDS}: expected a whole number of rounds, at least 1`);
  if (!Number.isInteger(SECONDS) || SECONDS < 1) throw new Error(`L7_BENCH_SECONDS=${process.env.L7_BENCH_SECONDS}: expected whole seconds, at least 1`);
  const started = Date.now();
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'twb-l7-'));
  const line = createRoutedLine({ prefix: 'twb-l7-', octet: 77 });
  const stopped: (() => Promise<void>)[] = [];
  // Ctrl-C or a kill: the namespaces still go (their processes are ended by pid first).
  const pids: number[] = [];
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    line.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    line.exec(line.node, 'ip', ['rule', 'add', 'fwmark', String(MARK), 'lookup', String(TABLE)]);
    line.exec(line.node, 'ip', ['route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', String(TABLE)]);
    const upstream = await startNginx({
      netns: line.server, dir: join(dir, 'upstream'), workers: 1,
      http: `  server {\n    listen ${line.serverIp}:${UPSTREAM_PORT};\n    location / {\n      default_type application/json;\n      return 200 '${BODY}\\n';\n    }\n  }\n  server {\n    listen 127.0.0.1:${STATUS_PORT};\n    location / {\n      stub_status;\n    }\n  }`,
    });
    stopped.push(upstream.stop);
    pids.push(upstream.pid);
    const proxyHttp = (port: number): string => `  upstream api {\n    server ${line.serverIp}:${UPSTREAM_PORT};\n    keepalive 64;\n    keepalive_requests 1000000;\n  }\n  server {\n    listen ${line.nodeClientSideIp}:${port};\n    location / {\n      proxy_pass http://api;\n      proxy_http_version 1.1;\n      proxy_set_header Connection "";\n    }\n  }`;
    const one = await startNginx({ netns: line.node, dir: join(dir, 'nginx-1'), workers: 1, http: proxyHttp(NGINX_PORTS.one) });
    stopped.push(one.stop);
    pids.push(one.pid);
    const auto = await startNginx({ netns: line.node, dir: join(dir, 'nginx-auto'), workers: 'auto', http: proxyHttp(NGINX_PORTS.auto) });
    stopped.push(auto.stop);
    pids.push(auto.pid);
    const childArgs = (mode: 'twill' | 'node'): L7ChildArgs => ({
      mode, netns: line.node, port: TPROXY_PORTS[mode], policy: SEED_POLICY,
      pods: [{ app: 'frontend', ip: line.clientIp }, { app: 'api', ip: line.serverIp }],
    });
    const proxy = await ProxyChild.start(CHILD, childArgs('twill'));
    stopped.push(() => proxy.stop());
    pids.push(proxy.pid);
    const baseline = await ProxyChild.start(CHILD, childArgs('node'));
    stopped.push(() => baseline.stop());
    pids.push(baseline.pid);
    const relay = await ProxyChild.start(RELAY_CHILD, { netns: line.node, port: TPROXY_PORTS.relay });
    stopped.push(() => relay.stop());
    pids.push(relay.pid);
    const bench = new L7Bench(line, { twill: proxy, node: baseline, relay }, { one, auto });

    for (const c of RUN_CASES) {
      await bench.check(c);
      await bench.run(c, WARMUP_SECONDS);
    }
    const runs = { 'direct': [], 'twill': [], 'node': [], 'relay': [], 'nginx-1': [], 'nginx-auto': [] } as Record<Case, CaseRun[]>;
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const c of RUN_CASES) {
        if (c === 'twill') await bench.check(c);
        const result = await bench.run(c, SECONDS);
        runs[c].push(result);
        process.stdout.write(`  round ${round + 1}/${ROUNDS} ${CASE_NAMES[c]}: ${f0(result.requestsPerSecond)} req/s, p99 ${f2(result.p99Ms)} ms, errors ${result.errors}, non-2xx ${result.non2xx}, upstream connections ${result.upstreamConnections}, load ${f2(result.load)}\n`);
      }
    }
    bench.setTproxy(undefined);
    if (ONLY !== undefined) {
      for (const c of ONLY) {
        const r = runs[c];
        const perRequest = (ms: (x: CaseRun) => number): number => median(r.map((x) => (ms(x) * 1000) / Math.max(1, x.requests)));
        const cpu = `${f0(perRequest((x) => x.middleUserMs + x.middleSystemMs))} (${f0(perRequest((x) => x.middleUserMs))} + ${f0(perRequest((x) => x.middleSystemMs))})`;
        process.stdout.write(`${CASE_NAMES[c]}: ${f0(median(r.map((x) => x.requestsPerSecond)))} req/s (median), middle CPU ${cpu} µs/request, user + system\n`);
      }
      await proxy.stop();
      const profile = profileSummary(proxy.pid);
      if (profile !== '') process.stdout.write(`${profile}\n`);
      return;
    }
    const table = resultTable(runs);
    const ratios = ratioTable(runs);
    process.stdout.write(`${table}\n\n${ratios}\n`);
    const errors = CASES.reduce((sum, c) => sum + runs[c].reduce((s, x) => s + x.errors + x.non2xx, 0), 0);
    // The profile is written when the child exits.
    await proxy.stop();
    const profile = profileSummary(proxy.pid);
    if (profile !== '') process.stdout.write(`${profile}\n`);
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    const env = ['L7_BENCH_QUICK', 'L7_BENCH_ROUNDS', 'L7_BENCH_SECONDS', 'L7_BENCH_WRK_THREADS', 'L7_BENCH_PROFILE', 'L7_BENCH_NODE_FLAGS'].filter((name) => process.env[name] !== undefined).map((name) => `${name}=${process.env[name]} `).join('');
    writeSection({
      // Quick, profiled or traced runs go to a scratch file: their figures are not the proxy's.
      ...(QUICK || PROFILE_DIR !== undefined || (process.env.L7_BENCH_NODE_FLAGS ?? '') !== '' ? { file: join(tmpdir(), 'twill-l7-bench.md') } : {}),
      id: 'l7',
      title: 'L7 proxy: requests/s and p99 against direct and nginx',
      command: `${env}${command}`,
      body: `
Three network namespaces in a line, client ── node ── server (veths, the node routing between two /24s). The upstream in the
server namespace is Debian's nginx-light with one worker answering \`GET ${PATH}\` with a ${BODY.length + 1}-byte body from memory
(\`return 200\`), the same for every case. The client is Debian's wrk: \`wrk --latency -t ${THREADS} -c ${CONNECTIONS} -d ${SECONDS}s\`, keep-alive
connections. One wrk thread: on ${cpus().length} CPUs the client, the upstream and the proxy share the machine, and one thread drives 64
connections well past what either proxy serves, so a second would only take CPU from the middle that is measured; nothing is pinned
with taskset, since any fixed placement on 2 CPUs favours one case (direct has two busy processes, the proxied cases three).

- (1) direct: the node only routes.
- (2) twill: the client still addresses server:${UPSTREAM_PORT}; in the node, a private nftables table (prerouting, priority mangle:
  \`socket transparent 1\` → mark; \`ip daddr server tcp dport ${UPSTREAM_PORT} tproxy ip to :${TPROXY_PORTS.twill}\` + mark) and a policy route
  (\`fwmark ${MARK} lookup ${TABLE}\`, \`local 0.0.0.0/0 dev lo table ${TABLE}\`) deliver the connections to the agent's \`L7Proxy\` on an
  \`openTransparentListener\` socket, in its own Node process (bench/l7-proxy-child.ts, \`ip netns exec\`). It decides each connection
  by its addresses with the agent's own policy source (\`IndexL7PolicySource\` over a \`PolicyController\` fed the two pods and the seed
  tutorial's l7-api-policy, CiliumNetworkPolicy: \`GET /api/v1/.*\` from app=frontend to app=api on ${UPSTREAM_PORT}), checks every request
  against the rule and forwards over its keep-alive pool; each request's record goes to the agent's FlowObserver (a Hubble flow into a
  4096-flow ring, the Prometheus counters), as in the agent. The table is loaded for this case's runs only.
- (2b) the baseline: the same redirect (to port ${TPROXY_PORTS.node}) to a second child that is a bare node:http proxy: Node's HTTP
  server and client, a keep-alive agent to the original destination, bodies piped, no policy, no header rules, no flow records.
  What any proxy on node:http pays; the L7Proxy's own cost is the difference between (2) and (2b).
- (2c) the floor: the same redirect (to port ${TPROXY_PORTS.relay}) to a third child (bench/l7-relay-child.ts) that is no HTTP proxy at
  all but a TCP relay: for each connection it accepts, one \`net.connect\` to the original destination, and every chunk read from
  one \`net.Socket\` written to the other (a 'data' handler calling \`write\`, paused while the other side is full; chosen over
  \`pipe()\`, which cost as much or more CPU per request in two quick runs). No parsing, no policy, no records, no pool (with one
  request in flight per connection, a 1:1 relay makes the same reads and writes per request as a pooled proxy). A proxy that
  moves its bytes the same way (\`net.Socket\` 'data' events and \`write\`) pays this and its parsing and policy on top: the rows
  "node:net relay / …" below hold this floor to twill's goals (such a proxy can meet only a goal its floor meets, and only with
  its HTTP and policy work fitting in the margin; ways of moving bytes the relay does not try, such as Node's \`onread\` buffers,
  might cost somewhat less), and its middle CPU beside nginx's shows what Node's sockets alone cost per request.
- (3) nginx-light in the node as a plain reverse proxy (\`proxy_pass\` to an upstream block with \`keepalive 64\`, HTTP/1.1),
  addressed directly by the client: with 1 worker, the like-for-like peer (Node runs the proxy on one event loop), and with
  \`worker_processes auto\` (${cpus().length} here).

Every round checks that the proxy enforces (a POST through it answered 403, a GET 200 with the upstream's body, and its own count of
forwarded requests at least wrk's; the baseline's count too). The relay cannot count requests, so its check is weaker: before
the rounds a GET through it must be answered 200 with the upstream's body on one connection the relay accepted, which gives the
size of one response; in each of its runs wrk must see no non-2xx response, the relay must have accepted wrk's ${CONNECTIONS} connections,
and it must have written to them at least wrk's request count times that size. ${ROUNDS} interleaved ${ROUNDS === 1 ? 'round' : 'rounds'} (1 2 2b 2c 3 3' 1 2 2b 2c 3 3' ...)
after a ${WARMUP_SECONDS} s warm-up run of each; figures are medians, ratios are of the medians.
Middle CPU: the proxy's process or the nginx workers' CPU time over a run (/proc/PID/stat, 10 ms ticks) per request, total (user + system); system time includes the softirq work of the packets they send, which the kernel charges to the sender. Upstream
connections: how many the upstream accepted during a run (its \`stub_status\`); a keep-alive pool opens at most 64, the relay one per
connection wrk opens, so as many as direct.
${errors === 0 ? 'wrk reported no socket errors and no non-2xx responses in any run.' : `**wrk reported ${errors} socket errors or non-2xx responses (see the table): these figures are suspect.**`}

${table}

${ratios}

Whole run: ${minutes} min; 1-minute load average ${f2(loadBefore[0] ?? 0)} at the start and ${f2(loadavg()[0] ?? 0)} at the end (a shared machine:
compare the ratios, not the absolute figures).
`,
    });
  } finally {
    for (const stop of stopped.reverse()) await stop().catch(() => undefined);
    line.close();
    rmSync(dir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
