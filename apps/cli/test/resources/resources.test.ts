// twill status, get, describe, apply and delete end to end: the commands run in-process
// on their real transport against a real twill-agent (test/agent-harness.ts) on a
// temporary datastore. Tables are golden files (ages, times and versions normalised).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestAgent, type TestAgent } from '../agent-harness.js';
import { twill, type Run } from '../helpers.js';
import { CLI_KINDS } from '../../src/resources/kinds.js';
import { K8S_POLICIES, MANIFESTS, NETWORK } from './manifests.js';
import { normalise } from './normalise.js';

let agent: TestAgent;

beforeAll(async () => {
  agent = await startTestAgent();
}, 120_000);

afterAll(async () => {
  await agent?.stop();
}, 60_000);

const run = (args: readonly string[], options: { files?: Readonly<Record<string, string>>; stdin?: string } = {}): Promise<Run> =>
  twill(args, { ...options, files: { ...MANIFESTS, ...options.files }, env: { TWILL_API_SOCKET: agent.apiSocket } });

const golden = (name: string): string => `../golden/resources/${name}`;

describe('apply', () => {
  it('applies a folder of the three dialects and the network kinds; again, everything is unchanged', async () => {
    const first = await run(['apply', '-f', 'manifests']);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe([
      'globalnetworkpolicy.projectcalico.org/no-dev-to-prod created',
      'networkpolicy.projectcalico.org/db-from-api created',
      'ciliumnetworkpolicy.cilium.io/cache-from-api created',
      'networkpolicy.networking.k8s.io/default-deny created',
      'networkpolicy.networking.k8s.io/api-from-frontend created',
      'ippool.projectcalico.org/pool-a created',
      'bgppeer.projectcalico.org/rack-tor created',
      'bgpconfiguration.projectcalico.org/default created',
      '',
    ].join('\n'));
    expect(first.code).toBe(0);
    const second = await run(['apply', '-f', 'manifests']);
    expect(second.code).toBe(0);
    expect(second.stdout.trim().split('\n').map((line) => line.replace(/^\S+ /, ''))).toEqual(Array(8).fill('unchanged'));
  });

  it('a changed document is configured; --dry-run writes nothing', async () => {
    const changed = K8S_POLICIES.replace('port: 8080', 'port: 8443');
    const dry = await run(['apply', '-f', 'k8s.yaml', '--dry-run'], { files: { 'k8s.yaml': changed } });
    expect(dry.stdout).toBe('networkpolicy.networking.k8s.io/default-deny unchanged (dry run)\nnetworkpolicy.networking.k8s.io/api-from-frontend configured (dry run)\n');
    const still = await run(['get', 'netpol', 'api-from-frontend', '-n', 'shop', '-o', 'json']);
    expect(JSON.parse(still.stdout).spec.ingress[0].ports[0].port).toBe(8080);
    const real = await run(['apply', '-f', 'k8s.yaml'], { files: { 'k8s.yaml': changed } });
    expect(real.stdout).toBe('networkpolicy.networking.k8s.io/default-deny unchanged\nnetworkpolicy.networking.k8s.io/api-from-frontend configured\n');
    const back = await run(['apply', '-f', 'manifests/k8s.yaml']);
    expect(back.stdout).toContain('api-from-frontend configured');
  });

  it('one bad policy document: nothing is written, exit 2 with its file:line and field', async () => {
    const bad = {
      'batch/a-good.yaml': NETWORK.replaceAll('pool-a', 'pool-new').replace('10.244.0.0/16', '10.250.0.0/16').replaceAll('rack-tor', 'rack-new').replace('name: default', 'name: other'),
      'batch/b-bad.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: broken, namespace: shop}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: 80
      protocol: TCPX
`,
    };
    const result = await run(['apply', '-f', 'batch'], { files: bad });
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'twill: apply: batch/b-bad.yaml:9: NetworkPolicy shop/broken: spec.ingress[0].ports[0].protocol: unsupported protocol "TCPX": must be TCP, UDP or SCTP\n' });
    const pools = await run(['get', 'ippools', '-o', 'json']);
    expect(JSON.parse(pools.stdout).items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['pool-a']);
  });

  it('a document the agent refuses (not a policy kind): exit 2 at its field, nothing written', async () => {
    const files = {
      'refused.yaml': `apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: fine-peer}
spec: {peerIP: 192.0.2.7, asNumber: 64520}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: bad-pool}
spec:
  cidr: 10.300.0.0/16
`,
    };
    const result = await run(['apply', '-f', 'refused.yaml'], { files });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('twill: apply: refused.yaml:10: IPPool bad-pool: spec.cidr: invalid CIDR "10.300.0.0/16" (the agent refused it; nothing was written)\n');
    const peer = await run(['get', 'bgppeer', 'fine-peer']);
    expect(peer.code).toBe(1);
  });

  it('reads stdin with -f -, and fills in -n for documents without a namespace', async () => {
    const doc = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-stdin}\nspec: {podSelector: {}}\n';
    const applied = await run(['apply', '-f', '-', '-n', 'scratch'], { stdin: doc });
    expect(applied).toEqual({ code: 0, stdout: 'networkpolicy.networking.k8s.io/from-stdin created\n', stderr: '' });
    const got = await run(['get', 'netpol', '-n', 'scratch']);
    expect(got.stdout.split('\n')[1]).toMatch(/^from-stdin\s+<none>\s+\d+s$/);
    const deleted = await run(['delete', '-f', '-', '-n', 'scratch'], { stdin: doc });
    expect(deleted).toEqual({ code: 0, stdout: 'networkpolicy.networking.k8s.io/from-stdin deleted\n', stderr: '' });
  });
});

describe('get', () => {
  it('tables per kind (golden)', async () => {
    const cases: [readonly string[], string][] = [
      [['get', 'ippools'], 'get-ippools.txt'],
      [['get', 'ippools', '-o', 'wide'], 'get-ippools-wide.txt'],
      [['get', 'bgppeers'], 'get-bgppeers.txt'],
      [['get', 'bgpconfigurations', '-o', 'wide'], 'get-bgpconfigurations-wide.txt'],
      [['get', 'nodes'], 'get-nodes.txt'],
      [['get', 'networkpolicies', '-n', 'shop'], 'get-netpol.txt'],
      [['get', 'netpol', '-A', '-o', 'wide'], 'get-netpol-all-wide.txt'],
      [['get', 'networkpolicies.projectcalico.org', '-A'], 'get-calico-netpol-all.txt'],
      [['get', 'gnp', '-o', 'wide'], 'get-gnp-wide.txt'],
      [['get', 'cnp', '-n', 'shop'], 'get-cnp.txt'],
    ];
    for (const [args, file] of cases) {
      const result = await run(args);
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.code).toBe(0);
      await expect(normalise(result.stdout, agent)).toMatchFileSnapshot(golden(file));
    }
  });

  it('json and yaml: a List of objects, or the named object (golden)', async () => {
    const list = await run(['get', 'ippools', '-o', 'json']);
    expect(list.code).toBe(0);
    await expect(normalise(list.stdout, agent)).toMatchFileSnapshot(golden('get-ippools.json'));
    const one = await run(['get', 'gnp', 'no-dev-to-prod', '-o', 'yaml']);
    await expect(normalise(one.stdout, agent)).toMatchFileSnapshot(golden('get-gnp-one.yaml'));
    const parsed = JSON.parse((await run(['get', 'cnp', 'cache-from-api', '-n', 'shop', '-o', 'json'])).stdout);
    expect(parsed).toMatchObject({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'cache-from-api', namespace: 'shop' } });
  });

  it('what get -o yaml prints, apply takes back unchanged', async () => {
    const yaml = await run(['get', 'netpol', '-A', '-o', 'yaml']);
    const again = await run(['apply', '-f', 'got.yaml'], { files: { 'got.yaml': yaml.stdout } });
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe('networkpolicy.networking.k8s.io/api-from-frontend unchanged\nnetworkpolicy.networking.k8s.io/default-deny unchanged\n');
  });

  it('kubectl get -o yaml output applies: another server\'s uid, resourceVersion and managedFields are dropped', async () => {
    // As `kubectl get netpol -A -o yaml` prints it (a List; metadata its API server set).
    const kubectl = [
      'apiVersion: v1',
      'items:',
      '- apiVersion: networking.k8s.io/v1',
      '  kind: NetworkPolicy',
      '  metadata:',
      '    annotations:',
      '      kubectl.kubernetes.io/last-applied-configuration: |',
      '        {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"annotations":{},"name":"from-kubectl","namespace":"shop"},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}',
      '    creationTimestamp: "2026-11-01T09:12:44Z"',
      '    generation: 1',
      '    managedFields:',
      '    - apiVersion: networking.k8s.io/v1',
      '      fieldsType: FieldsV1',
      '      fieldsV1:',
      '        f:spec:',
      '          f:policyTypes: {}',
      '      manager: kubectl-client-side-apply',
      '      operation: Update',
      '      time: "2026-11-01T09:12:44Z"',
      '    name: from-kubectl',
      '    namespace: shop',
      '    resourceVersion: "918273"',
      '    uid: 5f0c6a2e-8d55-4f8e-9a7b-3c1d2e4f5a6b',
      '  spec:',
      '    podSelector: {}',
      '    policyTypes:',
      '    - Ingress',
      'kind: List',
      'metadata:',
      '  resourceVersion: ""',
      '',
    ].join('\n');
    expect(await run(['apply', '-f', '-'], { stdin: kubectl })).toEqual({ code: 0, stdout: 'networkpolicy.networking.k8s.io/from-kubectl created\n', stderr: '' });
    // Again: the object now exists in twill with its own uid, so the export is still foreign.
    expect(await run(['apply', '-f', '-'], { stdin: kubectl })).toEqual({ code: 0, stdout: 'networkpolicy.networking.k8s.io/from-kubectl unchanged\n', stderr: '' });
    const stored = JSON.parse((await run(['get', 'netpol', 'from-kubectl', '-n', 'shop', '-o', 'json'])).stdout) as { metadata: Record<string, unknown> };
    expect(stored.metadata['uid']).not.toBe('5f0c6a2e-8d55-4f8e-9a7b-3c1d2e4f5a6b');
    expect(stored.metadata['managedFields']).toBeUndefined();
    expect(stored.metadata['generation']).toBeUndefined();
    expect(await run(['delete', 'netpol', 'from-kubectl', '-n', 'shop'])).toMatchObject({ code: 0 });
  });

  it('an object changed since it was read: apply of the old copy is a conflict, exit 1 at its document', async () => {
    const saved = (await run(['get', 'bgppeer', 'rack-tor', '-o', 'yaml'])).stdout;
    const changed = await run(['apply', '-f', 'peer.yaml'], { files: { 'peer.yaml': saved.replace('asNumber: 64513', 'asNumber: 64514') } });
    expect(changed).toEqual({ code: 0, stdout: 'bgppeer.projectcalico.org/rack-tor configured\n', stderr: '' });
    const stale = await run(['apply', '-f', 'peer.yaml'], { files: { 'peer.yaml': saved.replace('asNumber: 64513', 'asNumber: 64515') } });
    expect(stale.code).toBe(1);
    expect(stale.stdout).toBe('');
    expect(stale.stderr).toMatch(/^twill: apply: peer\.yaml:\d+: BGPPeer rack-tor \(bgppeers\.projectcalico\.org\): the object has been modified \(resourceVersion \d+, not \d+\): read it again and reapply \(agent: 409 Conflict; nothing was written\)\n$/);
    expect(stale.stderr.split(':')[3]).toBe(String(saved.split('\n').findIndex((line) => line.includes('resourceVersion:')) + 1));
    expect(JSON.parse((await run(['get', 'bgppeer', 'rack-tor', '-o', 'json'])).stdout).spec.asNumber).toBe(64514);
    expect((await run(['apply', '-f', 'manifests/network.yaml'])).stdout).toBe('ippool.projectcalico.org/pool-a unchanged\nbgppeer.projectcalico.org/rack-tor configured\nbgpconfiguration.projectcalico.org/default unchanged\n');
  });

  it('ipamblocks and endpoints come from the API\'s views (none on a fresh agent)', async () => {
    expect(await run(['get', 'ipamblocks'])).toEqual({ code: 0, stdout: '', stderr: 'No ipamblocks found.\n' });
    expect(await run(['get', 'endpoints', '-A'])).toEqual({ code: 0, stdout: '', stderr: 'No endpoints found.\n' });
    expect(JSON.parse((await run(['get', 'ep', '-A', '-o', 'json'])).stdout)).toEqual({ items: [] });
  });

  it('an object that is not there: one line, exit 1', async () => {
    expect(await run(['get', 'ippool', 'nope'])).toEqual({ code: 1, stdout: '', stderr: 'twill: get: ippool.projectcalico.org "nope" not found\n' });
    expect(await run(['get', 'netpol', 'nope', '-n', 'shop'])).toEqual({ code: 1, stdout: '', stderr: 'twill: get: networkpolicy.networking.k8s.io "nope" not found in namespace shop\n' });
  });

  it('the CLI\'s kinds are the agent\'s (GET /v1/kinds)', async () => {
    const served = (await agent.client.kinds()).map((k) => ({ id: k.id, kind: k.kind, plural: k.plural, singular: k.singular, shortNames: k.shortNames, namespaced: k.namespaced }));
    const ours = CLI_KINDS.filter((k) => k.source === 'resource').map((k) => ({ id: k.id, kind: k.kind, plural: k.plural, singular: k.singular, shortNames: k.shortNames, namespaced: k.namespaced }));
    expect(ours).toEqual(served);
  });
});

describe('describe', () => {
  it('a policy, an IPPool with its usage, a BGPPeer with its sessions (golden)', async () => {
    for (const [args, file] of [
      [['describe', 'netpol', 'api-from-frontend', '-n', 'shop'], 'describe-netpol.txt'],
      [['describe', 'ippool', 'pool-a'], 'describe-ippool.txt'],
      [['describe', 'bgppeer', 'rack-tor'], 'describe-bgppeer.txt'],
    ] as const) {
      const result = await run(args);
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.code).toBe(0);
      await expect(normalise(result.stdout, agent)).toMatchFileSnapshot(golden(file));
    }
  });
});

describe('status', () => {
  it('one screen; -o json is the status document; exit 0 when ready', async () => {
    const screen = await run(['status']);
    expect(screen.stderr).toBe('');
    expect(screen.code).toBe(0);
    await expect(normalise(screen.stdout, agent)).toMatchFileSnapshot(golden('status.txt'));
    const json = await run(['status', '-o', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ node: agent.nodeName, ready: true, dataplane: { driver: 'none' } });
  });
});

describe('delete', () => {
  it('by kind and name; a second time is exit 1, or 0 with --ignore-not-found', async () => {
    expect(await run(['delete', 'cnp', 'cache-from-api', '-n', 'shop'])).toEqual({ code: 0, stdout: 'ciliumnetworkpolicy.cilium.io/cache-from-api deleted\n', stderr: '' });
    expect(await run(['delete', 'cnp', 'cache-from-api', '-n', 'shop'])).toEqual({ code: 1, stdout: '', stderr: 'twill: delete: ciliumnetworkpolicy.cilium.io "cache-from-api" not found in namespace shop\n' });
    expect(await run(['delete', 'cnp', 'cache-from-api', '-n', 'shop', '--ignore-not-found'])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('-f: every object of the files; the missing one named at its file:line, exit 1', async () => {
    const result = await run(['delete', '-f', 'manifests']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('twill: delete: manifests/cilium.json:1: ciliumnetworkpolicy.cilium.io "cache-from-api" not found in namespace shop\n');
    expect(result.stdout.trim().split('\n')).toHaveLength(7);
    for (const kind of ['ippools', 'bgppeers', 'gnp']) expect((await run(['get', kind])).stderr).toBe(`No ${kind === 'gnp' ? 'globalnetworkpolicies' : kind} found.\n`);
  });
});
