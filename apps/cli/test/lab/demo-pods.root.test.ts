// The demonstration's pod servers (each also its pod's prober) on the real kernel, without a lab: three
// scratch "pods" (frontend, api-server, database) on a bridge in a scratch hub namespace,
// the servers started as `lab up` starts them, one nftables rule in the database's
// namespace dropping the frontend's connections to 5432. The matrix must show exactly
// that, and, beside an all-allow prediction, flag the one pair loudly.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { NetworkScratch, rootSkipReason, testName } from '@twill/sys/testing';

import { styleFor } from '../../src/output.js';
import { type LabPod } from '../../src/lab/ports.js';
import { buildMatrix, demoFiles, probeMatrix, startDemoServers } from '../../src/lab/demo/demo.js';
import { renderMatrix } from '../../src/lab/demo/matrix.js';
import { demoLabPods } from '../../src/lab/demo/roles.js';
import { demoDown, nodeDemoSystem, stopServersOf } from '../../src/lab/demo/sys/system.js';
import { type ServerRecord } from '../../src/lab/demo/system-port.js';

const reason = rootSkipReason('runs pod servers in scratch network namespaces');

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe.skipIf(reason)(`demonstration pods on the real kernel${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) {
      for (const what of await stopServersOf(demoFiles(dir).servers)) {
        const pid = Number(/process (\d+)/.exec(what)?.[1]);
        for (let i = 0; i < 100 && !processGone(pid); i += 1) await new Promise((r) => setTimeout(r, 20));
      }
      rmSync(dir, { recursive: true, force: true });
    }
    scratch.cleanup();
  });

  // Three pods with the demonstration's first three roles, 10.99.71.1-3 on one bridge.
  function pods(): LabPod[] {
    const hub = scratch.netns();
    const bridge = testName();
    scratch.ip(hub, 'link', 'add', bridge, 'type', 'bridge');
    scratch.ip(hub, 'link', 'set', bridge, 'up');
    return demoLabPods(1, 3).map((spec, i) => {
      const ns = scratch.netns();
      const { a } = scratch.veth(hub, ns, { b: 'eth0' });
      scratch.ip(hub, 'link', 'set', a, 'master', bridge);
      scratch.ip(ns, 'addr', 'add', `10.99.71.${i + 1}/24`, 'dev', 'eth0');
      return { name: spec.name, namespace: spec.namespace, node: 'scratch', netns: ns.name, address: `10.99.71.${i + 1}`, labels: spec.labels, containerId: '' };
    });
  }

  it('serves each role on its port, and the matrix shows the one pair a rule drops', async () => {
    const lab = pods();
    const [frontend, , database] = lab as [LabPod, LabPod, LabPod];
    const dir = mkdtempSync(join(tmpdir(), 'twt-demo-'));
    dirs.push(dir);
    const system = nodeDemoSystem();
    const servers = await startDemoServers(lab, dir, system);
    expect(servers.map((s) => `${s.pod} ${s.role} ${s.port}`)).toEqual([
      'production/frontend frontend 80',
      'production/api-server api-server 8080',
      'production/database database 5432',
    ]);
    // What lab down reads: every server's PID, each a live process.
    const recorded = JSON.parse(readFileSync(demoFiles(dir).servers, 'utf8')) as { servers: { pid: number }[] };
    expect(recorded.servers.map((s) => s.pid)).toEqual(servers.map((s) => s.pid));
    for (const s of servers) expect(processGone(s.pid)).toBe(false);

    execFileSync('ip', ['netns', 'exec', database.netns, 'nft', '-f', '-'], {
      input: `table inet twt_demo {\n  chain input {\n    type filter hook input priority 0;\n    ip saddr ${frontend.address} tcp dport 5432 drop\n  }\n}\n`,
    });

    const observed = await probeMatrix(lab, servers, system, 800);
    expect(observed.map((o) => `${o.from} -> ${o.to}:${o.port} ${o.observed}${o.detail === undefined ? '' : ` (${o.detail})`}`)).toEqual([
      'production/frontend -> production/api-server:8080 allow',
      'production/frontend -> production/database:5432 deny (timeout)',
      'production/api-server -> production/frontend:80 allow',
      'production/api-server -> production/database:5432 allow',
      'production/database -> production/frontend:80 allow',
      'production/database -> production/api-server:8080 allow',
    ]);

    // Beside a prediction that everything is allowed, the dropped pair is flagged.
    const allAllowed = new Map(observed.map((o) => [`${o.from}>${o.to}:${o.port}`, { verdict: 'allow' as const, decidedBy: 'ingress: no policy selects it' }]));
    const text = renderMatrix(buildMatrix(lab, observed, allAllowed), styleFor({ stdout: { write: () => undefined, isTTY: false }, env: {} }));
    expect(text).toContain('production/frontend    -         allow       DENY!');
    expect(text).toContain('6 probes: 5 allowed, 1 denied; 1 DISAGREE with twill policy simulate');
    expect(text).toContain('  !! production/frontend -> production/database:5432: the probe saw deny (timeout), simulate predicts allow (ingress: no policy selects it)');

    // What lab down calls: the servers stop, the demonstration's folder goes; twice is fine.
    const removed = await demoDown(demoFiles(dir).dir);
    expect(removed).toEqual([...servers.map((s) => `process ${s.pid} (${s.role} ${s.pod})`), `folder ${demoFiles(dir).dir}`]);
    for (const s of servers) {
      for (let i = 0; i < 100 && !processGone(s.pid); i += 1) await new Promise((r) => setTimeout(r, 20));
      expect(processGone(s.pid)).toBe(true);
    }
    expect(existsSync(demoFiles(dir).dir)).toBe(false);
    expect(await demoDown(demoFiles(dir).dir)).toEqual([]);
  });

  it('counts a connection reset right after its handshake as not connected (an L7 proxy refusing it), one that stays up as connected', async () => {
    const lab = pods();
    const [, apiServer] = lab as [LabPod, LabPod, LabPod];
    const dir = mkdtempSync(join(tmpdir(), 'twt-demo-'));
    dirs.push(dir);
    const system = nodeDemoSystem();
    const [fromFrontend] = await startDemoServers(lab, dir, system);
    // In the api-server's namespace: one server that resets every connection it accepts, one that keeps them.
    const child = spawn('ip', ['netns', 'exec', apiServer.netns, process.execPath, '-e',
      "const net = require('node:net'); net.createServer((s) => s.resetAndDestroy()).listen(9001); net.createServer(() => undefined).listen(9002, () => console.log('up'));"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const [reset, kept] = await system.probe(fromFrontend as ServerRecord, [{ address: apiServer.address, port: 9001 }, { address: apiServer.address, port: 9002 }], 2000);
      expect(reset).toEqual({ connected: false, error: 'ECONNRESET' });
      expect(kept).toEqual({ connected: true });
    } finally {
      child.kill();
    }
  });

  it('answers the API over HTTP and the database with its greeting', async () => {
    const lab = pods();
    const [frontend, apiServer, database] = lab as [LabPod, LabPod, LabPod];
    const dir = mkdtempSync(join(tmpdir(), 'twt-demo-'));
    dirs.push(dir);
    const system = nodeDemoSystem();
    const [fromFrontend] = await startDemoServers(lab, dir, system);
    const [products, admin, missing, page] = await system.probe(fromFrontend as ServerRecord, [
      { address: apiServer.address, port: 8080, http: { path: '/api/v1/products' } },
      { address: apiServer.address, port: 8080, http: { path: '/admin/users' } },
      { address: apiServer.address, port: 8080, http: { path: '/nothing' } },
      { address: frontend.address, port: 80, http: { path: '/' } },
    ], 2000);
    expect(products?.status).toBe(200);
    expect(JSON.parse(products?.body ?? '{}')).toMatchObject({ pod: 'production/api-server', products: [{ id: 1, name: 'veth pair', price: 3 }, { id: 2 }, { id: 3 }] });
    expect(admin?.status).toBe(200);
    expect(missing?.status).toBe(404);
    expect(page?.body).toContain('frontend production/frontend');
    const greeting = execFileSync('ip', ['netns', 'exec', apiServer.netns, process.execPath, '-e',
      `require('node:net').connect(5432, '${database.address}').on('data', (d) => process.stdout.write(d))`], { encoding: 'utf8' });
    expect(greeting).toBe('twill-lab database production/database: ready for queries\n');
  });
});
