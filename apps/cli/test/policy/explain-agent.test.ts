// twill policy explain end to end against a real twill-agent: the same namespaces, pods
// and policies (all three dialects) applied to the agent and written to a snapshot and
// policy files give the same verdicts and decidedBy from explain as from simulate, the
// sources being the stored objects instead of file:line. Explain's endpoints are the
// agent's: the endpoint records the CNI plugin wrote (one per pod here), labelled by
// their Pod. One pod has no status, as pods of the embedded datastore often have none:
// its address comes from its record, and a CIDR rule shows it was used. One record has
// no Pod at all: the agent enforces it unlabelled, and explain probes it so.

import { join } from 'node:path';

import { SqliteStore } from '@twill/ipam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { startTestAgent, type TestAgent } from '../agent-harness.js';
import { twill } from '../helpers.js';

const NETWORK = 'twt-net';

const namespace = (name: string, env: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, env } } });
const pod = (ns: string, name: string, ip: string, port?: number) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: { app: name } },
  spec: { containers: [{ name: 'main', image: 'example', ...(port === undefined ? {} : { ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }] }) }] },
  status: { podIP: ip, podIPs: [{ ip }] },
});

const CLUSTER = [
  namespace('shop', 'prod'),
  namespace('dev', 'dev'),
  pod('shop', 'frontend', '10.0.0.1', 80),
  pod('shop', 'api', '10.0.0.2', 8080),
  pod('shop', 'db', '10.0.0.3', 5432),
  pod('dev', 'tool', '10.0.1.1'),
];

const POLICIES = {
  'calico.yaml': [{
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'no-dev-to-prod' },
    spec: { order: 10, namespaceSelector: "env == 'prod'", types: ['Ingress'], ingress: [{ action: 'Deny', source: { namespaceSelector: "env == 'dev'" } }] },
  }],
  'kubernetes.yaml': [
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: 'shop' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'api-from-frontend', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 'http' }] }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'db-from-api', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 5432 }] }] },
    },
  ],
  'cilium.yaml': [{
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'frontend-not-to-dev', namespace: 'shop' },
    spec: {
      endpointSelector: { matchLabels: { app: 'frontend' } },
      egress: [{ toEntities: ['all'] }],
      egressDeny: [{ toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'dev' } }] }],
    },
  }],
  // The dev pod's address matters here: without it the CIDR would match nothing and
  // the api, isolated for egress, could not reach it.
  'egress.yaml': [{
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'api-egress', namespace: 'shop' },
    spec: {
      podSelector: { matchLabels: { app: 'api' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.1.0/24' } }] }, { to: [{ podSelector: { matchLabels: { app: 'db' } } }] }],
    },
  }],
};

const KIND_IDS: Record<string, string> = {
  GlobalNetworkPolicy: 'globalnetworkpolicies.projectcalico.org',
  NetworkPolicy: 'networkpolicies.networking.k8s.io',
  CiliumNetworkPolicy: 'ciliumnetworkpolicies.cilium.io',
};

interface PolicyJson { dialect: string; kind: string; namespace?: string; name: string; source?: string }
interface ProbeJson {
  from: string;
  to: string;
  verdict: string;
  decidedBy: { policy?: PolicyJson; isolatedBy?: PolicyJson[]; ruleSource?: string; rule?: string; [field: string]: unknown };
  explanation: string;
}

// The probe without the places its policies came from (file:line, or the stored object).
function withoutSources(probe: ProbeJson): unknown {
  const strip = ({ source: _source, ...rest }: PolicyJson) => rest;
  const { ruleSource: _ruleSource, policy, isolatedBy, ...decided } = probe.decidedBy;
  return { ...probe, decidedBy: { ...decided, ...(policy === undefined ? {} : { policy: strip(policy) }), ...(isolatedBy === undefined ? {} : { isolatedBy: isolatedBy.map(strip) }) } };
}

describe('twill policy explain against a running agent', () => {
  let agent: TestAgent;
  const versions = new Map<string, string>();
  const explain = (...args: string[]) => twill(['policy', 'explain', ...args, '--agent-socket', agent.apiSocket]);
  const FILES = {
    'cluster.yaml': stringify({ apiVersion: 'v1', kind: 'List', items: CLUSTER }),
    ...Object.fromEntries(Object.entries(POLICIES).map(([file, docs]) => [`policies/${file}`, docs.map((d) => stringify(d)).join('---\n')])),
  };

  beforeAll(async () => {
    agent = await startTestAgent({ config: { network: NETWORK } });
    // dev/tool is stored without its status; the plugin's record carries its address.
    const stored = CLUSTER.map((o) => {
      if (o.kind !== 'Pod' || o.metadata.name !== 'tool') return o;
      const { status: _status, ...withoutStatus } = o as ReturnType<typeof pod>;
      return withoutStatus;
    });
    await agent.client.apply([...stored, ...Object.values(POLICIES).flat()]);
    const store = SqliteStore.open({ path: join(agent.dataDir, 'twill.db') });
    try {
      const records = CLUSTER.filter((o) => o.kind === 'Pod').map((o) => {
        const p = o as ReturnType<typeof pod>;
        return { network: NETWORK, containerId: `c-${p.metadata.name}`, ifName: 'eth0', hostInterface: `tw${p.metadata.name}`, addresses: [`${p.status.podIP}/32`], namespace: p.metadata.namespace, pod: p.metadata.name, since: Date.now(), node: 'twt-elsewhere' };
      });
      // A sandbox whose Pod object is gone (or never stored): enforced, unlabelled.
      records.push({ network: NETWORK, containerId: 'c-batch', ifName: 'eth0', hostInterface: 'twbatch', addresses: ['10.0.0.9/32'], namespace: 'shop', pod: 'batch', since: Date.now(), node: 'twt-elsewhere' });
      await store.commit(records.map((record) => ({ type: 'put' as const, key: `twill-endpoints/${NETWORK}/${record.containerId}`, value: JSON.stringify(record) })));
    } finally {
      store.close();
    }
    for (const [kind, id] of Object.entries(KIND_IDS)) {
      for (const resource of await agent.client.list(id)) {
        if (resource.kind === kind) versions.set(`${id}/${resource.metadata.namespace === undefined ? '' : `${resource.metadata.namespace}/`}${resource.metadata.name}`, resource.metadata.resourceVersion);
      }
    }
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
  });

  it('gives simulate\'s verdict and decidedBy for every pair of pods on every declared port', async () => {
    const pods = ['dev/tool', 'shop/api', 'shop/db', 'shop/frontend'];
    let denied = 0;
    for (const port of ['80', '8080', '5432']) {
      for (const from of pods) {
        for (const to of pods) {
          if (from === to) continue;
          const probe = ['--from', from, '--to', to, '--port', port, '-o', 'json'];
          const live = await explain(...probe);
          expect(live.stderr).toBe('');
          expect(live.code).toBe(0);
          const offline = await twill(['policy', 'simulate', '--cluster', 'cluster.yaml', '--policies', 'policies', ...probe], { files: FILES });
          expect(offline.code).toBe(0);
          const a = JSON.parse(live.stdout) as ProbeJson;
          const b = JSON.parse(offline.stdout) as ProbeJson;
          expect(withoutSources(a), `${from} -> ${to}:${port}`).toEqual(withoutSources(b));
          if (a.verdict === 'deny') denied += 1;
          // Every policy named is the stored object, at its resourceVersion.
          for (const policy of [a.decidedBy.policy, ...(a.decidedBy.isolatedBy ?? [])]) {
            if (policy === undefined) continue;
            const id = `${KIND_IDS[policy.kind]}/${policy.namespace === undefined ? '' : `${policy.namespace}/`}${policy.name}`;
            expect(policy.source).toBe(`${id}@${versions.get(id)}`);
          }
          if (a.decidedBy.rule !== undefined) expect(a.decidedBy.ruleSource).toBe(`${a.decidedBy.policy?.source} ${a.decidedBy.rule.replace(/ \(.*\)$/, '')}`);
        }
      }
    }
    // Not all one way: the policies allow some probes and deny others.
    expect(denied).toBeGreaterThan(0);
    expect(denied).toBeLessThan(36);
  }, 300_000);

  it('the CIDR rule matches the statusless pod by its endpoint record\'s address', async () => {
    const run = await explain('--from', 'shop/api', '--to', 'dev/tool', '--port', '80', '-o', 'json');
    const probe = JSON.parse(run.stdout) as ProbeJson;
    expect(probe.verdict).toBe('allow');
    expect(probe.decidedBy).toMatchObject({ direction: 'egress', reason: 'rule', action: 'allow', rule: 'spec.egress[0] (to[0])', policy: { dialect: 'kubernetes', kind: 'NetworkPolicy', namespace: 'shop', name: 'api-egress' } });
    // Another pod, the same isolation: denied.
    expect(JSON.parse((await explain('--from', 'shop/api', '--to', 'shop/frontend', '--port', '80', '-o', 'json')).stdout)).toMatchObject({ verdict: 'deny', decidedBy: { direction: 'egress', reason: 'isolated' } });
  });

  it('the table names the rule, the stored object and why', async () => {
    const run = await explain('--from', 'shop/frontend', '--to', 'shop/api', '--port', '8080');
    expect(run.code).toBe(0);
    const source = `networkpolicies.networking.k8s.io/shop/api-from-frontend@${versions.get('networkpolicies.networking.k8s.io/shop/api-from-frontend')}`;
    expect(run.stdout).toBe([
      'FROM           TO        PORT  PROTOCOL  VERDICT  DECIDED BY',
      'shop/frontend  shop/api  8080  TCP       allow    ingress: NetworkPolicy shop/api-from-frontend spec.ingress[0] (from[0], ports[0])',
      '',
      `source: ${source}`,
      `why: ${(JSON.parse((await explain('--from', 'shop/frontend', '--to', 'shop/api', '--port', '8080', '-o', 'json')).stdout) as ProbeJson).explanation}`,
      '',
    ].join('\n'));
  });

  it('an unknown pod is exit 2 naming it, with the near names or its namespace\'s pods', async () => {
    expect(await explain('--from', 'shop/fronted', '--to', 'shop/api', '--port', '80'))
      .toEqual({ code: 2, stdout: '', stderr: 'twill: policy explain: --from: no pod shop/fronted (did you mean shop/frontend?)\n' });
    expect(await explain('--from', 'shop/api', '--to', 'dev/database', '--port', '80'))
      .toEqual({ code: 2, stdout: '', stderr: 'twill: policy explain: --to: no pod dev/database (pods in dev: tool)\n' });
    expect(await explain('--from', 'prod/api', '--to', 'shop/api', '--port', '80'))
      .toEqual({ code: 2, stdout: '', stderr: 'twill: policy explain: --from: no pod prod/api (did you mean shop/api?)\n' });
    expect(await explain('--from', 'kube-system/coredns', '--to', 'shop/api', '--port', '80'))
      .toEqual({ code: 2, stdout: '', stderr: 'twill: policy explain: --from: no pod kube-system/coredns (no pods in namespace kube-system)\n' });
  });

  it('a record with no Pod is explained as the agent enforces it: unlabelled, in its namespace', async () => {
    // The agent's own view of the endpoint, once its controller has read the record.
    let view: { key: string; labels: Record<string, string>; addresses: string[] } | undefined;
    for (let attempt = 0; attempt < 600 && view === undefined; attempt += 1) {
      const endpoints = ((await agent.client.status()).controllers.policy?.endpoints ?? []) as { key: string; labels: Record<string, string>; addresses: string[] }[];
      view = endpoints.find((e) => e.key === 'shop/batch');
      if (view === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(view).toMatchObject({ key: 'shop/batch', labels: {}, addresses: ['10.0.0.9'] });
    // Not the frontend: api's ingress is only from app=frontend, so denied.
    expect(JSON.parse((await explain('--from', 'shop/batch', '--to', 'shop/api', '--port', '8080', '-o', 'json')).stdout))
      .toMatchObject({ from: 'shop/batch', to: 'shop/api', verdict: 'deny', decidedBy: { direction: 'ingress', reason: 'isolated' } });
    // In shop, so shop's default-deny isolates it too.
    expect(JSON.parse((await explain('--from', 'shop/frontend', '--to', 'shop/batch', '--port', '80', '-o', 'json')).stdout))
      .toMatchObject({ verdict: 'deny', decidedBy: { direction: 'ingress', reason: 'isolated' } });
    // The CIDR rule of api-egress does not cover 10.0.0.9: api cannot reach it.
    expect(JSON.parse((await explain('--from', 'shop/api', '--to', 'shop/batch', '--port', '80', '-o', 'json')).stdout))
      .toMatchObject({ verdict: 'deny', decidedBy: { direction: 'egress' } });
  });

  it('a Pod with no endpoint record is not probed: the agent enforces nothing for it', async () => {
    await agent.client.apply([pod('dev', 'pending', '10.0.1.7')]);
    expect(await explain('--from', 'dev/pending', '--to', 'shop/api', '--port', '80'))
      .toEqual({ code: 2, stdout: '', stderr: 'twill: policy explain: --from: pod dev/pending has no endpoint record: the agent enforces no policy for it (its CNI ADD has not run on any node)\n' });
  });
});
