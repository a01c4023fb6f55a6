// The demonstration on a real lab, as `twill lab up` runs it: real agents enforcing
// through nftables or eBPF, pods added by CNI ADD, the tutorial's policies applied
// through the agents' API. After every step every pair of the matrix must agree with
// `twill policy simulate` on the same snapshot and policies, the HTTP probes must get
// what the L7 rule decides from the agents' L7 proxies (2xx or 403), and the flows the
// agents recorded must show each pair as the probes saw it and the proxies' requests;
// then the demonstration's processes and files go with demoDown, and the lab with labDown.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { nodeIo, type CliIo } from '@twill/cli';

import { type LabDataplane } from '../../src/lab/ports.js';
import { labDown } from '../../src/lab/sys/down.js';
import { labStatus } from '../../src/lab/sys/status.js';
import { labUp } from '../../src/lab/sys/up.js';
import { DEMO_NAMESPACES, demoDown, demoFiles, demoLabPods, runDemonstration } from '../../src/lab/demo/index.js';

const reason = rootSkipReason('brings a lab up: network namespaces, agents, nftables or eBPF');

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe.skipIf(reason)(`the demonstration on a lab${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) {
      await demoDown(demoFiles(dir).dir);
      await labDown(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Two nodes of three pods: the five roles and a second frontend, the roles spread over both nodes.
  it.each(['nftables', 'ebpf'] as const)('%s: every step\'s matrix agrees with simulate, and demoDown leaves nothing of it', async (dataplane: LabDataplane) => {
    const dir = await mkdtemp(join(tmpdir(), 'twt-demo-lab-'));
    dirs.push(dir);
    const lab = await labUp({ nodes: 2, podsPerNode: 3, dataplane, tor: 'none', dir, pods: demoLabPods(2, 3), namespaces: DEMO_NAMESPACES }, { progress: () => undefined });
    let out = '';
    const io: CliIo = { ...nodeIo(), stdout: { write: (text) => void (out += text), isTTY: false }, env: {} };
    const report = await runDemonstration(lab, io, { settleTimeoutMs: 20_000 });

    expect(report.servers.map((s) => s.pod)).toEqual(['production/frontend', 'production/api-server', 'production/database', 'default/web', 'default/api', 'production/frontend-2']);
    const failed = report.steps.flatMap((s, i) => s.matrix.cells.filter((c) => c.observed !== c.predicted).map((c) => `step ${i}: ${c.from} -> ${c.to}:${c.port} saw ${c.observed} (${c.detail ?? ''}), simulate ${c.predicted}`));
    // Soft (here and for the counts and the flows): a disagreement fails the test, and the
    // L7 checks below still run and report.
    expect.soft(failed, out).toEqual([]);
    expect(report.steps.map((s) => s.matrix.cells.length)).toEqual([30, 30, 30, 30, 30]);
    // What the tutorial's story shows: open, the api-server fenced, all shut, its paths opened.
    expect.soft(report.steps.map((s) => s.matrix.cells.filter((c) => c.observed === 'allow').length)).toEqual([30, 23, 0, 0, 4]);
    // The tutorial's l7-api-policy, through the agents' L7 proxies: while default-deny keeps
    // web from connecting (step 3) no request gets an answer; once step 4 opens web's egress,
    // the path its HTTP rule admits gets the server's 2xx and the other the proxy's 403
    // (the pod's server answers /admin/users with 200: a 403 is the proxy's).
    const http = (i: number): string[] => (report.steps[i]?.http ?? []).map((p) => `${p.from} -> ${p.to}:${p.port} ${p.method} ${p.path} ${p.status ?? `no answer (${p.error ?? ''})`}`);
    expect(http(3), out).toEqual(['default/web -> default/api:8080 GET /api/v1/products no answer (timeout)', 'default/web -> default/api:8080 GET /admin/users no answer (timeout)']);
    const [products, admin] = report.steps[4]?.http ?? [];
    expect(products?.path).toBe('/api/v1/products');
    expect(products?.status, out).toBeGreaterThanOrEqual(200);
    expect(products?.status, out).toBeLessThan(300);
    expect(admin?.path).toBe('/admin/users');
    expect(admin?.status, out).toBe(403);
    expect(admin?.body, out).toMatch(/^denied by policy: /);
    expect(out).toMatch(/GET \/admin\/users: HTTP 403 "denied by policy: [^"]*"; CiliumNetworkPolicy default\/l7-api-policy's HTTP rule refuses it\n/);
    // No HTTP probe of any step got other than what the rules decide (the matrix's own
    // disagreements are `failed` above).
    expect(report.steps.flatMap((s, i) => s.http.filter((p) => !p.agrees).map((p) => `step ${i}: ${p.from} -> ${p.to} ${p.path} ${p.status ?? p.error ?? ''}, the rules call for ${p.expected}`)), out).toEqual([]);
    expect(out).not.toContain('DISAGREEMENT');
    // The proxies recorded both requests as flows of type L7: the step's flow summary shows them.
    const requests = (report.steps[4]?.flows?.requests ?? []).map((r) => `${r.from} -> ${r.to} ${r.method} ${r.path} ${r.code} ${r.verdict}`);
    expect(requests, out).toEqual(expect.arrayContaining(['default/web -> default/api:8080 GET /api/v1/products 200 forwarded', 'default/web -> default/api:8080 GET /admin/users 403 denied']));
    expect(out).toMatch(/ HTTP requests through the agents' L7 proxies, \d+ denied\n/);
    expect(out).toMatch(/default\/web -> default\/api:8080 GET \/admin\/users +403 +\d+ +DENIED +ingress: no HTTP rule of CiliumNetworkPolicy default\/l7-api-policy allows it/);
    // twill lab status: every node's L7 proxy runs.
    const status = await labStatus(dir);
    expect(status?.nodes.map((n) => `${n.node.name} ${n.l7?.enabled === true && n.l7.running ? 'running' : JSON.stringify(n.l7)}`)).toEqual(['node-1 running', 'node-2 running']);
    // Each step's flows, from both nodes' observers: every pair the step's last probes saw
    // denied has drops recorded, every pair they saw connect was recorded forwarded.
    for (const [i, step] of report.steps.entries()) {
      expect(step.flows?.problems, `step ${i}\n${out}`).toEqual([]);
      expect(step.flows?.nodes, `step ${i}`).toEqual(['node-1', 'node-2']);
      const pairs = new Map((step.flows?.pairs ?? []).map((p) => [`${p.from} -> ${p.to}`, p]));
      const unrecorded = step.matrix.cells.filter((c) => {
        const pair = pairs.get(`${c.from} -> ${c.to}:${c.port}`);
        return c.observed === 'deny' ? (pair?.dropped ?? 0) === 0 : (pair?.forwarded ?? 0) === 0;
      }).map((c) => `${c.from} -> ${c.to}:${c.port} ${c.observed}`);
      expect.soft(unrecorded, `step ${i}\n${out}`).toEqual([]);
    }
    expect(out).toContain('Flows the agents recorded in this step (node-1, node-2): ');

    const removed = await demoDown(demoFiles(dir).dir);
    expect(removed).toHaveLength(report.servers.length + 1);
    for (const server of report.servers) {
      for (let i = 0; i < 100 && !processGone(server.pid); i += 1) await new Promise((r) => setTimeout(r, 20));
      expect(processGone(server.pid), `server ${server.pod} (${server.pid})`).toBe(true);
    }
    expect(existsSync(demoFiles(dir).dir)).toBe(false);
  }, 300_000);
});
