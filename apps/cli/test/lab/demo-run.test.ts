// runDemonstration from start to end on a stand-in machine: the "dataplane" of this
// test enforces, one probe round after each apply, exactly the documents the
// demonstration applied (evaluated by the policy engine), its "L7 proxy" answering 403 to
// an HTTP request no HTTP rule admits, so the output is what a lab whose agents enforce
// the policies shows; one variant drops a pair the policies allow, another lets every
// HTTP request through to the server, and the demonstration must say so loudly instead
// of settling. The clock is fake.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { nodeIo, type CliIo } from '@twill/cli';

import { type Lab, type LabPod } from '../../src/lab/ports.js';
import { runDemonstration } from '../../src/lab/demo/demo.js';
import { engineSnapshot, httpRequestAllowed, httpRulesOf } from '../../src/lab/demo/l7.js';
import { DEMO_NAMESPACES } from '../../src/lab/demo/roles.js';
import { labSnapshotYaml } from '../../src/lab/demo/snapshot.js';
import { DEMO_POLICIES_DIR } from '../../src/lab/demo/sys/system.js';
import { type DemoSystem, type PodProbeResult } from '../../src/lab/demo/system-port.js';
import { FlowRing, serveObserver, type FlowPolicy, type ObserverServer } from '@twill/flows';
import { evaluate, type PolicyRef } from '@twill/policy-engine';
import { demoLabModel } from './demo-lab-model.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function labOf(pods: LabPod[]): Lab {
  const dir = mkdtempSync(join(tmpdir(), 'twt-demo-run-'));
  dirs.push(dir);
  return {
    id: 'test', dir, spec: { nodes: 1, podsPerNode: pods.length, dataplane: 'nftables', tor: 'none', dir },
    fabric: { netns: 'twl-test-fabric', bridge: 'br', cidr: '172.31.250.0/24' },
    nodes: [], pods, tor: undefined, pool: { cidr: '10.244.0.0/16', blockSize: 26 }, asNumber: 64512,
    datastore: join(dir, 'data/twill.db'), cniBinDir: join(dir, 'bin'), upAt: '2026-01-01T00:00:00Z',
  };
}

/** What the stand-in's dataplane decided for one probe (the agents' flows are made of these). */
type ProbeVerdict = (from: LabPod, to: LabPod, port: number, verdict: ReturnType<typeof evaluate>) => void;

/**
 * A machine whose dataplane enforces what was applied one probe round late, and drops
 * `broken` always; its L7 proxy answers 403 to a request the HTTP rules refuse, unless
 * `l7` is false (every request reaches the server: a dataplane without L7 enforcement).
 */
function standIn(pods: LabPod[], broken?: { from: string; to: string }, onVerdict?: ProbeVerdict, { l7 = true }: { l7?: boolean } = {}) {
  let clock = 0;
  let enforced: unknown[] = [];
  let pending: unknown[] | undefined;
  const applied: string[][] = [];
  const clusterYaml = labSnapshotYaml(pods, DEMO_NAMESPACES);
  const byNetns = new Map(pods.map((p) => [p.netns, p]));
  const byAddress = new Map(pods.map((p) => [p.address, p]));
  let probeCalls = 0;
  const system: DemoSystem = {
    policiesDir: DEMO_POLICIES_DIR,
    startServer: async ({ netns, pod, role, port, controlSocket }) => ({ netns, pod, role, port, controlSocket, pid: 1000 + pods.findIndex((p) => p.netns === netns) }),
    async probe(server, probes) {
      probeCalls += 1;
      const from = byNetns.get(server.netns) as LabPod;
      const snapshot = engineSnapshot(clusterYaml, enforced);
      return probes.map((p): PodProbeResult => {
        const to = byAddress.get(p.address) as LabPod;
        const dropped = broken !== undefined && broken.from === `${from.namespace}/${from.name}` && broken.to === `${to.namespace}/${to.name}`;
        const verdict = evaluate({ source: { endpoint: from }, destination: { endpoint: to }, protocol: 'TCP', destinationPort: p.port }, snapshot);
        if (p.http === undefined) onVerdict?.(from, to, p.port, verdict);
        if (dropped || !verdict.allowed) return { connected: false, error: 'timeout' };
        if (p.http === undefined) return { connected: true };
        const rules = httpRulesOf(snapshot, from, to, p.port);
        if (l7 && rules !== undefined && !httpRequestAllowed(rules.rules, { method: 'GET', path: p.http.path })) {
          return { connected: true, status: 403, body: `denied by policy: no HTTP rule of ${rules.policies.join(', ')} (ingress) allows GET ${p.http.path}\n` };
        }
        return { connected: true, status: 200, body: '{}' };
      });
    },
    async writeText(path, text) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
    },
    readText: (path) => readFile(path, 'utf8'),
    async sleep(ms) {
      clock += ms;
      // The agents catch up while the demonstration waits.
      if (pending !== undefined) [enforced, pending] = [pending, undefined];
    },
    now: () => clock,
  };
  const apply = async (documents: readonly { kind: string; metadata: { name?: string } }[]): Promise<void> => {
    applied.push(documents.map((d) => `${d.kind} ${d.metadata.name ?? ''}`));
    pending = [...(pending ?? enforced), ...documents];
  };
  return { system, apply, applied, probeCalls: () => probeCalls };
}

function captureIo(): { io: CliIo; out: () => string } {
  let out = '';
  const real = nodeIo();
  return { io: { ...real, stdout: { write: (t) => void (out += t), isTTY: false }, env: {} }, out: () => out };
}

describe('runDemonstration', () => {
  it('applies the steps one at a time and prints each matrix, agreeing with simulate, with the HTTP probes an L7 rule concerns', async () => {
    const pods = demoLabModel(1, 5);
    const lab = labOf(pods);
    const { system, apply, applied } = standIn(pods);
    const { io, out } = captureIo();
    const report = await runDemonstration(lab, io, { system, apply, settleTimeoutMs: 5000 });

    expect(applied).toEqual([
      ['NetworkPolicy allow-api-access'],
      ['GlobalNetworkPolicy default-deny'],
      ['CiliumNetworkPolicy l7-api-policy'],
      ['GlobalNetworkPolicy allow-frontend-egress', 'NetworkPolicy allow-database-ingress'],
    ]);
    expect(report.steps.map((s) => s.matrix.cells.filter((c) => c.observed === 'allow').length)).toEqual([20, 14, 0, 0, 3]);
    // Step 0 agrees at once, and so does step 3 (all denied before and after it); the
    // other applies are enforced after one 250 ms wait.
    expect(report.steps.map((s) => s.agreedAfterMs)).toEqual([0, 250, 250, 0, 250]);
    expect(JSON.parse(readFileSync(join(lab.dir, 'demo/servers.json'), 'utf8')).servers).toHaveLength(5);

    const text = out();
    expect(text.split('\n').slice(0, 4)).toEqual([
      'Servers in the pods, playing the seed tutorial\'s roles',
      'POD                    ROLE        SERVES      ADDRESS      NODE',
      'production/frontend    frontend    HTTP :80    10.244.0.10  node-1',
      'production/api-server  api-server  HTTP :8080  10.244.0.11  node-1',
    ]);
    expect(text).toContain('Step 0 of 4: no policy\n');
    expect(text).toContain('Step 1 of 4: Calico NetworkPolicy production/allow-api-access (the seed tutorial)\n');
    expect(text).toContain('Step 4 of 4: Calico GlobalNetworkPolicy allow-frontend-egress, NetworkPolicy production/allow-database-ingress (Twill\'s, not in the tutorial)\n');
    expect(text).toContain('Step 0 of 4: no policy\n  Every pod reaches every other pod\'s server.\n  the probes agree with simulate\n');
    expect(text).toContain('  the probes agree with simulate (0.3 s after the apply)\n');
    expect(text.match(/twill policy simulate agrees on every one/g)).toHaveLength(5);
    expect(text).not.toContain('DISAGREE');
    expect(text).toContain(`simulate it: twill policy simulate --cluster ${lab.dir}/demo/cluster.yaml --policies ${DEMO_POLICIES_DIR}01-allow-api-access.yaml --matrix\n`);
    // Step 3: the L7 rule's pair is still denied at L3/L4 (web's egress): no answer is what the rules call for.
    expect(text).toContain([
      'HTTP probes where an L7 rule applies (the agents\' L7 proxies enforce it: 403 for a request no rule admits):',
      '  default/web -> default/api:8080 GET /api/v1/products: no answer (timeout); L3/L4 denies the connection first (egress: isolated by GlobalNetworkPolicy default-deny); CiliumNetworkPolicy default/l7-api-policy\'s HTTP rule would admit it',
      '  default/web -> default/api:8080 GET /admin/users: no answer (timeout); L3/L4 denies the connection first (egress: isolated by GlobalNetworkPolicy default-deny); CiliumNetworkPolicy default/l7-api-policy\'s HTTP rule would refuse it',
      '2 HTTP probes: every answer is what the rules decide',
      '',
    ].join('\n'));
    // Step 4: it connects; the path the rule admits gets the server's 200, the other the proxy's 403.
    expect(text).toContain([
      '  default/web -> default/api:8080 GET /api/v1/products: HTTP 200; CiliumNetworkPolicy default/l7-api-policy\'s HTTP rule admits it',
      '  default/web -> default/api:8080 GET /admin/users: HTTP 403 "denied by policy: no HTTP rule of CiliumNetworkPolicy default/l7-api-policy (ingress) allows GET /admin/users"; CiliumNetworkPolicy default/l7-api-policy\'s HTTP rule refuses it',
      '2 HTTP probes: every answer is what the rules decide',
      '',
    ].join('\n'));
    expect(report.steps.map((s) => s.http.map((p) => `${p.path} ${p.status ?? p.error ?? ''} ${p.expected} ${p.agrees}`))).toEqual([
      [], [], [],
      ['/api/v1/products timeout no-answer true', '/admin/users timeout no-answer true'],
      ['/api/v1/products 200 success true', '/admin/users 403 forbidden true'],
    ]);
    // Then how to go on, with the lab's own addresses.
    expect(text).toContain('Explore\n  twill lab exec production/frontend -- curl -s -m 2 http://10.244.0.11:8080/api/v1/products\n');
    expect(text).toContain('  twill lab exec default/web -- curl -s -m 2 http://10.244.0.14:8080/admin/users   # l7-api-policy\'s HTTP rule refuses it: the agent\'s L7 proxy answers 403\n');
    expect(text.endsWith('Tear down\n  twill lab down\n')).toBe(true);
  });

  it('flags each HTTP answer that differs from the rules as a DISAGREEMENT, and counts them, when the dataplane does not enforce L7', async () => {
    const pods = demoLabModel(1, 5);
    const lab = labOf(pods);
    const { system, apply } = standIn(pods, undefined, undefined, { l7: false });
    const { io, out } = captureIo();
    const report = await runDemonstration(lab, io, { system, apply, settleTimeoutMs: 1000 });
    const text = out();
    // The matrices agree (L3/L4 is enforced); only step 4's refused request disagrees, after probing again for the settle time.
    expect(text.match(/twill policy simulate agrees on every one/g)).toHaveLength(5);
    expect(text).toContain([
      '  default/web -> default/api:8080 GET /api/v1/products: HTTP 200; CiliumNetworkPolicy default/l7-api-policy\'s HTTP rule admits it',
      '  default/web -> default/api:8080 GET /admin/users: HTTP 200; CiliumNetworkPolicy default/l7-api-policy\'s HTTP rule refuses it; DISAGREEMENT: the rules call for 403 from the agent\'s L7 proxy',
      '2 HTTP probes: 1 DISAGREE with the rules',
      '',
    ].join('\n'));
    expect(text.match(/DISAGREEMENT/g)).toHaveLength(1);
    expect(report.steps[4]?.http.filter((p) => !p.agrees).map((p) => p.path)).toEqual(['/admin/users']);
  });

  it('says loudly when the dataplane never agrees with simulate, and goes on', async () => {
    const pods = demoLabModel(1, 5);
    const lab = labOf(pods);
    const { system, apply } = standIn(pods, { from: 'production/frontend', to: 'production/api-server' });
    const { io, out } = captureIo();
    const report = await runDemonstration(lab, io, { system, apply, settleTimeoutMs: 1000 });
    // Denied anyway at steps 2 and 3, so only steps 0, 1 and 4 disagree.
    expect(report.steps.map((s) => s.agreedAfterMs)).toEqual([undefined, undefined, 250, 0, undefined]);
    const text = out();
    expect(text.match(/the probes still disagree with simulate 1 s after the apply/g)).toHaveLength(2);
    expect(text).toContain('Step 0 of 4: no policy\n  Every pod reaches every other pod\'s server.\n  the probes still disagree with simulate after 1 s of probing\n');
    expect(text).toContain('  !! production/frontend -> production/api-server:8080: the probe saw deny (timeout), simulate predicts allow (ingress: NetworkPolicy production/allow-api-access spec.ingress[0])\n');
  });

  it('runs on a lab too small for every role (the steps still agree with simulate), and says so when it cannot run at all', async () => {
    const pods = demoLabModel(1, 2);
    const { system, apply } = standIn(pods);
    const { io, out } = captureIo();
    const report = await runDemonstration(labOf(pods), io, { system, apply });
    expect(report.steps.map((s) => s.matrix.cells.map((c) => `${c.from} -> ${c.to} ${c.observed}`))).toEqual([
      ['production/frontend -> production/api-server allow', 'production/api-server -> production/frontend allow'],
      ['production/frontend -> production/api-server allow', 'production/api-server -> production/frontend deny'],
      ['production/frontend -> production/api-server deny', 'production/api-server -> production/frontend deny'],
      ['production/frontend -> production/api-server deny', 'production/api-server -> production/frontend deny'],
      ['production/frontend -> production/api-server allow', 'production/api-server -> production/frontend deny'],
    ]);
    expect(out()).not.toContain('DISAGREE');

    const one = captureIo();
    const none = await runDemonstration(labOf(demoLabModel(1, 1)), one.io, { system: standIn(demoLabModel(1, 1)).system });
    expect(none).toMatchObject({ servers: [], steps: [] });
    expect(one.out()).toBe('No demonstration: it needs at least two pods of the tutorial\'s roles (this lab has 1; the five roles need five pods).\n');
  });
});

// The agents' flows of each step, from real observers: one per node (serveObserver on a
// unix socket, a FlowRing each), fed by the stand-in's dataplane with one flow per TCP
// probe it decided, at the destination's node. The wall clock is a counter: a step
// starts a second after the last, and its flows are a millisecond into it.
describe('runDemonstration: the flows of each step', () => {
  const servers: ObserverServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  const flowPolicy = (ref: PolicyRef): FlowPolicy => ({ kind: ref.kind, ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }), name: ref.name, labels: [], revision: 0 });

  it('after each step, every node\'s flows since the step began: counts per pair, and what dropped them', async () => {
    const pods = demoLabModel(1, 5);
    const lab = labOf(pods);
    const rings = ['node-1', 'node-2'].map((nodeName) => new FlowRing({ capacity: 4096, nodeName }));
    for (const [i, ring] of rings.entries()) servers.push(await serveObserver({ service: ring, socket: join(lab.dir, `observer-${i + 1}.sock`) }));
    const nodes = ['node-1', 'node-2'].map((name, i) => ({
      name, netns: `twl-test-${name}`, address: `172.31.250.${11 + i}`, block: undefined, agentPid: 1, agentSocket: '', apiSocket: '', httpListen: '', logFile: '', confDir: '',
      configFile: join(lab.dir, name, 'agent.yaml'), observerSocket: join(lab.dir, `observer-${i + 1}.sock`),
    }));
    let wall = Date.parse('2026-11-28T10:00:00Z');
    let n = 0;
    const onVerdict: ProbeVerdict = (from, to, port, verdict) => {
      n += 1;
      const denied = [verdict.egress, verdict.ingress].find((d) => d !== undefined && !d.allowed);
      const at = wall + 1;
      rings[0]?.push({
        time: { seconds: Math.floor(at / 1000), nanos: (at % 1000) * 1e6 },
        uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
        verdict: denied === undefined ? 'FORWARDED' : 'DROPPED',
        ...(denied === undefined ? {} : { dropReasonDesc: denied.reason === 'rule' ? 'POLICY_DENY' : 'POLICY_DENIED' }),
        IP: { source: from.address, destination: to.address, ipVersion: 'IPv4' },
        l4: { TCP: { sourcePort: 40000 + n, destinationPort: port, flags: { SYN: true } } },
        source: { ID: 1, identity: 1000, namespace: from.namespace, podName: from.name, labels: [] },
        destination: { ID: 2, identity: 1001, namespace: to.namespace, podName: to.name, labels: [] },
        Type: 'L3_L4', nodeName: 'node-1', isReply: false, trafficDirection: 'INGRESS',
        egressAllowedBy: [], ingressAllowedBy: [], egressDeniedBy: [], ingressDeniedBy: [], Summary: 'TCP Flags: SYN',
        ...(denied === undefined ? {} : {
          decidedBy: {
            reason: denied.reason === 'rule' ? 'rule' : 'isolated', direction: denied.direction, attribution: 'evaluated', message: denied.message,
            ...(denied.decidedBy === undefined ? {} : { policy: flowPolicy(denied.decidedBy.policy), rulePath: denied.decidedBy.origin.path, action: 'deny' }),
            ...(denied.isolatedBy === undefined ? {} : { isolatedBy: denied.isolatedBy.map(flowPolicy) }),
          },
        }),
      });
    };
    const { system, apply } = standIn(pods, undefined, onVerdict);
    const { io, out } = captureIo();
    const report = await runDemonstration({ ...lab, nodes }, { ...io, now: () => (wall += 1000) }, { system, apply, settleTimeoutMs: 5000 });

    // Step 1 probes twice (the apply is enforced one round late): 20 allowed, then 14 of 20.
    expect(report.steps.map((s) => [s.flows?.forwarded, s.flows?.dropped])).toEqual([[20, 0], [34, 6], [14, 26], [0, 20], [3, 37]]);
    expect(report.steps.map((s) => s.flows?.nodes)).toEqual([['node-1', 'node-2'], ['node-1', 'node-2'], ['node-1', 'node-2'], ['node-1', 'node-2'], ['node-1', 'node-2']]);
    const text = out();
    expect(text).toContain('\nFlows the agents recorded in this step (node-1, node-2): 20 forwarded, 0 dropped\n  20 pairs only forwarded (20 flows)\n');
    // Six pairs dropped: a row each, with what dropped them.
    expect(text).toContain([
      'Flows the agents recorded in this step (node-1, node-2): 34 forwarded, 6 dropped',
      '  14 pairs only forwarded (28 flows)',
      '  PAIR                                               FORWARDED  DROPPED  DROPPED BY',
      '  default/api -> production/api-server:8080                  1        1  ingress: isolated by NetworkPolicy production/allow-api-access',
      '  default/web -> production/api-server:8080                  1        1  ingress: isolated by NetworkPolicy production/allow-api-access',
      '  production/api-server -> default/api:8080                  1        1  egress: isolated by NetworkPolicy production/allow-api-access',
      '',
    ].join('\n'));
    // Under default-deny most pairs drop: a row per deciding policy instead.
    expect(text).toContain([
      'Flows the agents recorded in this step (node-1, node-2): 0 forwarded, 20 dropped',
      '  DROPPED BY                                                                                       PAIRS  FLOWS',
      '  egress: isolated by GlobalNetworkPolicy default-deny                                                16     16',
      '  egress: isolated by NetworkPolicy production/allow-api-access, GlobalNetworkPolicy default-deny      3      3',
      '  ingress: isolated by GlobalNetworkPolicy default-deny                                                1      1',
      '',
    ].join('\n'));
    expect(report.steps[4]?.flows?.drops.reduce((n, d) => n + d.flows, 0)).toBe(37);
    expect(text).toContain('  twill observe --lab --verdict DROPPED --last 10   # the flows the agents recorded; -f follows them\n');
  });

  it('an observer that does not answer is a line of the step, not a failure', async () => {
    const pods = demoLabModel(1, 2);
    const lab = labOf(pods);
    const missing = join(lab.dir, 'nothing.sock');
    const nodes = [{ name: 'node-1', netns: 'twl-test-node-1', address: '172.31.250.11', block: undefined, agentPid: 1, agentSocket: '', apiSocket: '', httpListen: '', logFile: '', confDir: '', configFile: join(lab.dir, 'agent.yaml'), observerSocket: missing }];
    const { system, apply } = standIn(pods);
    const { io, out } = captureIo();
    const report = await runDemonstration({ ...lab, nodes }, io, { system, apply });
    expect(report.steps.map((s) => s.flows?.problems)).toEqual(Array(5).fill([`node-1: no observer at unix://${missing} (is twill-agent running with flows enabled? --server or $TWILL_FLOWS_SERVER names another)`]));
    expect(out()).toContain(`\nFlows of node-1: no observer at unix://${missing}`);
  });
});
