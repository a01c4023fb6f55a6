// Policy enforcement cost, side by side in one run (issue 8 "Measured"). Two pod
// namespaces talk through a node namespace (the ARCHITECTURE plumbing: routed /32s, proxy
// ARP, no bridge). The server pod has N rules that do not match the test traffic plus one
// allow for the client:
//   (a) no filtering;
//   (b) the peer: the same rules as one linear iptables chain in the node namespace
//       (iptables-legacy-restore; every packet, both directions, walks the chain, as in the
//       issue's reference measurement);
//   (c) twill nftables (createNftablesDataplane);
//   (d) twill eBPF (createEbpfDataplane, when apps/agent/src/dataplane/ebpf exports it).
// Figures: iperf3 TCP throughput and TCP connects per second, offloads on and off
// (ethtool's ioctls, through python3 when the ethtool program is absent), medians of
// interleaved rounds (a b c d a b c d ...), ratios to (a); and the CPU each gigabit
// cost (the iperf3 processes and ksoftirqd, from /proc), whose ratio to (a) holds on a
// loaded machine where throughput follows whatever share of the CPUs the run gets. Then
// the eBPF programs' own time per packet (kernel.bpf_stats_enabled, restored after),
// and programming latency: with 5,000 policies loaded, one policy change → the first
// probe (every 10 ms) whose verdict flips. Needs root, iperf3, iptables-legacy-restore, nft.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { compileNetworkPolicy, parseNetworkPolicy, PolicyIndex, type Policy, type PolicyIndexDiff } from '@twill/policy-engine';

import { createNftablesDataplane } from '../apps/agent/src/dataplane/nftables/index.js';
import { type Dataplane } from '../apps/agent/src/dataplane/port.js';
import { DataplaneLab } from '../apps/agent/test/dataplane/harness/lab.js';
import { median } from './lib/compare.js';
import { machineCpu, machineCpuSince, processCpuMs } from './lib/cpu.js';
import { writeSection } from './lib/report.js';

const CLIENT = { key: 'bench/client', ip: '10.9.0.1' };
const SERVER = { key: 'bench/server', ip: '10.9.0.2' };
// DATAPLANE_BENCH_QUICK=1: a smoke run (smaller, one round) written to a scratch file, not BENCHMARKS.md.
const QUICK = process.env.DATAPLANE_BENCH_QUICK === '1';
// DATAPLANE_BENCH_ONLY=latency: only the programming latency (full size), printed and written to its own
// section of BENCHMARKS.md (dataplane-latency), so the latency can be rerun in a couple of minutes without
// redoing the throughput table.
const LATENCY_ONLY = process.env.DATAPLANE_BENCH_ONLY === 'latency';
// Partial runs while working on a driver (written to a scratch file, like QUICK): DATAPLANE_BENCH_SIZES=10000,
// DATAPLANE_BENCH_OFFLOADS=off, DATAPLANE_BENCH_MODES=a,c,d, DATAPLANE_BENCH_ROUNDS=7.
const listEnv = (name: string): string[] | undefined => process.env[name]?.split(',').map((v) => v.trim()).filter((v) => v !== '');
// DATAPLANE_BENCH_NFT_FLOWTABLE=on|off: (c) with or without its flowtable fast path (the driver's `flowtable` option,
// off by default; on a kernel without CONFIG_NF_FLOW_TABLE the driver runs without and the run prints why).
const NFT_FLOWTABLE = process.env.DATAPLANE_BENCH_NFT_FLOWTABLE === 'on';
const PARTIAL = ['DATAPLANE_BENCH_SIZES', 'DATAPLANE_BENCH_OFFLOADS', 'DATAPLANE_BENCH_MODES', 'DATAPLANE_BENCH_ROUNDS', 'DATAPLANE_BENCH_EBPF_OBJECT', 'DATAPLANE_BENCH_NFT_FLOWTABLE'].some((name) => process.env[name] !== undefined);
const SIZES = listEnv('DATAPLANE_BENCH_SIZES')?.map(Number) ?? (QUICK ? [0, 1_000] : [0, 1_000, 10_000]);
const OFFLOADS = listEnv('DATAPLANE_BENCH_OFFLOADS')?.map((v) => v === 'on') ?? [true, false];
const ROUNDS = Number(process.env.DATAPLANE_BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const IPERF_SECONDS = QUICK ? 1 : 3;
const CONNECT_MS = QUICK ? 500 : 1_500;
const LATENCY_POLICIES = QUICK ? 500 : 5_000;
const LATENCY_CHANGES = QUICK ? 6 : 50;

type Mode = 'a' | 'b' | 'c' | 'd';
const MODE_NAMES: Record<Mode, string> = {
  a: '(a) no filtering',
  b: '(b) iptables linear chain (legacy)',
  c: '(c) twill nftables',
  d: '(d) twill eBPF',
};

/** The i-th rule that never matches: source 10.200.x.y, TCP port 1000 + i mod 50000. */
const unmatched = (i: number) => ({ source: `10.200.${(i >> 8) & 255}.${i & 255}`, port: 1000 + (i % 50_000) });

const policies = new Map<string, Policy>();

function serverPolicy(n: number, name = 'bench-rules'): Policy {
  const cached = policies.get(`${name}/${n}`);
  if (cached !== undefined) return cached;
  const ingress = [
    ...Array.from({ length: n }, (_, i) => ({ from: [{ ipBlock: { cidr: `${unmatched(i).source}/32` } }], ports: [{ port: unmatched(i).port, protocol: 'TCP' }] })),
    { from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 5201, protocol: 'TCP' }, { port: 80, protocol: 'TCP' }] },
  ];
  const policy = compileNetworkPolicy(parseNetworkPolicy({
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'bench' },
    spec: { podSelector: { matchLabels: { role: 'server' } }, policyTypes: ['Ingress'], ingress },
  }));
  policies.set(`${name}/${n}`, policy);
  return policy;
}

function iptablesRules(n: number): string {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':TWILL - [0:0]', '-A FORWARD -j TWILL'];
  for (let i = 0; i < n; i += 1) lines.push(`-A TWILL -s ${unmatched(i).source}/32 -d ${SERVER.ip}/32 -p tcp -m tcp --dport ${unmatched(i).port} -j ACCEPT`);
  for (const port of [5201, 80]) {
    lines.push(`-A TWILL -s ${CLIENT.ip}/32 -d ${SERVER.ip}/32 -p tcp -m tcp --dport ${port} -j ACCEPT`);
    lines.push(`-A TWILL -s ${SERVER.ip}/32 -d ${CLIENT.ip}/32 -p tcp -m tcp --sport ${port} -j ACCEPT`);
  }
  lines.push(`-A TWILL -d ${SERVER.ip}/32 -j DROP`, 'COMMIT', '');
  return lines.join('\n');
}

const EMPTY_FILTER = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

// ethtool's legacy ioctls (ETHTOOL_S{GRO,GSO,TSO,SG,TXCSUM,RXCSUM}), for hosts without the ethtool program.
const OFFLOAD_PY = `
import array, fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for ifname in sys.argv[2:]:
    for cmd in (0x2c, 0x24, 0x1f, 0x19, 0x17, 0x15):
        ev = array.array('I', [cmd, 1 if sys.argv[1] == 'on' else 0])
        fcntl.ioctl(s.fileno(), 0x8946, struct.pack('16sP', ifname.encode(), ev.buffer_info()[0]))
`;

function setOffloads(lab: DataplaneLab, on: boolean): void {
  const ethtool = spawnSync('sh', ['-c', 'command -v ethtool'], { encoding: 'utf8' }).stdout.trim();
  const ends: [string, string][] = [[lab.pod(CLIENT.key).netns, 'eth0'], [lab.pod(SERVER.key).netns, 'eth0'], [lab.node, lab.pod(CLIENT.key).hostInterface], [lab.node, lab.pod(SERVER.key).hostInterface]];
  for (const [netns, ifname] of ends) {
    if (ethtool !== '') execFileSync('ip', ['netns', 'exec', netns, 'ethtool', '-K', ifname, 'gro', on ? 'on' : 'off', 'gso', on ? 'on' : 'off', 'tso', on ? 'on' : 'off', 'sg', on ? 'on' : 'off', 'tx', on ? 'on' : 'off', 'rx', on ? 'on' : 'off']);
    else execFileSync('ip', ['netns', 'exec', netns, 'python3', '-c', OFFLOAD_PY, on ? 'on' : 'off', ifname]);
  }
}

function inNetns(netns: string, file: string, args: string[], input = ''): string {
  return execFileSync('ip', ['netns', 'exec', netns, file, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** One iperf3 run: throughput, and the CPU it cost in the processes that carry the traffic. */
interface IperfRun {
  readonly gbps: number;
  /** Gigabits received. */
  readonly gbit: number;
  /** CPU of the iperf3 client and server and the ksoftirqd threads (what a packet's path runs in), ms. */
  readonly pathCpuMs: number;
  /** The whole machine's system + softirq + irq time over the run, ms (other jobs' too). */
  readonly machineKernelMs: number;
}

/** The ksoftirqd threads: softirq work the kernel defers there is charged to them, not to the sender. */
function ksoftirqdPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('ksoftirqd/');
    } catch {
      return false;
    }
  });
}

function iperf(lab: DataplaneLab, serverPid: number, softirqd: readonly number[]): IperfRun {
  // With tick accounting and no IRQ time accounting (this kernel), softirq time is charged to the task it interrupts:
  // the veth path (xmit, backlog, forward, TCP receive) mostly runs in the iperf3 processes' context.
  const others = (): number => processCpuMs(serverPid) + softirqd.reduce((sum, pid) => sum + processCpuMs(pid), 0);
  const client0 = processCpuMs('self', { children: true });
  const others0 = others();
  const machine0 = machineCpu();
  const out = inNetns(lab.pod(CLIENT.key).netns, 'iperf3', ['-c', SERVER.ip, '-p', '5201', '-t', String(IPERF_SECONDS), '-J']);
  const machine = machineCpuSince(machine0);
  const pathCpuMs = processCpuMs('self', { children: true }) - client0 + others() - others0;
  const json = JSON.parse(out) as { end: { sum_received: { bits_per_second: number; bytes: number } } };
  return { gbps: json.end.sum_received.bits_per_second / 1e9, gbit: (json.end.sum_received.bytes * 8) / 1e9, pathCpuMs, machineKernelMs: machine.system + machine.softirq + machine.irq };
}

// Sequential-ish connects (8 at a time) for CONNECT_MS: connections accepted per second.
const CONNECT_JS = `
import net from 'node:net';
const [host, port, ms] = process.argv.slice(1);
const end = Date.now() + Number(ms);
let done = 0;
const one = () => new Promise((resolve) => { const s = net.connect({ host, port: Number(port) }); s.once('connect', () => { done += 1; s.destroy(); resolve(); }); s.once('error', () => { s.destroy(); resolve(); }); });
await Promise.all(Array.from({ length: 8 }, async () => { while (Date.now() < end) await one(); }));
process.stdout.write(String(done / (Number(ms) / 1000)));
`;

function connects(lab: DataplaneLab): number {
  return Number(inNetns(lab.pod(CLIENT.key).netns, process.execPath, ['--input-type=module', '-e', CONNECT_JS, SERVER.ip, '80', String(CONNECT_MS)]));
}

function fullState(index: PolicyIndex): PolicyIndexDiff {
  return { changed: index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] as const })), removed: [], ipcache: { set: index.ipIdentities(), removed: [] } };
}

type Factory = (netns: string) => Promise<Dataplane>;

/** The bench's private bpffs, and the eBPF driver's pin root in it. */
const BPFFS = mkdtempSync(join(tmpdir(), 'twill-bench-bpffs-'));
const EBPF_PIN_ROOT = join(BPFFS, 'twill');

/** The eBPF factory when the other driver exists at run time, or why not. */
async function ebpfFactory(): Promise<Factory | string> {
  try {
    const mod = (await import(pathToFileURL(join(import.meta.dirname, '..', 'apps', 'agent', 'src', 'dataplane', 'ebpf', 'index.ts')).href)) as { createEbpfDataplane?: (o: { netns: string; pinRoot: string; objectPath?: string }) => Promise<Dataplane> };
    const create = mod.createEbpfDataplane;
    if (typeof create !== 'function') return '(d) not yet: apps/agent/src/dataplane/ebpf exports no createEbpfDataplane';
    process.once('exit', () => {
      spawnSync('umount', [BPFFS]);
      rmSync(BPFFS, { recursive: true, force: true });
    });
    execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS]);
    // DATAPLANE_BENCH_EBPF_OBJECT: another build of policy.bpf.c (an older commit's, to compare program costs).
    const objectPath = process.env.DATAPLANE_BENCH_EBPF_OBJECT;
    const factory: Factory = (netns) => create({ netns, pinRoot: EBPF_PIN_ROOT, ...(objectPath === undefined ? {} : { objectPath }) });
    // One attach and cleanup first: a driver that cannot load here is reported, not fatal.
    const lab = await DataplaneLab.create({ pods: [CLIENT, SERVER], ports: [80] });
    try {
      const index = new PolicyIndex();
      index.apply([
        { kind: 'upsert-endpoint', endpoint: { kind: 'workload', namespace: 'bench', name: 'client', labels: { role: 'client' }, ips: [CLIENT.ip] } },
        { kind: 'upsert-endpoint', endpoint: { kind: 'workload', namespace: 'bench', name: 'server', labels: { role: 'server' }, ips: [SERVER.ip] } },
      ]);
      const dataplane = await factory(lab.node);
      await dataplane.apply({ policy: fullState(index), attach: lab.attachments() });
      await dataplane.cleanup();
    } finally {
      lab.close();
    }
    return factory;
  } catch (error) {
    return `(d) not measured: createEbpfDataplane failed here: ${String(error).split('\n')[0]}`;
  }
}

let flowtableReported = false;

/** Puts the node namespace in one mode for N rules; returns what to undo. */
async function enter(mode: Mode, n: number, lab: DataplaneLab, factories: Partial<Record<Mode, Factory>>): Promise<() => Promise<void>> {
  if (mode === 'a') return async () => undefined;
  if (mode === 'b') {
    inNetns(lab.node, 'iptables-legacy-restore', [], iptablesRules(n));
    return async () => {
      inNetns(lab.node, 'iptables-legacy-restore', [], EMPTY_FILTER);
    };
  }
  const index = new PolicyIndex();
  index.apply([
    { kind: 'upsert-namespace', namespace: { name: 'bench', labels: { 'kubernetes.io/metadata.name': 'bench' } } },
    { kind: 'upsert-endpoint', endpoint: { kind: 'workload', namespace: 'bench', name: 'client', labels: { role: 'client' }, ips: [CLIENT.ip] } },
    { kind: 'upsert-endpoint', endpoint: { kind: 'workload', namespace: 'bench', name: 'server', labels: { role: 'server' }, ips: [SERVER.ip] } },
    { kind: 'upsert-policy', policy: serverPolicy(n) },
  ]);
  const dataplane = await (factories[mode] as Factory)(lab.node);
  await dataplane.apply({ policy: fullState(index), attach: lab.attachments() });
  if (mode === 'c' && !flowtableReported) {
    flowtableReported = true;
    const { flowtable } = (await dataplane.status()) as { flowtable?: { active: boolean; reason?: string } };
    process.stdout.write(`  (c) flowtable: ${flowtable?.active === true ? 'active' : `not active${flowtable?.reason === undefined ? '' : ` (${flowtable.reason})`}`}\n`);
  }
  return () => dataplane.cleanup();
}

const fmt = (v: number, digits = 2): string => v.toFixed(digits);

/** User plus system time of a `process.cpuUsage()` reading, in milliseconds. */
const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;

/** One side's measurements at one size: one value per round. */
interface SideRounds {
  readonly gbps: number[];
  readonly cps: number[];
  /** CPU ms per gigabit: the traffic's processes, and the machine's kernel time. */
  readonly pathMsPerGbit: number[];
  readonly machineMsPerGbit: number[];
}

async function throughputTable(lab: DataplaneLab, modes: Mode[], factories: Partial<Record<Mode, Factory>>, serverPid: number): Promise<string> {
  const rows: string[] = [
    '| offloads | N rules | side | iperf3 Gbit/s (median) | ratio to (a) | CPU ms/Gbit, iperf3 + ksoftirqd: median (min–max) | (a)\'s / this | machine kernel ms/Gbit (median) | connects/s (median) | ratio to (a) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const softirqd = ksoftirqdPids();
  for (const offloads of OFFLOADS) {
    setOffloads(lab, offloads);
    for (const n of SIZES) {
      const sides = new Map<Mode, SideRounds>(modes.map((m) => [m, { gbps: [], cps: [], pathMsPerGbit: [], machineMsPerGbit: [] }]));
      // Interleaved (a b c d a b c d ...): drift in the machine's load reaches every side alike.
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const mode of modes) {
          const leave = await enter(mode, n, lab, factories);
          try {
            const run = iperf(lab, serverPid, softirqd);
            const side = sides.get(mode) as SideRounds;
            side.gbps.push(run.gbps);
            side.pathMsPerGbit.push(run.pathCpuMs / run.gbit);
            side.machineMsPerGbit.push(run.machineKernelMs / run.gbit);
            side.cps.push(connects(lab));
          } finally {
            await leave();
          }
        }
        process.stdout.write(`  offloads ${offloads ? 'on' : 'off'}, N ${n}: round ${round + 1}/${ROUNDS}\n`);
      }
      const base = sides.get('a') as SideRounds;
      const baseG = median(base.gbps);
      const baseC = median(base.cps);
      const basePath = median(base.pathMsPerGbit);
      for (const mode of modes) {
        const side = sides.get(mode) as SideRounds;
        const g = median(side.gbps);
        const c = median(side.cps);
        const path = median(side.pathMsPerGbit);
        const spread = `${fmt(Math.min(...side.pathMsPerGbit), 0)}–${fmt(Math.max(...side.pathMsPerGbit), 0)}`;
        rows.push(`| ${offloads ? 'on' : 'off'} | ${n} | ${MODE_NAMES[mode]} | ${fmt(g)} | ${fmt(g / baseG)} | ${fmt(path, 0)} (${spread}) | ${fmt(basePath / path)} | ${fmt(median(side.machineMsPerGbit), 0)} | ${fmt(c, 0)} | ${fmt(c / baseC)} |`);
      }
      process.stdout.write(`${rows.slice(-modes.length).join('\n')}\n`);
    }
  }
  setOffloads(lab, true);
  return rows.join('\n');
}

/** The programs of the tcx links pinned under the eBPF driver's pin root (`links/<hook>/<interface>`). */
function tcxProgramIds(pinRoot: string): number[] {
  return ['ingress', 'egress'].flatMap((hook) => readdirSync(join(pinRoot, 'links', hook)).map((name) => {
    const link = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'pinned', join(pinRoot, 'links', hook, name)], { encoding: 'utf8' })) as { prog_id: number };
    return link.prog_id;
  }));
}

/** Run count and nanoseconds so far of BPF programs (kernel.bpf_stats_enabled must be on). */
function programStats(ids: readonly number[]): { runs: number; ns: number } {
  let runs = 0;
  let ns = 0;
  for (const id of ids) {
    const prog = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { encoding: 'utf8' })) as { run_cnt?: number; run_time_ns?: number };
    runs += prog.run_cnt ?? 0;
    ns += prog.run_time_ns ?? 0;
  }
  return { runs, ns };
}

const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled';

/**
 * The eBPF programs' own time per run (one run: one packet at one veth) over one iperf3 run with N rules,
 * offloads off: kernel.bpf_stats_enabled is switched on for it and restored after (it costs every program
 * on the machine two clock reads per run, so the throughput rounds run without it).
 */
/** The one's-complement sum of RFC 1071, as the IPv4 header checksum needs it. */
function inetChecksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += bytes.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An Ethernet frame of IPv4 TCP from `src`:`sport` to `dst`:`dport` with `flags` (the TCP checksum is not checked on this path). */
function tcpFrame(src: string, dst: string, sport: number, dport: number, flags: number, payload = 0): Buffer {
  const tcp = Buffer.alloc(20 + payload);
  tcp.writeUInt16BE(sport, 0);
  tcp.writeUInt16BE(dport, 2);
  tcp.writeUInt8(5 << 4, 12);
  tcp.writeUInt8(flags, 13);
  tcp.writeUInt16BE(64240, 14);
  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0);
  ip.writeUInt16BE(20 + tcp.length, 2);
  ip.writeUInt16BE(0x4000, 6);
  ip.writeUInt8(64, 8);
  ip.writeUInt8(6, 9);
  Buffer.from(src.split('.').map(Number)).copy(ip, 12);
  Buffer.from(dst.split('.').map(Number)).copy(ip, 16);
  ip.writeUInt16BE(inetChecksum(ip), 10);
  return Buffer.concat([Buffer.from([2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 0x08, 0x00]), ip, tcp]);
}

/**
 * The server veth's two programs on packets of one established connection, through BPF_PROG_TEST_RUN
 * (`bpftool prog run ... repeat`): the program alone, its maps in cache, on one CPU, whatever the load
 * (the kernel stops the clock while the loop yields). The connection is opened by a SYN and a SYN-ACK
 * run through the same programs first. Returns the median ns per run of `runs` loops of each.
 */
function testRunCost(lab: DataplaneLab, runs: number): { own: number; reply: number } {
  const server = lab.pod(SERVER.key);
  const dir = mkdtempSync(join(tmpdir(), 'twill-bench-testrun-'));
  try {
    const ifindex = Number(inNetns(lab.node, 'cat', [`/sys/class/net/${server.hostInterface}/ifindex`]).trim());
    // struct __sk_buff with only ifindex (offset 40) set: the packet runs as if at the server's veth.
    const ctx = Buffer.alloc(192);
    ctx.writeUInt32LE(ifindex, 40);
    const files = {
      ctx,
      syn: tcpFrame(CLIENT.ip, SERVER.ip, 40_000, 80, 0x02),
      synAck: tcpFrame(SERVER.ip, CLIENT.ip, 80, 40_000, 0x12),
      data: tcpFrame(CLIENT.ip, SERVER.ip, 40_000, 80, 0x10, 1400),
      ack: tcpFrame(SERVER.ip, CLIENT.ip, 80, 40_000, 0x10),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    const prog = (hook: string): number => (JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'pinned', join(EBPF_PIN_ROOT, 'links', hook, server.hostInterface)], { encoding: 'utf8' })) as { prog_id: number }).prog_id;
    const toPod = prog('egress');
    const fromPod = prog('ingress');
    const run = (id: number, file: string, repeat: number): number => {
      const out = inNetns(lab.node, 'bpftool', ['-j', 'prog', 'run', 'id', String(id), 'data_in', join(dir, file), 'ctx_in', join(dir, 'ctx'), 'repeat', String(repeat)]);
      const result = JSON.parse(out) as { retval: number; duration: number };
      // TCX_NEXT (-1): passed. Anything else means the connection is not what this measures.
      if (result.retval !== 0xffffffff && result.retval !== -1) throw new Error(`bpftool prog run ${file}: the program returned ${result.retval}, not TCX_NEXT`);
      return result.duration;
    };
    run(toPod, 'syn', 1);
    run(fromPod, 'synAck', 1);
    const own: number[] = [];
    const reply: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      own.push(run(toPod, 'data', 1_000_000));
      reply.push(run(fromPod, 'ack', 1_000_000));
    }
    return { own: median(own), reply: median(reply) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function ebpfProgramCost(lab: DataplaneLab, n: number, factory: Factory, serverPid: number): Promise<string> {
  const before = readFileSync(BPF_STATS, 'utf8').trim();
  setOffloads(lab, false);
  const leave = await enter('d', n, lab, { d: factory });
  try {
    const testRun = testRunCost(lab, QUICK ? 3 : 7);
    writeFileSync(BPF_STATS, '1');
    const ids = tcxProgramIds(EBPF_PIN_ROOT);
    const s0 = programStats(ids);
    const run = iperf(lab, serverPid, []);
    const s1 = programStats(ids);
    const runs = s1.runs - s0.runs;
    return [
      `The eBPF programs at N = ${n}: on packets of an established connection through BPF_PROG_TEST_RUN (\`bpftool prog run ... repeat 1000000\`, `,
      `the median of ${QUICK ? 3 : 7} loops; the program alone with its maps in cache), ${fmt(testRun.own, 0)} ns per packet in the connection's direction `,
      `and ${fmt(testRun.reply, 0)} ns per reply. On the real path, offloads off, over one \`iperf3 -t ${IPERF_SECONDS}\` (${fmt(run.gbps)} Gbit/s): `,
      `${runs} runs (packets times veths), ${runs === 0 ? 'no' : fmt((s1.ns - s0.ns) / runs, 0)} ns per run (\`run_time_ns / run_cnt\`, kernel.bpf_stats_enabled `,
      'on for this run only; on a loaded machine this is mostly cache misses of the maps).',
    ].join('');
  } finally {
    writeFileSync(BPF_STATS, before);
    await leave();
    setOffloads(lab, true);
  }
}

// A prober in the client pod: a TCP connect to the server every 10 ms (200 ms timeout),
// one line per probe: the wall-clock start in ms and whether it connected.
const PROBER_JS = `
import net from 'node:net';
const [host, port] = process.argv.slice(1);
setInterval(() => {
  const t = Date.now();
  const s = net.connect({ host, port: Number(port) });
  const timer = setTimeout(() => { s.destroy(); process.stdout.write(t + ' 0\\n'); }, 200);
  s.once('connect', () => { clearTimeout(timer); s.destroy(); process.stdout.write(t + ' 1\\n'); });
  s.once('error', () => { clearTimeout(timer); s.destroy(); });
}, 10);
`;

async function latencyRow(name: string, factory: Factory, lab: DataplaneLab): Promise<string> {
  const loadBefore = loadavg()[0] ?? 0;
  const index = new PolicyIndex();
  const toggled = serverPolicy(0, 'allow-client');
  // 5,000 policies select the server (none matches the client), plus the one that allows it.
  const policies = Array.from({ length: LATENCY_POLICIES }, (_, i) => compileNetworkPolicy(parseNetworkPolicy({
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `p${i}`, namespace: 'bench' },
    spec: { podSelector: { matchLabels: { role: 'server' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: `${unmatched(i).source}/32` } }], ports: [{ port: unmatched(i).port }] }] },
  })));
  index.apply([
    { kind: 'upsert-namespace', namespace: { name: 'bench', labels: { 'kubernetes.io/metadata.name': 'bench' } } },
    { kind: 'upsert-endpoint', endpoint: { kind: 'workload', namespace: 'bench', name: 'client', labels: { role: 'client' }, ips: [CLIENT.ip] } },
    { kind: 'upsert-endpoint', endpoint: { kind: 'workload', namespace: 'bench', name: 'server', labels: { role: 'server' }, ips: [SERVER.ip] } },
    ...policies.map((policy) => ({ kind: 'upsert-policy' as const, policy })),
    { kind: 'upsert-policy', policy: toggled },
  ]);
  const dataplane = await factory(lab.node);
  await dataplane.apply({ policy: fullState(index), attach: lab.attachments() });
  const probes: { t: number; ok: boolean }[] = [];
  const prober: ChildProcess = spawn('ip', ['netns', 'exec', lab.pod(CLIENT.key).netns, process.execPath, '--input-type=module', '-e', PROBER_JS, SERVER.ip, '80'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buffer = '';
  prober.stdout?.on('data', (b: Buffer) => {
    buffer += b.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const [t, ok] = line.split(' ');
      probes.push({ t: Number(t), ok: ok === '1' });
    }
  });
  const latencies: number[] = [];
  const applies: number[] = [];
  // Stages of each change: the policy index's recomputation, and the driver's apply (generator and kernel write).
  const indexMs: number[] = [];
  const driverMs: number[] = [];
  // The same stages in this process's CPU time (the figures a loaded machine inflates least; nft's own CPU is not in it).
  const indexCpu: number[] = [];
  const driverCpu: number[] = [];
  try {
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < LATENCY_CHANGES; i += 1) {
      const allow = i % 2 === 1;
      const t0 = Date.now();
      const c0 = process.cpuUsage();
      const diff = allow ? index.upsertPolicy(toggled) : index.deletePolicy(toggled.ref);
      indexMs.push(Date.now() - t0);
      const indexUsage = process.cpuUsage(c0);
      const c1 = process.cpuUsage();
      const report = await dataplane.apply({ policy: diff });
      applies.push(Date.now() - t0);
      driverMs.push(report.durationMs);
      const driverUsage = process.cpuUsage(c1);
      indexCpu.push(cpuMs(indexUsage));
      driverCpu.push(cpuMs(driverUsage));
      // Wait for the flip, then for probes started before it to settle.
      const deadline = Date.now() + 3000;
      let flipped: { t: number } | undefined;
      while (flipped === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        flipped = probes.find((p) => p.t >= t0 && p.ok === allow);
      }
      if (flipped === undefined) throw new Error(`${name}: change ${i} (${allow ? 'allow' : 'deny'}) never flipped the probes (apply: ${JSON.stringify(report)})`);
      latencies.push(flipped.t - t0);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    if (prober.exitCode === null) prober.kill('SIGKILL');
    await dataplane.cleanup();
  }
  const sorted = [...latencies].sort((x, y) => x - y);
  const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] ?? NaN;
  const load = `${loadBefore.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`;
  return `| ${name} | ${latencies.length} | ${median(latencies).toFixed(0)} | ${p99.toFixed(0)} | ${Math.max(...latencies).toFixed(0)} | ${median(applies).toFixed(0)} | ${median(indexMs).toFixed(0)} | ${median(driverMs).toFixed(0)} | ${median(indexCpu).toFixed(1)} | ${median(driverCpu).toFixed(1)} | ${load} |`;
}

const LATENCY_HEADER = [
  '| side | changes | median ms | p99 ms | max ms | apply median ms | of which index ms | of which driver ms | index CPU ms | driver CPU ms | 1-min load |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
];

async function latencyOnly(command: string, factories: Partial<Record<Mode, Factory>>): Promise<void> {
  const lab = await DataplaneLab.create({ pods: [CLIENT, SERVER], ports: [80] });
  try {
    const latency = [...LATENCY_HEADER];
    for (const [mode, name] of [['c', '(c) twill nftables'], ['d', '(d) twill eBPF']] as const) {
      const factory = factories[mode];
      if (factory === undefined) continue;
      latency.push(await latencyRow(name, factory, lab));
      process.stdout.write(`${latency.at(-1)}\n`);
    }
    writeSection({
      ...(QUICK ? { file: join(tmpdir(), 'twill-dataplane-latency.md') } : {}),
      id: 'dataplane-latency',
      title: 'Policy dataplanes: programming latency only',
      command,
      body: `\n${LATENCY_POLICIES} NetworkPolicies select the server plus one allowing the client, deleted and re-created ${LATENCY_CHANGES} times.\n\n${latency.join('\n')}\n`,
    });
  } finally {
    lab.close();
  }
}

export async function run(command: string): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('dataplane needs root (it creates network namespaces)');
  const started = Date.now();
  const loadBefore = loadavg()[0] ?? 0;
  const ebpf = await ebpfFactory();
  const factories: Partial<Record<Mode, Factory>> = {
    c: (netns) => createNftablesDataplane({ netns, flowtable: NFT_FLOWTABLE }),
  };
  if (typeof ebpf !== 'string') factories.d = ebpf;
  if (LATENCY_ONLY) {
    if (typeof ebpf === 'string') process.stdout.write(`${ebpf}\n`);
    await latencyOnly(`DATAPLANE_BENCH_ONLY=latency ${command}`, factories);
    return;
  }
  const wanted = listEnv('DATAPLANE_BENCH_MODES') ?? ['a', 'b', 'c', 'd'];
  const modes = (['a', 'b', 'c', 'd'] as const).filter((m) => wanted.includes(m) && (m !== 'd' || typeof ebpf !== 'string'));
  if (modes[0] !== 'a') throw new Error('DATAPLANE_BENCH_MODES must include a: every ratio is to (a)');
  const lab = await DataplaneLab.create({ pods: [CLIENT, SERVER], ports: [80] });
  const iperfServer = spawn('ip', ['netns', 'exec', lab.pod(SERVER.key).netns, 'iperf3', '-s', '-p', '5201'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const serverPid = iperfServer.pid ?? 0;
    const table = await throughputTable(lab, modes, factories, serverPid);
    const programCost = factories.d !== undefined && modes.includes('d') ? await ebpfProgramCost(lab, Math.max(...SIZES), factories.d, serverPid) : '';
    if (programCost !== '') process.stdout.write(`${programCost}\n`);
    const latency = [...LATENCY_HEADER];
    if (!PARTIAL) {
      latency.push(await latencyRow('(c) twill nftables', factories.c as Factory, lab));
      if (factories.d !== undefined) latency.push(await latencyRow('(d) twill eBPF', factories.d, lab));
    }
    const ethtool = spawnSync('sh', ['-c', 'command -v ethtool'], { encoding: 'utf8' }).stdout.trim() !== '';
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    writeSection({
      ...(QUICK || PARTIAL ? { file: join(tmpdir(), 'twill-dataplane-bench.md') } : {}),
      id: 'dataplane',
      title: 'Policy dataplanes: twill nftables and eBPF against a linear iptables chain',
      command,
      body: `
Two pod namespaces (client ${CLIENT.ip}, server ${SERVER.ip}) talk through a node namespace: veths, /32 routes, proxy ARP,
no bridge. The server has N ingress rules that never match the test traffic (source 10.200.x.y, TCP port 1000+i) and one allow
for the client. (b) is one linear iptables chain loaded with \`iptables-legacy-restore\` in the node namespace, on FORWARD,
without a conntrack shortcut: every packet in both directions walks it, as in the issue's reference measurement (Calico's
iptables mode accepts ESTABLISHED first; this is the kube-proxy-like worst case). (c) and (d) are the twill drivers fed by
the policy engine (one Kubernetes NetworkPolicy with N + 1 rules); they accept established flows before any rule.
${typeof ebpf === 'string' ? `${ebpf}.\n` : ''}
Throughput: \`iperf3 -t ${IPERF_SECONDS}\`, ${ROUNDS} interleaved rounds (a b c d a b c d ...; each side set up and torn down in
its turn), medians. CPU ms/Gbit: the CPU time of the iperf3 client and server and of the ksoftirqd threads during a run (from
/proc/PID/stat; this kernel charges softirq time to the task it interrupts, so the veth path's forwarding, conntrack, nft and
tc programs are in it) over the gigabits received; "(a)'s / this" is the side's efficiency against no filtering, which holds
when the run gets only a share of the loaded CPUs and throughput with it. Machine kernel ms/Gbit: the whole machine's system,
softirq and irq time from /proc/stat over the same gigabits (other jobs' work too: a noisy upper bound). Connects/s: 8 concurrent
Node clients connecting and closing for ${CONNECT_MS} ms. Offloads (GRO, GSO, TSO, SG, tx/rx checksums) on all four veth ends switched with
${ethtool ? '`ethtool -K`' : "ethtool's ioctls from python3 (the ethtool program is not installed here)"}. SCTP is not measured.

${table}

${programCost}

Programming latency: ${LATENCY_POLICIES} NetworkPolicies select the server, plus one that allows the client; that one is deleted and
re-created ${LATENCY_CHANGES} times. Latency is from the change entering \`PolicyIndex\` to the start of the first probe (a TCP connect from
the client every 10 ms) with the new verdict, so it includes the policy engine's recomputation, the driver and \`nft\`; 10 ms resolution.

${latency.join('\n')}

Whole run: ${minutes} min on a shared 2-CPU machine; 1-minute load average ${loadBefore.toFixed(1)} at the start and ${(loadavg()[0] ?? 0).toFixed(1)} at the end
(other jobs share the CPUs: single figures are noisy, compare the ratios of one row against another).
`,
    });
  } finally {
    if (iperfServer.exitCode === null) iperfServer.kill('SIGKILL');
    lab.close();
  }
}
