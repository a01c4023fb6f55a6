// The twill CNI plugin against Debian's reference plugins, as a runtime calls them: each
// side a one-plugin network run by @twill/cni-core's CniRuntime (libcni's steps: config,
// CNI_PATH search, exec, result decoding, the result cache), every plugin started inside
// a scratch "node" namespace with `nsenter --net` (the same launcher for all sides), a
// fresh pod namespace per ADD made before the clock starts. Sides: twill as installed
// with twill-agent running (the native forwarder exec'd per call, handing it to the
// agent's warm plugin server, which also puts the endpoint's policy in place through the
// nftables dataplane before ADD returns), Debian's `bridge` + `host-local` and `ptp` + `host-local`, with the same MTU,
// IPv4 only, addresses from a /16 on every side. Serial ADD and DEL medians, and pods per
// second (ADD then DEL) with 32 callers; sides alternate (A B C A B C) for ROUNDS rounds.
// The issue's goals: serial at most 1.0x bridge+host-local, 32-way at least 1.5x.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { installTwill } from '@twill/agent';
import { CniRuntime, decodeNetworkConfigList, fileResultCache, forwarderPath, type NetworkConfigList, nodePluginExec, type PluginExec } from '@twill/cni-core';
import { isRoot, NetworkScratch, type ScratchNetns } from '@twill/sys/testing';

import { median } from './lib/compare.js';
import { processCpuMs } from './lib/cpu.js';
import { writeSection } from './lib/report.js';

const ROOT = join(import.meta.dirname, '..');
const CNI_BIN = '/usr/lib/cni';
const QUICK = process.env['AGENT_CNI_BENCH_QUICK'] === '1';
const ROUNDS = 3;
const SERIAL_PODS = QUICK ? 5 : 20;
const PARALLEL_PODS = QUICK ? 32 : 96;
const CALLERS = 32;
const MTU = 1450;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

interface Side {
  readonly name: string;
  readonly list: NetworkConfigList;
}

interface Round {
  addMs: number[];
  delMs: number[];
  podsPerSecond: number[];
  /** CPU per pod at 32 callers: the exec'd processes, and (twill) the agent. */
  processCpuMs: number[];
  agentCpuMs: number[];
}

function conflist(plugin: Record<string, unknown>): NetworkConfigList {
  return decodeNetworkConfigList(JSON.stringify({ cniVersion: '1.0.0', name: `bench-${String(plugin['type'])}`, plugins: [plugin] }));
}

const AGENT_BIN = join(ROOT, 'apps', 'agent', 'bin', 'twill-agent.js');

function readyz(node: ScratchNetns): number {
  const curl = spawnSync('ip', ['netns', 'exec', node.name, 'curl', '-s', '-o', '/dev/null', '-m', '5', '-w', '%{http_code}', 'http://127.0.0.1:9099/readyz'], { encoding: 'utf8' });
  return Number(curl.stdout);
}

/**
 * The real `twill-agent` (from the TypeScript sources: tsx compiles once at start, each
 * call then runs warm) in the node namespace, as a hostNetwork DaemonSet pod runs
 * (`ip netns exec` execs it in place: the child's PID is the agent's). Resolves once
 * /readyz says 200.
 */
async function startAgent(work: string, node: ScratchNetns, settings: { network: string; dataDir: string; socketPath: string }): Promise<ChildProcess> {
  const config = join(work, 'agent.yaml');
  writeFileSync(
    config,
    [
      'nodeName: bench',
      `dataDir: ${settings.dataDir}`,
      `agentSocket: ${settings.socketPath}`,
      // Its own API socket: another agent on this machine may serve the default one.
      `api: {socket: ${join(work, 'api.sock')}}`,
      // And its own flow observer socket (flows are on with nftables): not the host's /run/twill/observer.sock.
      `flows: {socket: ${join(work, 'observer.sock')}}`,
      `network: ${settings.network}`,
      'dataplane: nftables',
      'routing: none',
      'http: {listen: "127.0.0.1:9099"}',
      'logLevel: warn',
      '',
    ].join('\n'),
  );
  // The served plugin logs one line per call at info, as installed: to /dev/null here.
  const child = spawn('ip', ['netns', 'exec', node.name, process.execPath, '--conditions=@twill/source', '--import', TSX, AGENT_BIN, 'run', '--config', config], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`twill-agent exited with ${child.exitCode ?? child.signalCode} before it was ready`);
    if (readyz(node) === 200) return child;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

let ids = 0;

/** CPU time a process used so far (user + system), in milliseconds. */
const cpuMs = (pid: number): number => processCpuMs(pid);

/**
 * CPU time of this process's children that have ended (the launcher and the plugin
 * processes, with what they waited for: host-local under bridge), in milliseconds.
 */
const reapedChildrenCpuMs = (): number => processCpuMs('self', { children: true });

/** Serial: one pod at a time, each ADD and each DEL timed on its own; the agent's CPU per pod over them. */
async function serial(runtime: CniRuntime, side: Side, count: number, agentPid: number): Promise<{ addMs: number[]; delMs: number[]; agentCpuMs: number }> {
  const scratch = new NetworkScratch();
  try {
    const pods = Array.from({ length: count }, () => scratch.netns());
    const agent = cpuMs(agentPid);
    const addMs: number[] = [];
    const delMs: number[] = [];
    for (const pod of pods) {
      const rt = { containerId: `bench-${(ids += 1)}`, netns: pod.path, ifName: 'eth0' };
      let t = process.hrtime.bigint();
      await runtime.add(side.list, rt);
      addMs.push(Number(process.hrtime.bigint() - t) / 1e6);
      t = process.hrtime.bigint();
      await runtime.del(side.list, rt);
      delMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return { addMs, delMs, agentCpuMs: (cpuMs(agentPid) - agent) / count };
  } finally {
    scratch.cleanup();
  }
}

/**
 * `callers` loops, each taking the next pod and doing its ADD then its DEL: pods per
 * second, and the CPU per pod of the exec'd processes and of the agent (`agentPid`),
 * counted over the timed part only.
 */
async function concurrent(runtime: CniRuntime, side: Side, count: number, callers: number, agentPid: number): Promise<{ podsPerSecond: number; processCpuMs: number; agentCpuMs: number }> {
  const scratch = new NetworkScratch();
  try {
    const pods = Array.from({ length: count }, () => scratch.netns());
    let next = 0;
    const children = reapedChildrenCpuMs();
    const agent = cpuMs(agentPid);
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (next < pods.length) {
          const pod = pods[next++]!;
          const rt = { containerId: `bench-${(ids += 1)}`, netns: pod.path, ifName: 'eth0' };
          await runtime.add(side.list, rt);
          await runtime.del(side.list, rt);
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { podsPerSecond: count / seconds, processCpuMs: (reapedChildrenCpuMs() - children) / count, agentCpuMs: (cpuMs(agentPid) - agent) / count };
  } finally {
    scratch.cleanup();
  }
}

/** Median wall time of `runs` execs of a plugin with CNI_COMMAND=VERSION, through the bench's launcher. */
async function versionMs(exec: PluginExec, file: string, env: Record<string, string>, runs = 15): Promise<number> {
  const times: number[] = [];
  const stdin = new TextEncoder().encode('{"cniVersion":"1.0.0"}');
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const result = await exec.exec({ file, env: { CNI_COMMAND: 'VERSION', ...env }, stdin, timeoutMs: 30_000 });
    if (result.exitCode !== 0) throw new Error(`${file} VERSION exited ${result.exitCode}: ${new TextDecoder().decode(result.stdout)}`);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(times);
}

const fmt = (ms: number): string => ms.toFixed(1);

interface Summary {
  readonly pps: number;
  readonly processCpu: number;
  readonly agentCpu: number;
}

// What the 32-way figures say about where twill's time goes, from this run's numbers.
function concurrencyNote(twill: Summary, base: Summary): string {
  const twillCpu = twill.processCpu + twill.agentCpu;
  const perPodMs = 1000 / twill.pps;
  const lines = [
    `At ${CALLERS} callers twill used ${fmt(twillCpu)} ms of CPU per pod, ${ratio(twillCpu, base.processCpu)} of bridge+host-local's`,
    `${fmt(base.processCpu)} ms; the agent's share was ${fmt(twill.agentCpu)} ms while one pod went through every ${fmt(perPodMs)} ms of wall time.`,
  ];
  if (twill.pps / base.pps < 1.5) {
    lines.push(
      'The agent serves calls concurrently (its datastore turn covers only IPAM and the endpoint record; the veth plumbing and',
      `the policy step run outside it), but it is one Node thread: it was on a CPU ${((twill.agentCpu / perPodMs) * 100).toFixed(0)}% of that time, and on a`,
      'loaded machine one thread gets one share of the CPUs while 32 Go plugin processes get 32, and every veth create or',
      "delete waits on the kernel's rtnl lock, which all sides share. Spreading the netlink work over worker threads is the",
      "next step; the forwarder's start is not the limit (see below).",
    );
  }
  return lines.join('\n');
}
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;

/** Runs the benchmark and writes its section of BENCHMARKS.md. */
export async function run(command: string): Promise<void> {
  if (!isRoot()) throw new Error('agent-cni needs root (it creates network namespaces)');
  for (const plugin of ['bridge', 'ptp', 'host-local']) {
    if (!existsSync(join(CNI_BIN, plugin))) throw new Error(`${CNI_BIN}/${plugin} is missing (Debian's containernetworking-plugins)`);
  }
  const forwarder = forwarderPath();
  const work = mkdtempSync(join(tmpdir(), 'twill-bench-agent-cni-'));
  const scratch = new NetworkScratch();
  let agent: ChildProcess | undefined;
  try {
    const node = scratch.netns();
    const binDir = join(work, 'bin');
    const socketPath = join(work, 'agent.sock');
    await installTwill(binDir);
    const twillDataDir = join(work, 'twill');
    agent = await startAgent(work, node, { network: 'bench-twill', dataDir: twillDataDir, socketPath });
    const launcher = (file: string) => ({ file: 'nsenter', args: [`--net=${node.path}`, '--', file] });
    const exec = nodePluginExec({ baseEnv: { PATH: process.env['PATH'], TWILL_AGENT_SOCKET: socketPath }, command: launcher });
    const runtime = new CniRuntime({ path: [binDir, CNI_BIN], exec, cache: fileResultCache(join(work, 'cache')), timeoutMs: 120_000 });
    const hostLocal = (subnet: string, dir: string) => ({ type: 'host-local', ranges: [[{ subnet }]], dataDir: join(work, dir) });
    const sides: Side[] = [
      {
        name: 'bridge + host-local (Go)',
        list: conflist({ type: 'bridge', bridge: 'bench-br0', isGateway: true, ipMasq: false, mtu: MTU, ipam: hostLocal('10.245.0.0/16', 'host-local-bridge') }),
      },
      { name: 'ptp + host-local (Go)', list: conflist({ type: 'ptp', ipMasq: false, mtu: MTU, ipam: hostLocal('10.246.0.0/16', 'host-local-ptp') }) },
      {
        name: 'twill, forwarder + twill-agent',
        list: conflist({ type: 'twill', mtu: MTU, dataDir: twillDataDir, ipam: { type: 'twill-ipam', nodeName: 'bench', pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }] } }),
      },
    ];
    const rounds: Round[] = sides.map(() => ({ addMs: [], delMs: [], podsPerSecond: [], processCpuMs: [], agentCpuMs: [] }));
    const TWILL = 2;
    const serverPid = agent.pid!;
    // The agent's CPU per pod (ADD + DEL), serial and at 32 callers: its work, apart from process starts.
    const serverCpu = { serial: [] as number[], concurrent: [] as number[] };
    // Warm-up: the first call of each side (page cache, the agent's first store open).
    for (const side of sides) await serial(runtime, side, 2, serverPid);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, side] of sides.entries()) {
        const { addMs, delMs, agentCpuMs } = await serial(runtime, side, SERIAL_PODS, serverPid);
        if (i === TWILL) serverCpu.serial.push(agentCpuMs);
        rounds[i]!.addMs.push(median(addMs));
        rounds[i]!.delMs.push(median(delMs));
      }
      for (const [i, side] of sides.entries()) {
        const measured = await concurrent(runtime, side, PARALLEL_PODS, CALLERS, serverPid);
        rounds[i]!.podsPerSecond.push(measured.podsPerSecond);
        rounds[i]!.processCpuMs.push(measured.processCpuMs);
        // The agent is idle apart from its controllers' polling while other sides run.
        rounds[i]!.agentCpuMs.push(i === TWILL ? measured.agentCpuMs : 0);
        if (i === TWILL) serverCpu.concurrent.push(measured.agentCpuMs);
      }
      process.stdout.write(`  round ${round + 1}/${ROUNDS}\n`);
    }

    // Process start: the forwarder exec'd with the agent answering VERSION (its whole
    // per-call cost without plugin work), the forwarder falling back to /bin/true (its
    // exec alone), the launcher alone, and Go's bridge for comparison.
    const served = { TWILL_AGENT_SOCKET: socketPath };
    const twillPlugin = join(binDir, 'twill');
    const forwardedVersion = await versionMs(exec, twillPlugin, served);
    const forwarderAlone = await versionMs(exec, forwarder, { TWILL_AGENT_SOCKET: join(work, 'nobody.sock'), TWILL_STANDALONE: '/bin/true' });
    const launcherAlone = await versionMs(exec, '/bin/true', {});
    const bridgeVersion = await versionMs(exec, join(CNI_BIN, 'bridge'), {});

    const summary = sides.map((side, i) => ({
      side,
      add: median(rounds[i]!.addMs),
      del: median(rounds[i]!.delMs),
      pps: median(rounds[i]!.podsPerSecond),
      ppsMin: Math.min(...rounds[i]!.podsPerSecond),
      ppsMax: Math.max(...rounds[i]!.podsPerSecond),
      processCpu: median(rounds[i]!.processCpuMs),
      agentCpu: median(rounds[i]!.agentCpuMs),
    }));
    const base = summary[0]!;
    const twill = summary[TWILL]!;
    const rows = summary.map(
      (s) =>
        `| ${s.side.name} | ${fmt(s.add)} | ${fmt(s.del)} | ${fmt(s.add + s.del)} | ${ratio(s.add + s.del, base.add + base.del)} | ${s.pps.toFixed(1)} (${s.ppsMin.toFixed(1)}–${s.ppsMax.toFixed(1)}) | ${ratio(s.pps, base.pps)} | ${fmt(s.processCpu)}${s.agentCpu > 0 ? ` + ${fmt(s.agentCpu)}` : ''} |`,
    );
    const load = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');
    writeSection({
      id: 'agent-cni',
      title: 'twill (agent running) versus bridge+host-local and ptp+host-local, ADD and DEL',
      command: `${QUICK ? 'AGENT_CNI_BENCH_QUICK=1 ' : ''}${command}`,
      body: `Each side is a one-plugin network (cniVersion 1.0.0, IPv4, MTU ${MTU}, a /16 to
allocate from: host-local's \`ranges\`, twill's pool with /26 blocks) run by
@twill/cni-core's \`CniRuntime\` (config, CNI_PATH search, exec, result decoding and the
result cache, as libcni), every plugin started in a scratch node namespace by
\`nsenter --net\` (the same launcher for all sides), a fresh pod namespace per ADD made
before the clock starts. twill is installed with \`installTwill\`: \`twill\` is the native
forwarder, handing each call over a unix socket to the real \`twill-agent\` running in the
node namespace (from the TypeScript sources, compiled once at its start; \`dataplane:
nftables\`, \`routing: none\`), whose served plugin also has the endpoint's policy put in
place by the agent's policy controller before ADD returns. Serial: ${SERIAL_PODS} pods
per round, one ADD then one DEL each, each timed; the figure is the median over ${ROUNDS}
rounds of each round's median. 32-way: ${CALLERS} callers share ${PARALLEL_PODS} pods (each
ADD then DEL), pods per second, median (min–max) of ${ROUNDS} rounds. Sides alternate
within every round. Load average at the end: ${load}. CPU per pod (ADD + DEL) at ${CALLERS}
callers: the exec'd processes (launcher, plugins, and what they ran: host-local under
bridge and ptp, the forwarder for twill), plus, for twill, the agent's process; on a
busy machine this, not wall time, says what each pod costs.

| side | ADD median ms | DEL median ms | ADD+DEL ms | serial ratio vs bridge | pods/s at ${CALLERS} callers | ratio vs bridge | CPU ms per pod at ${CALLERS} callers |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Goals (issue 9): serial at most 1.0x bridge+host-local — twill ${ratio(twill.add + twill.del, base.add + base.del)} (ADD ${ratio(twill.add, base.add)},
DEL ${ratio(twill.del, base.del)}); at ${CALLERS} callers at least 1.5x its pods per second — twill ${ratio(twill.pps, base.pps)}.
${concurrencyNote(twill, base)}

Process start, median of 15 execs through the same launcher: the launcher alone
(\`nsenter\` + \`/bin/true\`) ${fmt(launcherAlone)} ms; the forwarder alone (no server,
falling back to \`/bin/true\`) ${fmt(forwarderAlone)} ms; the forwarder with the agent
answering VERSION (its whole fixed cost per call: exec, connect, one round trip)
${fmt(forwardedVersion)} ms, that is ${((forwardedVersion / twill.add) * 100).toFixed(0)}% of twill's ADD median and
${((forwardedVersion / twill.del) * 100).toFixed(0)}% of its DEL median; Go's \`bridge\` answering VERSION ${fmt(bridgeVersion)} ms.
Without the launcher (a runtime execs plugins directly), the forwarder's own start and round
trip is ${fmt(forwardedVersion - launcherAlone)} ms, ${(((forwardedVersion - launcherAlone) / (twill.add - launcherAlone)) * 100).toFixed(0)}% of twill's ADD median less the launcher.
The rest of twill's time is the agent's work (IPAM commit in SQLite, endpoint record,
netlink plumbing, sysctls, the policy apply), the datastore part one call at a time: the
agent process used ${fmt(median(serverCpu.serial))} ms of CPU per pod (ADD + DEL) serially and ${fmt(median(serverCpu.concurrent))} ms at ${CALLERS} callers
(medians of the rounds; all it did meanwhile, its controllers' polling included).`,
    });
  } finally {
    agent?.kill('SIGKILL');
    scratch.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}
