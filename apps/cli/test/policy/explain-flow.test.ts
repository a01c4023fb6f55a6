// twill policy explain --flow against a real observer (serveObserver on a unix socket,
// fed by a FlowRing) and a real twill-agent holding the policies the flows name: the
// flow, what decided it, and the deciding rule read back from the stored object; or
// that the object changed or is gone since the flow. An ID the observer does not hold
// is one line naming it.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FlowRing, serveObserver, type Flow, type FlowPolicy, type ObserverServer } from '@twill/flows';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { candidateKinds } from '../../src/policy/explain-flow.js';
import { type KindInfo } from '../../src/client/index.js';
import { startTestAgent, type TestAgent } from '../agent-harness.js';
import { twill } from '../helpers.js';
import { FLOWS } from '../observe/fixtures.js';

const ALLOW_API = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-api', namespace: 'production' },
  spec: {
    podSelector: { matchLabels: { app: 'api-server' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 8080, protocol: 'TCP' }] }],
  },
};
const NO_DEV = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkPolicy',
  metadata: { name: 'no-dev-to-prod' },
  spec: { order: 10, namespaceSelector: "env == 'prod'", types: ['Ingress'], ingress: [{ action: 'Deny', source: { namespaceSelector: "env == 'dev'" } }] },
};

const uuid = (n: number): string => `6f1c2b1e-0a3d-4c5e-9f10-${String(n).padStart(12, '0')}`;

describe('twill policy explain --flow', () => {
  let agent: TestAgent;
  let dir: string;
  let server: ObserverServer;
  let allowApiVersion: string;
  let noDevVersion: string;

  // A fixture flow decided by `policy` at `revision`, under a new uuid.
  const decidedAt = (index: number, n: number, revision: number, policy?: Partial<FlowPolicy>): Flow => {
    const flow = FLOWS[index] as Flow;
    const decided = flow.decidedBy;
    if (decided?.policy === undefined) throw new Error('a fixture flow decided by a rule');
    return { ...flow, uuid: uuid(n), decidedBy: { ...decided, policy: { ...decided.policy, revision, ...policy } } };
  };

  beforeAll(async () => {
    agent = await startTestAgent();
    await agent.client.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'production', labels: { env: 'prod' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev', labels: { env: 'dev' } } },
      ALLOW_API,
      NO_DEV,
    ]);
    allowApiVersion = (await agent.client.get('networkpolicies.networking.k8s.io', 'allow-api', { namespace: 'production' })).metadata.resourceVersion;
    noDevVersion = (await agent.client.get('globalnetworkpolicies.projectcalico.org', 'no-dev-to-prod')).metadata.resourceVersion;
    dir = await mkdtemp(join(tmpdir(), 'twt-explain-flow-'));
    const ring = new FlowRing({ capacity: 64, nodeName: 'node-1' });
    for (const flow of FLOWS) ring.push(flow);
    ring.push(decidedAt(0, 101, Number(allowApiVersion)));
    ring.push(decidedAt(3, 102, Number(noDevVersion) - 1));
    ring.push(decidedAt(3, 103, 7, { name: 'deleted-since' }));
    server = await serveObserver({ service: ring, socket: join(dir, 'observer.sock') });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await agent?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const explain = (...args: string[]) => twill(['policy', 'explain', '--server', `unix://${join(dir, 'observer.sock')}`, '--agent-socket', agent.apiSocket, ...args]);

  it('names the flow, its endpoints and what decided, then the rule as the stored object has it', async () => {
    const run = await explain('--flow', uuid(101));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe([
      `flow:         ${uuid(101)}`,
      'verdict:      FORWARDED',
      'time:         2026-11-28T10:00:00.125Z on node-2, ingress at twapiserver',
      'from:         production/frontend:43512 (10.244.0.5, k8s:app=frontend, k8s:io.kubernetes.pod.namespace=production)',
      'to:           production/api-server:8080 (10.244.0.70, k8s:app=api-server, k8s:io.kubernetes.pod.namespace=production)',
      'protocol:     TCP SYN',
      'decided by:   ingress: NetworkPolicy production/allow-api spec.ingress[0] from[0]',
      `policy:       NetworkPolicy production/allow-api, tier default, revision ${allowApiVersion}`,
      'rule:         spec.ingress[0] from[0] (rule 0 of its ingress): allow',
      'attribution:  kernel: the dataplane reported what decided (eBPF)',
      'why:          production/api-server allows ingress from production/frontend: NetworkPolicy production/allow-api spec.ingress[0] matches.',
      '',
      `source: networkpolicies.networking.k8s.io/production/allow-api@${allowApiVersion} (NetworkPolicy production/allow-api)`,
      '  spec.ingress[0]:',
      '    from:',
      '      - podSelector:',
      '          matchLabels:',
      '            app: frontend',
      '    ports:',
      '      - port: 8080',
      '        protocol: TCP',
      '',
    ].join('\n'));
  });

  it('-o json: the flow and each source with its state', async () => {
    const run = await explain('--flow', uuid(101), '-o', 'json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      flow: decidedAt(0, 101, Number(allowApiVersion)),
      sources: [{ policy: 'NetworkPolicy production/allow-api', object: `networkpolicies.networking.k8s.io/production/allow-api@${allowApiVersion}`, state: 'same', rulePath: 'spec.ingress[0] from[0]', rule: ALLOW_API.spec.ingress[0] }],
    });
  });

  it('says when the object changed since the flow, and shows the rule as it is now', async () => {
    const run = await explain('--flow', uuid(102));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain([
      `source: globalnetworkpolicies.projectcalico.org/no-dev-to-prod@${noDevVersion} (GlobalNetworkPolicy no-dev-to-prod)`,
      `  the object changed since the flow (then revision ${Number(noDevVersion) - 1}, now ${noDevVersion}): what follows is the rule as it is now`,
      '  spec.ingress[0]:',
      '    action: Deny',
      '    source:',
      '      namespaceSelector: env == \'dev\'',
      '',
    ].join('\n'));
  });

  it('says when the object is gone', async () => {
    const run = await explain('--flow', uuid(103), '-o', 'json');
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { sources: unknown[] }).sources).toEqual([{ policy: 'GlobalNetworkPolicy deleted-since', state: 'gone', rulePath: 'spec.ingress[0]', note: 'the object is gone since the flow: deleted, or renamed' }]);
  });

  it('a flow no rule decided names what did, and reads no object', async () => {
    const run = await explain('--flow', uuid(5));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('decided by:   egress: no policy selects it\n');
    expect(run.stdout).not.toContain('source:');
    const isolated = await explain('--flow', uuid(3));
    expect(isolated.stdout).toContain('decided by:   ingress: isolated by NetworkPolicy production/allow-api\n');
    expect(isolated.stdout).toContain(`\nsource: networkpolicies.networking.k8s.io/production/allow-api@${allowApiVersion} (NetworkPolicy production/allow-api)\n`);
  });

  it('an ID the observer does not hold: exit 1 naming it', async () => {
    const run = await explain('--flow', uuid(999));
    expect(run).toEqual({ code: 1, stdout: '', stderr: `twill: policy explain: --flow: no flow ${uuid(999)} at unix://${join(dir, 'observer.sock')} (the observer keeps the newest flows only; it may be gone from its ring)\n` });
  });

  it('--lab: finds the flow on the node that holds it and reads the rule from that node\'s agent', async () => {
    const empty = await serveObserver({ service: new FlowRing({ capacity: 4, nodeName: 'node-1' }), socket: join(dir, 'n1.sock') });
    try {
      const node = (name: string, observerSocket: string, apiSocket: string) => ({ name, configFile: join(dir, name, 'agent.yaml'), observerSocket, apiSocket });
      const state = {
        version: 1, id: 'abc123', phase: 'up', spec: {}, createdDir: false, entries: [], netns: [], processes: [],
        // node-1's agent is not there: reading from it would fail the command.
        lab: { nodes: [node('node-1', join(dir, 'n1.sock'), join(dir, 'node-1-api.sock')), node('node-2', join(dir, 'observer.sock'), agent.apiSocket)] },
      };
      const files = { [join(dir, 'lab.json')]: JSON.stringify(state) };
      const run = await twill(['policy', 'explain', '--lab', dir, '--flow', uuid(101), '-o', 'json'], { files });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect((JSON.parse(run.stdout) as { sources: unknown[] }).sources).toEqual([
        { policy: 'NetworkPolicy production/allow-api', object: `networkpolicies.networking.k8s.io/production/allow-api@${allowApiVersion}`, state: 'same', rulePath: 'spec.ingress[0] from[0]', rule: ALLOW_API.spec.ingress[0] },
      ]);
      const missing = await twill(['policy', 'explain', '--lab', dir, '--flow', uuid(999)], { files });
      expect(missing).toEqual({ code: 1, stdout: '', stderr: `twill: policy explain: --flow: no flow ${uuid(999)} at any of the lab's 2 nodes (node-1, node-2) (the observer keeps the newest flows only; it may be gone from its ring)\n` });
      const both = await twill(['policy', 'explain', '--lab', dir, '--agent-socket', agent.apiSocket, '--flow', uuid(101)], { files });
      expect(both).toEqual({ code: 2, stdout: '', stderr: 'twill: policy explain: --agent-socket: cannot be used with --lab (the flow\'s node names its agent)\n' });
      expect(await twill(['policy', 'explain', '--lab', '/nowhere/lab', '--flow', uuid(101)])).toEqual({ code: 1, stdout: '', stderr: 'twill: policy explain: --lab: no lab is up in /nowhere/lab (twill lab up starts one)\n' });
    } finally {
      await empty.close();
    }
  });

  it('no agent to read the source from: the flow is shown, the error said, exit 1', async () => {
    const missing = join(dir, 'no-agent.sock');
    const run = await twill(['policy', 'explain', '--server', `unix://${join(dir, 'observer.sock')}`, '--agent-socket', missing, '--flow', uuid(101)]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`flow:         ${uuid(101)}\n`);
    expect(run.stderr).toBe(`twill: policy explain: no agent at ${missing} (is twill-agent running? --agent-socket or TWILL_API_SOCKET) (the flow is shown without its source)\n`);
  });
});

describe('candidateKinds', () => {
  const kind = (id: string): KindInfo => ({ id, kind: 'NetworkPolicy', apiVersions: [], plural: 'networkpolicies', singular: 'networkpolicy', shortNames: [], namespaced: true });
  const KINDS = [kind('networkpolicies.networking.k8s.io'), kind('networkpolicies.projectcalico.org')];
  // The labels twill-agent gives a policy (apps/agent/src/agent/flows/attribution.ts policyLabels).
  const labels = (dialect: string): string[] => [
    'k8s:io.cilium.k8s.policy.derived-from=NetworkPolicy',
    'k8s:io.cilium.k8s.policy.name=p',
    'k8s:io.cilium.k8s.policy.namespace=x',
    `k8s:io.twill.policy.dialect=${dialect}`,
    'k8s:io.twill.policy.kind=NetworkPolicy',
    'k8s:io.twill.policy.name=p',
    'k8s:io.twill.policy.namespace=x',
  ];
  const ids = (policyLabels: string[]): string[] => candidateKinds({ kind: 'NetworkPolicy', namespace: 'x', name: 'p', labels: policyLabels, revision: 3 }, KINDS).map((k) => k.id);

  it('tries the kind of the dialect the agent\'s labels name first', () => {
    expect(ids(labels('calico'))).toEqual(['networkpolicies.projectcalico.org', 'networkpolicies.networking.k8s.io']);
    expect(ids(labels('kubernetes'))).toEqual(['networkpolicies.networking.k8s.io', 'networkpolicies.projectcalico.org']);
  });

  it('takes no other label for the dialect', () => {
    expect(ids(['k8s:app.example.dialect=calico'])).toEqual(['networkpolicies.networking.k8s.io', 'networkpolicies.projectcalico.org']);
  });
});
