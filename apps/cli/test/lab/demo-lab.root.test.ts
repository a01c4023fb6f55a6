// The demonstration on a real lab, as `twill lab up` runs it: real agents enforcing
// through nftables or eBPF, pods added by CNI ADD, the tutorial's policies applied
// through the agents' API. After every step every pair of the matrix must agree with
// `twill policy simulate` on the same snapshot and policies, and the flows the agents
// recorded must show each pair as the probes saw it; then the demonstration's processes
// and files go with demoDown, and the lab with labDown.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { nodeIo, type CliIo } from '@twill/cli';

import { type LabDataplane } from '../../src/lab/ports.js';
import { labDown } from '../../src/lab/sys/down.js';
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
    expect(failed, out).toEqual([]);
    expect(report.steps.map((s) => s.matrix.cells.length)).toEqual([30, 30, 30, 30, 30]);
    // What the tutorial's story shows: open, the api-server fenced, all shut, its paths opened.
    expect(report.steps.map((s) => s.matrix.cells.filter((c) => c.observed === 'allow').length)).toEqual([30, 23, 0, 0, 4]);
    expect(out).toContain('GET /admin/users: HTTP 200; CiliumNetworkPolicy default/l7-api-policy\'s HTTP rule refuses it (an L7 proxy would answer 403; Twill enforces L3/L4 only, L7 is issue 14)');
    expect(out).not.toContain('DISAGREE');
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
      expect(unrecorded, `step ${i}\n${out}`).toEqual([]);
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
