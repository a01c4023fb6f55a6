// The twill CNI plugin against Debian's reference plugins, as a runtime calls them: each
// side a one-plugin network run by @twill/cni-core's CniRuntime (libcni's steps: config,
// CNI_PATH search, exec, result decoding, the result cache), every plugin started inside
// a scratch "node" namespace with `nsenter --net` (the same launcher for all sides), a
// fresh pod namespace per ADD made before the clock starts. Sides: twill as installed
// with an agent running (the native forwarder exec'd per call, handing it to the warm
// server), Debian's `bridge` + `host-local` and `ptp` + `host-local`, with the same MTU,
// IPv4 only, addresses from a /16 on every side. Serial ADD and DEL medians, and pods per
// second (ADD then DEL) with 32 callers; sides alternate (A B C A B C) for ROUNDS rounds.
// The goals: serial at most 1.0x bridge+host-local, 32-way at least 1.5x.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { installTwill } from '@twill/agent';
import { CniRuntime, decodeNetworkConfigList, fileResultCache, forwarderPath, type NetworkConfigList, nodePluginExec, type PluginExec } from '@twill/cni-core';
import { isRoot, NetworkScratch, type ScratchNetns } from '@twill/sys/testing';

import { median } from './lib/compare.js';
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
}

function conflist(plugin: Record<string, unknown>): NetworkConfigList {
  return decodeNetworkConfigList(JSON.stringify({ cniVersion: '1.0.0', name: `bench-${String(plugin['type'])}`, plugins: [plugin] }));
}

/**
 * What the agent serves, in a process of its own: serveTwill from the sources (tsx
 * compiles once at start; each call then runs warm), plumbing into the node namespace.
 */
async function startAgent(socketPath: string, node: ScratchNetns): Promise<ChildProcess> {
  const code = `const { serveTwill } = await import('@twill/agent'); await serveTwill({ socketPath: process.argv[1], hostNetns: process.argv[2] }); console.log('ready');`;
  // The plugin logs one line per call at info, as installed: to /dev/null here.
  const child = spawn(process.execPath, ['--conditions=@twill/source', '--import', TSX, '--input-type=module', '-e', code, socketPath, node.path], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (status, signal) => reject(new Error(`the twill server exited with ${status ?? signal} before listening`)));
  });
  return child;
}

let ids = 0;

/** CPU time a process used so far (user + system), in milliseconds (USER_HZ is 100 on Linux). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Serial: one pod at a time, each ADD and each DEL timed on its own. */
async function serial(runtime: CniRuntime, side: Side, count: number): Promise<{ addMs: number[]; delMs: number[] }> {
  const scratch = new NetworkScratch();
  try {
    const pods = Array.from({ length: count }, () => scratch.netns());
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
    return { addMs, delMs };
  } finally {
    scratch.cleanup();
  }
}

/** `callers` loops, each taking the next pod and doing its ADD then its DEL: pods per second. */
async function concurrent(runtime: CniRuntime, side: Side, count: number, callers: number): Promise<number> {
  const scratch = new NetworkScratch();
  try {
    const pods = Array.from({ length: count }, () => scratch.netns());
    let next = 0;
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
    return count / (Number(process.hrtime.bigint() - start) / 1e9);
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
    agent = await startAgent(socketPath, node);
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
        name: 'twill, forwarder + warm server',
        list: conflist({ type: 'twill', mtu: MTU, dataDir: join(work, 'twill'), ipam: { type: 'twill-ipam', nodeName: 'bench', pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }] } }),
      },
    ];
    const rounds: Round[] = sides.map(() => ({ addMs: [], delMs: [], podsPerSecond: [] }));
    const TWILL = 2;
    const serverPid = agent.pid!;
    // The server's CPU per pod (ADD + DEL), serial and at 32 callers: its work, apart from process starts.
    const serverCpu = { serial: [] as number[], concurrent: [] as number[] };
    // Warm-up: the first call of each side (page cache, the server's first store open).
    for (const side of sides) await serial(runtime, side, 2);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, side] of sides.entries()) {
        const cpu = cpuMs(serverPid);
        const { addMs, delMs } = await serial(runtime, side, SERIAL_PODS);
        if (i === TWILL) serverCpu.serial.push((cpuMs(serverPid) - cpu) / SERIAL_PODS);
        rounds[i]!.addMs.push(median(addMs));
        rounds[i]!.delMs.push(median(delMs));
      }
      for (const [i, side] of sides.entries()) {
        const cpu = cpuMs(serverPid);
        rounds[i]!.podsPerSecond.push(await concurrent(runtime, side, PARALLEL_PODS, CALLERS));
        if (i === TWILL) serverCpu.concurrent.push((cpuMs(serverPid) - cpu) / PARALLEL_PODS);
      }
      process.stdout.write(`  round ${round + 1}/${ROUNDS}\n`);
    }

    // Process start: the forwarder exec'd with the server answering VERSION (its whole
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
    }));
    const base = summary[0]!;
    const twill = summary[TWILL]!;
    const rows = summary.map(
      (s) =>
        `| ${s.side.name} | ${fmt(s.add)} | ${fmt(s.del)} | ${fmt(s.add + s.del)} | ${ratio(s.add + s.del, base.add + base.del)} | ${s.pps.toFixed(1)} (${s.ppsMin.toFixed(1)}–${s.ppsMax.toFixed(1)}) | ${ratio(s.pps, base.pps)} |`,
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
forwarder, handing each call over a unix socket to one warm process running \`serveTwill\`
(what twill-agent serves; from the TypeScript sources, compiled once at its start) — not
the whole \`twill-agent\`, so no policy is programmed per ADD. Serial: ${SERIAL_PODS} pods
per round, one ADD then one DEL each, each timed; the figure is the median over ${ROUNDS}
rounds of each round's median. 32-way: ${CALLERS} callers share ${PARALLEL_PODS} pods (each
ADD then DEL), pods per second, median (min–max) of ${ROUNDS} rounds. Sides alternate
within every round. Load average at the end: ${load}.

| side | ADD median ms | DEL median ms | ADD+DEL ms | serial ratio vs bridge | pods/s at ${CALLERS} callers | ratio vs bridge |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Goals (issue 9): serial at most 1.0x bridge+host-local — twill ${ratio(twill.add + twill.del, base.add + base.del)} (ADD ${ratio(twill.add, base.add)},
DEL ${ratio(twill.del, base.del)}); at ${CALLERS} callers at least 1.5x its pods per second — twill ${ratio(twill.pps, base.pps)}.

Process start, median of 15 execs through the same launcher: the launcher alone
(\`nsenter\` + \`/bin/true\`) ${fmt(launcherAlone)} ms; the forwarder alone (no server,
falling back to \`/bin/true\`) ${fmt(forwarderAlone)} ms; the forwarder with the server
answering VERSION (its whole fixed cost per call: exec, connect, one round trip)
${fmt(forwardedVersion)} ms, that is ${((forwardedVersion / twill.add) * 100).toFixed(0)}% of twill's ADD median and
${((forwardedVersion / twill.del) * 100).toFixed(0)}% of its DEL median; Go's \`bridge\` answering VERSION ${fmt(bridgeVersion)} ms.
The rest of twill's time is the server's work (IPAM commit in SQLite, endpoint record,
netlink plumbing, sysctls), done one call at a time per datastore: the server process
used ${fmt(median(serverCpu.serial))} ms of CPU per pod (ADD + DEL) serially and ${fmt(median(serverCpu.concurrent))} ms at ${CALLERS} callers (medians of the rounds).`,
    });
  } finally {
    agent?.kill('SIGKILL');
    scratch.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}
