// examples/bgp-announcer against BIRD 2: BIRD in one scratch namespace, the announcer
// (the built example, run as a user runs it) in another, a veth between them. BIRD's own
// CLI says what it holds; both processes are this test's children, killed by PID.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { NetworkScratch, type ScratchNetns, rootSkipReason } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { workspaceRoot } from '../boundaries.js';

const ANNOUNCER = join(workspaceRoot, 'examples/bgp-announcer/announce.js');
const built = ['bgp', 'sys'].every((p) => existsSync(join(workspaceRoot, 'packages', p, 'dist/index.js')));
const hasBird = ['/usr/sbin/bird', '/usr/sbin/birdc'].every((file) => existsSync(file));
const reason =
  rootSkipReason() ??
  (built ? undefined : 'needs the packages built (npx nx run-many -t build)') ??
  (hasBird ? undefined : 'needs BIRD 2 (apt-get install bird2)');

/**
 * BIRD's side: AS 65000 at 10.249.0.2, waiting for the announcer (AS 65001) to connect,
 * logging the routes it is sent and withdrawn (`debug`) to `log`.
 */
function birdConfig(log: string): string {
  return `router id 10.249.0.2;
log "${log}" all;
protocol device {}
protocol bgp announcer {
  local 10.249.0.2 as 65000;
  neighbor 10.249.0.1 as 65001;
  passive on;
  debug { states, routes };
  ipv4 { import all; export none; };
}
`;
}

/** Waits until `ready()` is true, polling; fails after `seconds` naming what it waited for. */
async function until(what: string, ready: () => boolean, seconds = 20): Promise<void> {
  for (let i = 0; i < seconds * 10; i += 1) {
    if (ready()) return;
    await sleep(100);
  }
  throw new Error(`gave up waiting for ${what} after ${seconds} s`);
}

/** A child that exits: its exit code and what it printed. */
function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

describe.skipIf(reason)(`examples/bgp-announcer${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const children: ChildProcess[] = [];
  let dir = '';
  let birdNs: ScratchNetns;
  let announcerNs: ScratchNetns;

  const birdc = (...args: string[]): string =>
    execFileSync('birdc', ['-s', join(dir, 'bird.ctl'), ...args], { encoding: 'utf8', timeout: 10_000 });
  const run = (ns: ScratchNetns, file: string, args: string[]): ChildProcess => {
    // `ip netns exec` execs the program: the child's PID is the program's own.
    const child = spawn('ip', ['netns', 'exec', ns.name, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twill-example-bgp-'));
    announcerNs = scratch.netns();
    birdNs = scratch.netns();
    const veth = scratch.veth(announcerNs, birdNs);
    scratch.ip(announcerNs, 'addr', 'add', '10.249.0.1/24', 'dev', veth.a);
    scratch.ip(birdNs, 'addr', 'add', '10.249.0.2/24', 'dev', veth.b);
    writeFileSync(join(dir, 'bird.conf'), birdConfig(join(dir, 'bird.log')));
    run(birdNs, 'bird', ['-f', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl')]);
    await until('BIRD to listen on port 179', () => scratch.exec(birdNs, 'ss', ['-Hltn', 'sport = :179']).trim() !== '');
  });

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      await exited(child);
    }
    scratch.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('advertises its prefixes to BIRD, which takes them, and withdraws them before closing when stopped', async () => {
    const announcer = run(announcerNs, 'node', [
      ANNOUNCER, '--local-as', '65001', '--router-id', '10.249.0.1', '--peer', '10.249.0.2', '--peer-as', '65000',
      '10.20.0.0/24', '10.21.0.0/16',
    ]);
    let output = '';
    announcer.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    announcer.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

    const routes = (): string => birdc('show', 'route', 'protocol', 'announcer', 'all');
    await until('BIRD to hold both prefixes', () => /10\.20\.0\.0\/24/.test(routes()) && /10\.21\.0\.0\/16/.test(routes()));
    const held = routes();
    expect(held).toMatch(/10\.20\.0\.0\/24\s+unicast \[announcer [^\]]+\] \* \(100\) \[AS65001i\]/);
    expect(held).toMatch(/10\.21\.0\.0\/16\s+unicast \[announcer [^\]]+\] \* \(100\) \[AS65001i\]/);
    expect(held).toContain('BGP.as_path: 65001');
    expect(held).toContain('BGP.next_hop: 10.249.0.1');
    expect(birdc('show', 'protocols', 'announcer')).toMatch(/announcer\s+BGP\s+---\s+up\s+\S+\s+Established/);
    // The announcer logs each change of session state on stdout.
    await until('the announcer to log its session Established', () => output.includes('"to":"Established"'));

    if (announcer.pid !== undefined) process.kill(announcer.pid, 'SIGTERM');
    expect(await exited(announcer)).toEqual({ code: 0, signal: null });
    expect(routes()).not.toMatch(/10\.2[01]\.0\.0/);
    // BIRD heard the withdrawals (an UPDATE) before the session closed, and why it closed,
    // in the announcer's words (RFC 9003).
    const log = readFileSync(join(dir, 'bird.log'), 'utf8');
    const shutdown = log.indexOf('Received: Administrative shutdown: "twill-announce stopped"');
    expect(shutdown).toBeGreaterThan(-1);
    for (const prefix of ['10.20.0.0/24', '10.21.0.0/16']) {
      expect(log.indexOf(`announcer.ipv4 > removed [sole] ${prefix}`)).toBeGreaterThan(-1);
      expect(log.indexOf(`announcer.ipv4 > removed [sole] ${prefix}`)).toBeLessThan(shutdown);
    }
    expect(birdc('show', 'protocols', 'all', 'announcer')).toContain('Last error:       Received: Administrative shutdown');
  });

  it('refuses a bad prefix with a message naming it, before connecting', async () => {
    const announcer = run(announcerNs, 'node', [
      ANNOUNCER, '--local-as', '65001', '--router-id', '10.249.0.1', '--peer', '10.249.0.2', '--peer-as', '65000', '10.20.0.1/24',
    ]);
    let stderr = '';
    announcer.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exited(announcer)).toEqual({ code: 2, signal: null });
    expect(stderr).toBe('twill-announce: "10.20.0.1/24" has host bits set after /24\n');
    expect(birdc('show', 'protocols', 'announcer')).not.toContain('Established');
  });
});
