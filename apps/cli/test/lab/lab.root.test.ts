// twill lab as root: real namespaces, real twill-agent processes, real CNI ADDs and BGP
// (BIRD as the ToR, or the nodes' full mesh). Each test compares the machine before and
// after `down`: namespaces, the host's links, nft tables and bpffs, processes, files.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { type Lab } from '../../src/lab/ports.js';
import { twill } from '../helpers.js';

const reason = rootSkipReason();
const hasBird = existsSync('/usr/sbin/bird');

interface Machine {
  readonly hostLinks: string[];
  readonly nftTables: string;
  readonly bpffs: string[];
}

// What the host itself has (labs of other tests come and go meanwhile; this lab's own
// namespaces and processes are checked by its id and folder).
function machine(): Machine {
  const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[];
  const walk = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((p) => join(dir, p)).sort() : []);
  return { hostLinks: links.map((l) => l.ifname).sort(), nftTables: execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }), bpffs: walk('/sys/fs/bpf') };
}

const netnsOf = (id: string): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`twl-${id}-`));
const processesMentioning = (text: string): string[] =>
  execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));

const readLab = (dir: string): Lab => (JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as { lab: Lab }).lab;

// A TCP server in each pod, answering its pod's name; started inside the pod's
// namespace (down must stop them: they are processes in the lab's namespaces).
const SERVER = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 8080)); s.listen(64)
print('ready', flush=True)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[1].encode()); c.close()
`;
// Connects to every address given, at once; prints "address answer" per target.
const CLIENT = `
import socket, sys, threading
out = {}
def probe(a):
    try:
        c = socket.create_connection((a, 8080), timeout=5); out[a] = c.recv(100).decode() or 'empty'; c.close()
    except Exception as e:
        out[a] = type(e).__name__
ts = [threading.Thread(target=probe, args=(a,)) for a in sys.argv[1:]]
[t.start() for t in ts]; [t.join() for t in ts]
for a in sys.argv[1:]: print(a, out[a])
`;

function startServer(netns: string, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, 'python3', '-c', SERVER, name], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    child.stdout.once('data', () => {
      child.unref();
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`server in ${netns} exited with ${code}`)));
  });
}

function probe(netns: string, addresses: readonly string[]): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', netns, 'python3', '-c', CLIENT, ...addresses], { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`probe from ${netns}: ${error.message.split('\n')[0] ?? ''} (signal ${String(error.signal)}): ${stdout}${stderr}`));
      else resolve(new Map(stdout.trim().split('\n').map((line) => line.split(' ') as [string, string])));
    });
  });
}

// Every pod connects to every pod on another node: what each answered.
async function crossNodeAnswers(lab: Lab): Promise<string[]> {
  await Promise.all(lab.pods.map((pod) => startServer(pod.netns, pod.name)));
  const lines = await Promise.all(
    lab.pods.map(async (from) => {
      const targets = lab.pods.filter((to) => to.node !== from.node);
      const answers = await probe(from.netns, targets.map((t) => t.address));
      return targets.map((to) => `${from.name} -> ${to.name}: ${answers.get(to.address) ?? 'none'}`);
    }),
  );
  return lines.flat();
}

const expectedAnswers = (lab: Lab): string[] => lab.pods.flatMap((from) => lab.pods.filter((to) => to.node !== from.node).map((to) => `${from.name} -> ${to.name}: ${to.name}`));

describe.skipIf(reason)(`twill lab as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let dir: string;
  let before: Machine;

  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'twt-lab-')), 'lab');
    before = machine();
  });

  afterEach(async () => {
    // A failed test still leaves nothing: down is idempotent.
    await twill(['lab', 'down', '--dir', dir], { realFiles: true });
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  async function downAndCompare(id: string): Promise<void> {
    const down = await twill(['lab', 'down', '--dir', dir], { realFiles: true });
    expect(down.stderr).toBe('');
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(new RegExp(`^removed \\d+ things of the lab in ${dir}:\n`));
    expect(down.stdout).toContain(`  namespace twl-${id}-fabric\n`);
    expect(netnsOf(id)).toEqual([]);
    expect(machine()).toEqual(before);
    expect(processesMentioning(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }

  it.skipIf(!hasBird)('3 nodes x 3 pods with a BIRD ToR: every pod reaches every pod on the other nodes, BIRD holds every block, status, exec, and down leaves the machine as it was', { timeout: 240_000 }, async () => {
    const up = await twill(['lab', 'up', '--nodes', '3', '--pods-per-node', '3', '--tor', 'bird', '--no-demo', '--dir', dir], { realFiles: true });
    expect(up.stderr).toContain('ok routes between every pair of nodes  3 blocks over BGP (via the ToR)\n');
    expect(up.code).toBe(0);
    const lab = readLab(dir);
    expect(lab.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2', 'node-3']);
    expect(lab.pods).toHaveLength(9);
    expect(new Set(lab.pods.map((p) => p.address)).size).toBe(9);
    expect(up.stdout).toContain(`BGP: every node peers with the ToR 172.31.250.1 (BIRD, AS 64512, route reflector; birdc -s ${dir}/tor/bird.ctl show route)\n`);

    expect(await crossNodeAnswers(lab)).toEqual(expectedAnswers(lab));

    const routes = execFileSync('birdc', ['-s', lab.tor!.controlSocket, 'show', 'route'], { encoding: 'utf8' });
    for (const node of lab.nodes) expect(routes).toMatch(new RegExp(`${node.block!.replaceAll('.', '\\.')}\\s+unicast \\[${node.name.replace('-', '_')} [^\\n]*\\n\\s+via ${node.address.replaceAll('.', '\\.')} on eth0`));

    const status = await twill(['lab', 'status', '--dir', dir], { realFiles: true });
    expect(status.code).toBe(0);
    for (const node of lab.nodes) expect(status.stdout).toMatch(new RegExp(`^${node.name}\\s+${node.address}\\s+${node.block}\\s+running \\(${node.agentPid}\\)\\s+running \\(:\\d+\\)\\s+172\\.31\\.250\\.1 Established$`, 'm'));
    expect(status.stdout).toContain('ToR 172.31.250.1: bird running, 172.31.250.11 Established, 172.31.250.12 Established, 172.31.250.13 Established\n');

    const pod = lab.pods[4]!;
    const exec = await twill(['lab', 'exec', '--dir', dir, pod.name, '--', 'ip', '-4', '-o', 'addr', 'show', 'eth0'], { realFiles: true });
    expect(exec.code).toBe(0);
    expect(exec.stdout).toContain(`inet ${pod.address}/32`);
    expect((await twill(['lab', 'exec', '--dir', dir, `default/${pod.name}`, '--', 'sh', '-c', 'exit 3'], { realFiles: true })).code).toBe(3);
    expect(await twill(['lab', 'exec', '--dir', dir, 'nope', '--', 'true'], { realFiles: true })).toMatchObject({ code: 1, stderr: expect.stringContaining('twill: lab exec: nope: no such pod in the lab (pods: default/pod-1-1,') });

    await downAndCompare(lab.id);
  });

  it('2 nodes x 2 pods in a full mesh on eBPF: up twice, an agent killed, down twice', { timeout: 240_000 }, async () => {
    const up = await twill(['lab', 'up', '--nodes', '2', '--pods-per-node', '2', '--tor', 'none', '--dataplane', 'ebpf', '--no-demo', '--dir', dir], { realFiles: true });
    expect(up.stderr).toContain('ok routes between every pair of nodes  2 blocks over BGP (mesh)\n');
    expect(up.code).toBe(0);
    const lab = readLab(dir);
    expect(await crossNodeAnswers(lab)).toEqual(expectedAnswers(lab));

    const again = await twill(['lab', 'up', '--nodes', '2', '--tor', 'none', '--dir', dir], { realFiles: true });
    expect(again).toEqual({ code: 1, stdout: '', stderr: `twill: lab up: a lab is up in ${dir} (2 nodes, id ${lab.id}): run twill lab down --dir ${dir} first\n` });

    const victim = lab.nodes[1]!;
    process.kill(victim.agentPid, 'SIGKILL');
    await vi.waitFor(() => expect(processesMentioning(victim.configFile)).toEqual([]), { timeout: 10_000 });
    const status = await twill(['lab', 'status', '--dir', dir], { realFiles: true });
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^node-2\s+172\.31\.250\.12\s+\S+\s+not running\s+-\s+unknown$/m);
    expect(status.stdout).toContain(`node-2: twill-agent (PID ${victim.agentPid}) is not running; see ${victim.logFile}\n`);

    await downAndCompare(lab.id);
    expect(await twill(['lab', 'down', '--dir', dir], { realFiles: true })).toEqual({ code: 0, stdout: `no lab in ${dir}: nothing to remove\n`, stderr: '' });
    expect(await twill(['lab', 'status', '--dir', dir], { realFiles: true })).toEqual({ code: 1, stdout: '', stderr: `twill: lab status: no lab is up in ${dir} (twill lab up starts one)\n` });
  });

  it('down after `up` itself was killed half-way removes what it had made', { timeout: 240_000 }, async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const child = spawn(process.execPath, ['--conditions=@twill/source', '--import', tsx, join(import.meta.dirname, 'run-twill.ts'), 'lab', 'up', '--nodes', '2', '--pods-per-node', '1', '--tor', 'none', '--no-demo', '--dir', dir], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Killed once an agent runs: namespaces, files and a process exist, the lab is not up.
    await vi.waitFor(
      () => {
        const state = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as { processes: unknown[] };
        expect(state.processes.length).toBeGreaterThan(0);
      },
      { timeout: 120_000, interval: 50 },
    );
    child.kill('SIGKILL');
    await exited;
    const state = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as { id: string; phase: string };
    expect(state.phase).toBe('building');
    expect(netnsOf(state.id)).not.toEqual([]);

    expect(await twill(['lab', 'status', '--dir', dir], { realFiles: true })).toMatchObject({ code: 1, stderr: `twill: lab status: the lab in ${dir} did not finish coming up (it crashed or is still starting): twill lab down removes what it made\n` });
    await downAndCompare(state.id);
  });

  it('up runs the demonstration by default: role pods in the tutorial\'s namespaces, every step agreeing with simulate; down stops its servers', { timeout: 240_000 }, async () => {
    const up = await twill(['lab', 'up', '--nodes', '2', '--pods-per-node', '1', '--tor', 'none', '--dir', dir], { realFiles: true });
    expect(up.stderr).toContain('ok 2 pods added through CNI ADD\n');
    expect(up.code).toBe(0);
    const lab = readLab(dir);
    expect(lab.pods.map((p) => `${p.namespace}/${p.name} ${p.labels['app'] ?? ''}`)).toEqual(['production/frontend frontend', 'production/api-server api-server']);
    expect(up.stdout).toContain('Step 0 of 4: no policy\n');
    expect(up.stdout.match(/the probes agree with simulate/g)).toHaveLength(5);
    expect(up.stdout).not.toContain('disagree');

    const down = await twill(['lab', 'down', '--dir', dir], { realFiles: true });
    expect(down.stdout).toMatch(/^ {2}process \d+ \(frontend production\/frontend\)$/m);
    expect(down.stdout).toContain(`  folder ${dir}/demo\n`);
    expect(netnsOf(lab.id)).toEqual([]);
    expect(machine()).toEqual(before);
    expect(processesMentioning(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses a folder holding what a lab would make, and touches nothing', async () => {
    execFileSync('mkdir', ['-p', join(dir, 'nodes')]);
    const up = await twill(['lab', 'up', '--dir', dir], { realFiles: true });
    expect(up).toEqual({ code: 2, stdout: '', stderr: `twill: lab up: --dir: ${dir} already holds nodes; choose an empty folder\n` });
    expect(readdirSync(dir)).toEqual(['nodes']);
    expect(machine()).toEqual(before);
  });
});
