// The API's router, pure: every endpoint over a memory store (the datastore, the pool
// allocator and the endpoint records share it, as they share the agent's SQLite file),
// and every error code with the message a client shows.
import { MemoryStore, parsePoolIpamConfig, PoolAllocator } from '@twill/ipam';
import { beforeEach, describe, expect, it } from 'vitest';

import { answerApiRequest } from '../../../src/agent/api/router.js';
import { type ApiBgpSource, type ApiSource } from '../../../src/agent/api/source.js';
import { type BgpRouteFilter, type BgpRouteView } from '../../../src/agent/controllers/bgp.js';
import { RESOURCE_ERROR_CODE, ResourceDatastoreError, resourceDatastoreOver } from '../../../src/agent/datastore/index.js';
import { type ResourceDatastore } from '../../../src/agent/ports.js';
import { StoreEndpointRegistry } from '../../../src/plugin/endpoints.js';

const NETWORK = 'pods';

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown> & { error?: { code: string; message: string; field?: string; index?: number } };
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
}

const namespace = (name: string): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const netpol = (name: string, ns: string, port = 80): Record<string, unknown> => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: ns },
  spec: { podSelector: { matchLabels: { app: name } }, ingress: [{ ports: [{ port }] }] },
});
const pool = (name: string, cidr: string): Record<string, unknown> => ({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr } });

// A BGP controller's face as the API reads it: a recorded filter, fixed answers.
class RecordingBgp implements ApiBgpSource {
  filters: BgpRouteFilter[] = [];
  constructor(readonly held: readonly BgpRouteView[]) {}
  status(): ReturnType<ApiBgpSource['status']> {
    return { localAs: 64512, routerId: '10.0.0.1', peers: [], problems: [{ peer: 'tor', reason: 'password is not supported' }], originated: ['10.244.0.0/26'], fibProblems: [] };
  }
  routes(filter: BgpRouteFilter): readonly BgpRouteView[] {
    this.filters.push(filter);
    return this.held;
  }
}

const ROUTE: BgpRouteView = { prefix: '10.244.1.0/26', best: true, from: '10.0.0.2', nextHop: '10.0.0.2', asPath: [], origin: 'igp', localPref: 100, communities: [], largeCommunities: [], stale: false };

describe('answerApiRequest', () => {
  let store: MemoryStore;
  let datastore: ResourceDatastore;
  let pools: PoolAllocator;
  let bgp: RecordingBgp;
  let source: ApiSource;

  const call = async (method: string, url: string, body?: unknown, over: ApiSource = source): Promise<Answer> => {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const answer = await answerApiRequest({ method, url, body: text }, over);
    expect(answer.contentType).toBe('application/json; charset=utf-8');
    expect(answer.body.endsWith('\n')).toBe(true);
    return { status: answer.status, body: JSON.parse(answer.body) as Answer['body'], headers: answer.headers ?? {}, text: answer.body };
  };

  beforeEach(() => {
    store = new MemoryStore();
    let uid = 0;
    datastore = resourceDatastoreOver(store, { now: () => new Date('2026-11-28T10:00:00.000Z'), newUid: () => `uid-${++uid}` });
    pools = new PoolAllocator({ config: parsePoolIpamConfig({ pools: [{ cidr: '10.244.0.0/24', blockSize: 26 }] }, { network: NETWORK }), store, now: () => Date.parse('2026-11-28T10:00:00.000Z') });
    bgp = new RecordingBgp([ROUTE]);
    source = {
      datastore,
      status: async () => ({ node: 'node-a', ready: true }),
      endpoints: () => new StoreEndpointRegistry(store).list(NETWORK),
      pools,
      bgp,
    };
  });

  describe('status, kinds and endpoints', () => {
    it('GET /v1/status is the agent\'s status document', async () => {
      expect(await call('GET', '/v1/status')).toMatchObject({ status: 200, body: { node: 'node-a', ready: true } });
    });

    it('GET /v1/kinds lists every kind with its names', async () => {
      const { status, body } = await call('GET', '/v1/kinds');
      expect(status).toBe(200);
      const kinds = body['kinds'] as { id: string }[];
      expect(kinds).toHaveLength(14);
      expect(kinds.find((k) => k.id === 'ippools.projectcalico.org')).toEqual({
        id: 'ippools.projectcalico.org',
        kind: 'IPPool',
        apiVersions: ['projectcalico.org/v3', 'crd.projectcalico.org/v1'],
        plural: 'ippools',
        singular: 'ippool',
        shortNames: ['ipp', 'ipps', 'pool', 'pools'],
        namespaced: false,
      });
    });

    it('GET /v1/endpoints lists the records of every node', async () => {
      const registry = new StoreEndpointRegistry(store);
      await registry.register({ network: NETWORK, containerId: 'c1', ifName: 'eth0', hostInterface: 'tw1', addresses: ['10.244.0.1/32'], since: 1, node: 'node-a' });
      await registry.register({ network: NETWORK, containerId: 'c2', ifName: 'eth0', hostInterface: 'tw2', addresses: ['10.244.0.65/32'], since: 2, node: 'node-b' });
      const { status, body } = await call('GET', '/v1/endpoints');
      expect(status).toBe(200);
      expect((body['items'] as { containerId: string; node: string }[]).map((r) => `${r.containerId}@${r.node}`)).toEqual(['c1@node-a', 'c2@node-b']);
    });
  });

  describe('resources', () => {
    it('applies a batch, says unchanged when applied again and configured when changed, and reads it back in namespace then name order', async () => {
      const batch = { items: [namespace('shop'), netpol('web', 'shop'), netpol('api', 'shop'), netpol('db', 'back'), pool('default-pool', '10.244.0.0/16')] };
      expect(await call('POST', '/v1/resources', batch)).toMatchObject({
        status: 200,
        body: {
          results: [
            { kind: 'namespaces', name: 'shop', action: 'created' },
            { kind: 'networkpolicies.networking.k8s.io', namespace: 'shop', name: 'web', action: 'created' },
            { kind: 'networkpolicies.networking.k8s.io', namespace: 'shop', name: 'api', action: 'created' },
            { kind: 'networkpolicies.networking.k8s.io', namespace: 'back', name: 'db', action: 'created' },
            { kind: 'ippools.projectcalico.org', name: 'default-pool', action: 'created' },
          ],
        },
      });
      const again = await call('POST', '/v1/resources', batch);
      expect((again.body['results'] as { action: string }[]).map((r) => r.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
      const changed = await call('POST', '/v1/resources', { items: [netpol('web', 'shop', 8080), namespace('shop')] });
      expect((changed.body['results'] as { action: string }[]).map((r) => r.action)).toEqual(['configured', 'unchanged']);

      const all = await call('GET', '/v1/resources/networkpolicies.networking.k8s.io');
      expect((all.body['items'] as { metadata: { namespace: string; name: string } }[]).map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual(['back/db', 'shop/api', 'shop/web']);
      const shop = await call('GET', '/v1/resources/netpol?namespace=shop');
      expect((shop.body['items'] as unknown[]).length).toBe(2);
      const web = await call('GET', '/v1/resources/networkpolicies.networking.k8s.io/web?namespace=shop');
      expect(web).toMatchObject({ status: 200, body: { kind: 'NetworkPolicy', metadata: { name: 'web', namespace: 'shop', uid: 'uid-2', creationTimestamp: '2026-11-28T10:00:00.000Z' }, spec: { ingress: [{ ports: [{ port: 8080 }] }] } } });
      expect(typeof (web.body['metadata'] as { resourceVersion: unknown }).resourceVersion).toBe('string');
      expect(await call('GET', '/v1/resources/ippools.projectcalico.org/default-pool')).toMatchObject({ status: 200, body: { spec: { cidr: '10.244.0.0/16' } } });
    });

    it('with dryRun says what it would do and writes nothing', async () => {
      await call('POST', '/v1/resources', { items: [namespace('shop')] });
      const dry = await call('POST', '/v1/resources?dryRun=true', { items: [namespace('shop'), netpol('web', 'shop')] });
      expect(dry).toMatchObject({ status: 200, body: { results: [{ name: 'shop', action: 'unchanged' }, { name: 'web', action: 'created' }] } });
      expect(await call('GET', '/v1/resources/netpol/web?namespace=shop')).toMatchObject({ status: 404 });
    });

    it('deletes an object, and answers 404 when there is none', async () => {
      await call('POST', '/v1/resources', { items: [netpol('web', 'shop')] });
      expect(await call('DELETE', '/v1/resources/networkpolicies.networking.k8s.io/web?namespace=shop')).toEqual(
        expect.objectContaining({ status: 200, body: { deleted: { kind: 'networkpolicies.networking.k8s.io', namespace: 'shop', name: 'web' } } }),
      );
      expect(await call('DELETE', '/v1/resources/networkpolicies.networking.k8s.io/web?namespace=shop')).toMatchObject({
        status: 404,
        body: { error: { code: 'NotFound', message: 'no NetworkPolicy shop/web (networkpolicies.networking.k8s.io)' } },
      });
    });

    it('refuses a batch with one invalid item: 422 naming the item and the field, nothing written', async () => {
      const bad = netpol('api', 'shop', 70000);
      const answer = await call('POST', '/v1/resources', { items: [namespace('shop'), netpol('web', 'shop'), bad] });
      expect(answer).toMatchObject({
        status: 422,
        body: { error: { code: 'Invalid', field: 'spec.ingress[0].ports[0].port', index: 2, message: 'NetworkPolicy shop/api: spec.ingress[0].ports[0].port: port 70000 out of range: must be 1-65535' } },
      });
      expect(await call('GET', '/v1/resources/namespaces')).toMatchObject({ status: 200, body: { items: [] } });
      expect(await call('GET', '/v1/resources/netpol')).toMatchObject({ status: 200, body: { items: [] } });
    });

    it('puts every problem of an item on one line', async () => {
      const answer = await call('POST', '/v1/resources', { items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { x: 1, y: 'b c' } } }] });
      expect(answer.body.error).toEqual({
        code: 'Invalid',
        field: 'metadata.labels.x',
        index: 0,
        message: "Namespace a: metadata.labels.x: must be a string, not the number 1; Namespace a: metadata.labels.y: invalid label value \"b c\": at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
      });
    });

    it('refuses a stale resourceVersion with 409 before writing any item', async () => {
      await call('POST', '/v1/resources', { items: [namespace('shop')] });
      const stored = await call('GET', '/v1/resources/namespaces/shop');
      const version = (stored.body['metadata'] as { resourceVersion: string }).resourceVersion;
      await call('POST', '/v1/resources', { items: [{ ...namespace('shop'), metadata: { name: 'shop', labels: { team: 'a' } } }] });
      const stale = await call('POST', '/v1/resources', { items: [namespace('other'), { ...namespace('shop'), metadata: { name: 'shop', resourceVersion: version } }] });
      expect(stale.status).toBe(409);
      expect(stale.body.error).toMatchObject({ code: 'Conflict', index: 1, applied: 0 });
      expect(stale.body.error?.message).toMatch(/^Namespace shop \(namespaces\): the object has been modified \(resourceVersion \d+, not \d+\): read it again and reapply$/u);
      expect(await call('GET', '/v1/resources/namespaces/other')).toMatchObject({ status: 404 });
    });
  });

  describe('ipam', () => {
    // Each node's first block is where the allocator's hash of the node name puts it.
    let a1: string;
    let a2: string;
    let b1: string;
    let blockA: string;
    let blockB: string;
    beforeEach(async () => {
      const first = (await pools.allocate({ containerId: 'c1', ifName: 'eth0', node: 'node-a', namespace: 'shop', pod: 'web-1' })).addresses[0]!;
      a1 = first.ip;
      blockA = first.block;
      a2 = (await pools.allocate({ containerId: 'c2', ifName: 'eth0', node: 'node-a' })).addresses[0]!.ip;
      const other = (await pools.allocate({ containerId: 'c3', ifName: 'eth0', node: 'node-b' })).addresses[0]!;
      b1 = other.ip;
      blockB = other.block;
    });

    it('GET /v1/ipam: each pool\'s usage (counts as decimal strings), its blocks, and one address', async () => {
      const { status, body } = await call('GET', `/v1/ipam?blocks=true&ip=${a1}`);
      expect(status).toBe(200);
      expect(body).toEqual({
        pools: [{ pool: '10.244.0.0-24', cidr: '10.244.0.0/24', size: '256', allocated: '3', reserved: '0', cooling: '0', free: '253', blocks: '4', claimedBlocks: '2' }],
        blocks: expect.any(Array),
        address: expect.objectContaining({ state: 'allocated', ip: a1, block: blockA, handle: 'pods.c1', node: 'node-a', namespace: 'shop', pod: 'web-1', since: '2026-11-28T10:00:00.000Z' }),
      });
      const blocks = [...(body['blocks'] as { cidr: string }[])].sort((x, y) => x.cidr.localeCompare(y.cidr));
      expect(blocks).toEqual(
        [
          { cidr: blockA, pool: '10.244.0.0-24', affinity: 'node-a', allocated: 2, free: 62, handles: 2 },
          { cidr: blockB, pool: '10.244.0.0-24', affinity: 'node-b', allocated: 1, free: 63, handles: 1 },
        ].sort((x, y) => x.cidr.localeCompare(y.cidr)),
      );
      expect((await call('GET', '/v1/ipam')).body).not.toHaveProperty('blocks');
    });

    it('GET /v1/ipam/check and /v1/ipam/why', async () => {
      expect(await call('GET', '/v1/ipam/check')).toMatchObject({ status: 200, body: { ok: true, blocks: 2, handles: 3, problems: [] } });
      expect(await call('GET', `/v1/ipam/why?ip=${b1}`)).toMatchObject({ status: 200, body: { state: 'allocated', handle: 'pods.c3', node: 'node-b', blockAffinity: 'node-b' } });
      const unused = blockA.replace(/\.(\d+)\/26$/u, (_m, last: string) => `.${Number(last) + 9}`);
      expect(await call('GET', `/v1/ipam/why?ip=${unused}`)).toMatchObject({ status: 200, body: { state: 'free', block: blockA, blockAffinity: 'node-a', claimed: true } });
      expect(await call('GET', '/v1/ipam/why?ip=10.9.0.1')).toMatchObject({ status: 200, body: { state: 'outside-pools', ip: '10.9.0.1' } });
    });

    it('an inconsistent check is still a 200, with ok false', async () => {
      expect(await store.commit([{ type: 'delete', key: 'twill-pools/handles/pods.c2' }])).toMatchObject({ ok: true });
      const { status, body } = await call('GET', '/v1/ipam/check');
      expect(status).toBe(200);
      expect(body).toMatchObject({ ok: false, problems: [{ kind: 'address-without-handle', ip: a2, handle: 'pods.c2', reason: 'handle-missing' }] });
    });

    it('POST /v1/ipam/release by address (its whole handle) and by handle; 404 for what holds nothing', async () => {
      expect(await call('POST', '/v1/ipam/release', { ip: a2 })).toMatchObject({ status: 200, body: { released: [a2] } });
      expect(await call('GET', `/v1/ipam/why?ip=${a2}`)).toMatchObject({ body: { state: 'cooling' } });
      expect(await call('POST', '/v1/ipam/release', { handle: 'pods.c3' })).toMatchObject({ status: 200, body: { released: [b1] } });
      expect(await call('POST', '/v1/ipam/release', { handle: 'pods.c3' })).toMatchObject({ status: 404, body: { error: { code: 'NotFound', message: 'handle "pods.c3" holds no address' } } });
      expect(await call('POST', '/v1/ipam/release', { ip: a2 })).toMatchObject({
        status: 404,
        body: { error: { code: 'NotFound', message: `${a2} is not allocated: released at 2026-11-28T10:00:00.000Z, reusable at 2026-11-28T10:00:30.000Z` } },
      });
      const unused = blockA.replace(/\.(\d+)\/26$/u, (_m, last: string) => `.${Number(last) + 9}`);
      expect(await call('POST', '/v1/ipam/release', { ip: unused })).toMatchObject({ status: 404, body: { error: { message: `${unused} is not allocated (free in pool 10.244.0.0-24)` } } });
      expect(await call('POST', '/v1/ipam/release', { ip: '172.16.0.1' })).toMatchObject({ status: 404, body: { error: { message: '172.16.0.1 is in none of the pools' } } });
      expect((await call('GET', '/v1/ipam')).body['pools']).toMatchObject([{ allocated: '1', cooling: '2' }]);
    });

    it('frees a leaked address alone (its handle does not hold it), only while it is still leaked', async () => {
      expect(await store.commit([{ type: 'delete', key: 'twill-pools/handles/pods.c2' }])).toMatchObject({ ok: true });
      expect(await call('POST', '/v1/ipam/release', { ip: a2 })).toMatchObject({ status: 200, body: { released: [a2] } });
      expect(await call('GET', `/v1/ipam/why?ip=${a2}`)).toMatchObject({ status: 200, body: { state: 'cooling' } });
      expect(await call('POST', '/v1/ipam/release', { ip: a2 })).toMatchObject({ status: 404, body: { error: { code: 'NotFound' } } });
    });
  });

  describe('bgp', () => {
    it('GET /v1/bgp/peers is the controller\'s status', async () => {
      expect(await call('GET', '/v1/bgp/peers')).toMatchObject({ status: 200, body: { localAs: 64512, routerId: '10.0.0.1', problems: [{ peer: 'tor' }], originated: ['10.244.0.0/26'] } });
    });

    it('GET /v1/bgp/routes passes the filter, the address and the CIDR as written canonically', async () => {
      expect(await call('GET', '/v1/bgp/routes')).toMatchObject({ status: 200, body: { routes: [ROUTE] } });
      await call('GET', '/v1/bgp/routes?peer=FD00:0::2&prefix=10.244.0.0/16');
      await call('GET', '/v1/bgp/routes?peer=local');
      expect(bgp.filters).toEqual([{}, { peer: 'fd00::2', prefix: '10.244.0.0/16' }, { peer: 'local' }]);
    });

    it('answers 503 saying why when BGP does not run', async () => {
      const none = { ...source, bgp: { unavailable: 'BGP is not running on this node: routing is "direct" (routing "bgp" runs it)' } };
      for (const path of ['/v1/bgp/peers', '/v1/bgp/routes']) {
        expect(await call('GET', path, undefined, none)).toMatchObject({
          status: 503,
          body: { error: { code: 'Unavailable', message: 'BGP is not running on this node: routing is "direct" (routing "bgp" runs it)' } },
        });
      }
    });
  });

  it('answers 500 Internal naming an unexpected failure, and never throws', async () => {
    const broken: ApiSource = { ...source, datastore: { ...datastore, list: () => Promise.reject(new TypeError('cannot read properties of undefined')) } };
    expect(await call('GET', '/v1/resources/pods', undefined, broken)).toMatchObject({
      status: 500,
      body: { error: { code: 'Internal', message: 'internal error answering GET /v1/resources/pods: TypeError: cannot read properties of undefined' } },
    });
    const failing: ApiSource = { ...source, status: () => Promise.reject(new Error('status exploded\nsecond line')) };
    expect((await call('GET', '/v1/status', undefined, failing)).body.error).toEqual({ code: 'Internal', message: 'internal error answering GET /v1/status: Error: status exploded; second line' });
  });

  it("answers the Kubernetes API's refusals by their meaning: 403 Forbidden, 503 Unavailable, 400 BadRequest", async () => {
    const refusing = (error: Error): ApiSource => ({ ...source, datastore: { ...datastore, list: () => Promise.reject(error) } });
    const cases: readonly [ResourceDatastoreError, number, string][] = [
      [new ResourceDatastoreError(RESOURCE_ERROR_CODE.FORBIDDEN, 'list networkpolicies.networking.k8s.io: forbidden: User "system:serviceaccount:twill-system:twill-agent" cannot list'), 403, 'Forbidden'],
      [new ResourceDatastoreError(RESOURCE_ERROR_CODE.UNAVAILABLE, 'list pods: the Kubernetes API at https://10.96.0.1:443 cannot be reached: ECONNREFUSED'), 503, 'Unavailable'],
      [new ResourceDatastoreError(RESOURCE_ERROR_CODE.REJECTED, 'create pods default/x: the API server refused it: BadRequest'), 400, 'BadRequest'],
    ];
    for (const [error, status, code] of cases) {
      expect(await call('GET', '/v1/resources/pods', undefined, refusing(error))).toMatchObject({ status, body: { error: { code, message: error.message } } });
    }
  });

  it('answers 405 with Allow for a method the path does not take', async () => {
    const answer = await call('PUT', '/v1/resources/pods/a');
    expect(answer).toMatchObject({ status: 405, headers: { allow: 'GET, DELETE' }, body: { error: { code: 'MethodNotAllowed', message: 'PUT is not allowed on /v1/resources/pods/a: GET, DELETE' } } });
    expect((await call('DELETE', '/v1/ipam')).headers).toEqual({ allow: 'GET' });
  });

  // A client's mistakes: what each gets (status, code, the one-line message).
  const BAD_REQUESTS: readonly (readonly [string, string, string, unknown, number, string, string])[] = [
    ['bad JSON', 'POST', '/v1/resources', '{"items": [1,]}', 400, 'BadRequest', "the body is not JSON: expected a value, found \"]\" at line 1 column 14"],
    ['bad JSON on line 3', 'POST', '/v1/resources', '{\n  "items": [\n    {"kind" "Pod"}]}', 400, 'BadRequest', "the body is not JSON: expected ':' after the property name, found \"\\\"\" at line 3 column 13"],
    ['JSON cut short', 'POST', '/v1/ipam/release', '{"ip": "10.0', 400, 'BadRequest', 'the body is not JSON: a string that does not end (no closing ") at line 1 column 8'],
    ['trailing garbage', 'POST', '/v1/ipam/release', '{"ip": "10.244.0.1"} x', 400, 'BadRequest', 'the body is not JSON: unexpected "x" after the JSON value at line 1 column 22'],
    ['no body', 'POST', '/v1/resources', '', 400, 'BadRequest', 'the request needs a JSON body'],
    ['items missing', 'POST', '/v1/resources', { resources: [] }, 400, 'BadRequest', 'unknown body field "resources": the body is {"items": [resource, ...]}'],
    ['items not a list', 'POST', '/v1/resources', { items: {} }, 400, 'BadRequest', '"items" must be a list of resources (got object)'],
    ['a list body', 'POST', '/v1/resources', [], 400, 'BadRequest', 'the body must be an object {"items": [resource, ...]}'],
    ['unknown query parameter', 'GET', '/v1/resources/pods?ns=a', undefined, 400, 'BadRequest', 'unknown query parameter "ns": GET /v1/resources/{kind} takes "namespace"'],
    ['query on a path without any', 'GET', '/v1/ipam/check?verbose=1', undefined, 400, 'BadRequest', 'unknown query parameter "verbose": GET /v1/ipam/check takes no query parameters'],
    ['a parameter twice', 'GET', '/v1/resources/pods?namespace=a&namespace=b', undefined, 400, 'BadRequest', 'query parameter "namespace" is given twice'],
    ['dryRun not a boolean', 'POST', '/v1/resources?dryRun=yes', { items: [] }, 400, 'BadRequest', 'query parameter "dryRun" must be true or false (got "yes")'],
    ['dryRun empty', 'POST', '/v1/resources?dryRun=', { items: [] }, 400, 'BadRequest', 'query parameter "dryRun" must be true or false (got "")'],
    ['namespace on a cluster-wide kind', 'GET', '/v1/resources/ippools?namespace=shop', undefined, 400, 'BadRequest', 'namespace: IPPool (ippools.projectcalico.org) is cluster-wide: drop the namespace'],
    ['namespace not a label', 'GET', '/v1/resources/pods?namespace=Shop', undefined, 400, 'BadRequest', "namespace: \"Shop\" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)"],
    ['bad %-escape', 'GET', '/v1/resources/pods/%zz', undefined, 400, 'BadRequest', 'the path "/v1/resources/pods/%zz" has a bad %-escape'],
    ['a name with a slash', 'GET', '/v1/resources/pods/a%2Fb', undefined, 400, 'BadRequest', 'invalid object name "a/b"'],
    ['why without ip', 'GET', '/v1/ipam/why', undefined, 400, 'BadRequest', 'ip: required (an IP address, like 10.244.0.5)'],
    ['why of a non-address', 'GET', '/v1/ipam/why?ip=10.244.1', undefined, 400, 'BadRequest', 'ip: "10.244.1" is not an IP address'],
    ['show of a non-address', 'GET', '/v1/ipam?ip=web', undefined, 400, 'BadRequest', 'ip: "web" is not an IP address'],
    ['blocks not a boolean', 'GET', '/v1/ipam?blocks=all', undefined, 400, 'BadRequest', 'query parameter "blocks" must be true or false (got "all")'],
    ['release of both', 'POST', '/v1/ipam/release', { ip: '10.244.0.1', handle: 'pods.c1' }, 400, 'BadRequest', 'give "ip" or "handle", not both: the body is {"ip": "IP"} or {"handle": "HANDLE"}'],
    ['release of neither', 'POST', '/v1/ipam/release', {}, 400, 'BadRequest', 'the body is {"ip": "IP"} or {"handle": "HANDLE"}'],
    ['release with an unknown field', 'POST', '/v1/ipam/release', { address: '10.244.0.1' }, 400, 'BadRequest', 'unknown body field "address": the body is {"ip": "IP"} or {"handle": "HANDLE"}'],
    ['release of a number', 'POST', '/v1/ipam/release', { ip: 7 }, 400, 'BadRequest', 'ip: must be a string, like "10.244.0.5"'],
    ['release of a handle with a slash', 'POST', '/v1/ipam/release', { handle: 'pods/../x' }, 400, 'BadRequest', 'invalid handle "pods/../x": must be non-empty, without "/", and not "." or ".."'],
    ['routes of a bad peer', 'GET', '/v1/bgp/routes?peer=tor-1', undefined, 400, 'BadRequest', 'peer: "tor-1" is not a peer\'s IP address nor "local"'],
    ['routes of a bad prefix', 'GET', '/v1/bgp/routes?prefix=10.0.0.0/33', undefined, 400, 'BadRequest', 'prefix: "10.0.0.0/33" is not a CIDR like 10.244.0.0/16 or fd00::/64'],
    ['routes of a prefix with host bits', 'GET', '/v1/bgp/routes?prefix=10.244.1.7/24', undefined, 400, 'BadRequest', 'prefix: 10.244.1.7/24 has host bits set (the network is 10.244.1.0/24)'],
    ['no such path', 'GET', '/v2/status', undefined, 404, 'NoSuchPath', 'no such path "/v2/status" (API.md lists the paths: /v1/status, /v1/kinds, /v1/resources, /v1/endpoints, /v1/ipam, /v1/bgp)'],
    ['a trailing slash', 'GET', '/v1/kinds/', undefined, 404, 'NoSuchPath', 'no such path "/v1/kinds/" (API.md lists the paths: /v1/status, /v1/kinds, /v1/resources, /v1/endpoints, /v1/ipam, /v1/bgp)'],
    ['unknown kind', 'GET', '/v1/resources/services', undefined, 404, 'UnknownKind', 'unknown resource kind "services": the known kinds are Namespace (namespaces), Pod (pods), NetworkPolicy (networkpolicies.networking.k8s.io), NetworkPolicy (networkpolicies.projectcalico.org), GlobalNetworkPolicy (globalnetworkpolicies.projectcalico.org), NetworkSet (networksets.projectcalico.org), GlobalNetworkSet (globalnetworksets.projectcalico.org), Tier (tiers.projectcalico.org), CiliumNetworkPolicy (ciliumnetworkpolicies.cilium.io), CiliumClusterwideNetworkPolicy (ciliumclusterwidenetworkpolicies.cilium.io), Node (nodes.projectcalico.org), BGPPeer (bgppeers.projectcalico.org), BGPConfiguration (bgpconfigurations.projectcalico.org), IPPool (ippools.projectcalico.org)'],
    ['no such object', 'GET', '/v1/resources/pods/web', undefined, 404, 'NotFound', 'no Pod default/web (pods)'],
    ['delete of a cluster-wide object that is not there', 'DELETE', '/v1/resources/gnp/deny-all', undefined, 404, 'NotFound', 'no GlobalNetworkPolicy deny-all (globalnetworkpolicies.projectcalico.org)'],
    ['a method the path does not take', 'POST', '/v1/status', {}, 405, 'MethodNotAllowed', 'POST is not allowed on /v1/status: GET'],
    ['an item of an unknown kind', 'POST', '/v1/resources', { items: [namespace('a'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }] }, 422, 'Invalid', 'Service s: kind: unknown kind "Service": the known kinds are Namespace (namespaces), Pod (pods), NetworkPolicy (networkpolicies.networking.k8s.io), NetworkPolicy (networkpolicies.projectcalico.org), GlobalNetworkPolicy (globalnetworkpolicies.projectcalico.org), NetworkSet (networksets.projectcalico.org), GlobalNetworkSet (globalnetworksets.projectcalico.org), Tier (tiers.projectcalico.org), CiliumNetworkPolicy (ciliumnetworkpolicies.cilium.io), CiliumClusterwideNetworkPolicy (ciliumclusterwidenetworkpolicies.cilium.io), Node (nodes.projectcalico.org), BGPPeer (bgppeers.projectcalico.org), BGPConfiguration (bgpconfigurations.projectcalico.org), IPPool (ippools.projectcalico.org)'],
    ['an item that is not an object', 'POST', '/v1/resources', { items: ['Pod'] }, 422, 'Invalid', 'must be an object, not the string "Pod"'],
    ['the same object twice', 'POST', '/v1/resources', { items: [netpol('web', 'shop'), netpol('web', 'shop', 81)] }, 422, 'Invalid', 'NetworkPolicy shop/web (networkpolicies.networking.k8s.io) is also items[0]: one object once per batch'],
    ['a Calico policy with a bad selector', 'POST', '/v1/resources', { items: [{ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'g' }, spec: { selector: 'app ==', ingress: [{ action: 'Allow' }] } }] }, 422, 'Invalid', 'GlobalNetworkPolicy g: spec.selector: selector "app ==" at 6: expected a quoted string'],
  ];

  it.each(BAD_REQUESTS)('%s: %s %s', async (_what, method, url, body, status, code, message) => {
    const answer = await call(method, url, body);
    expect({ status: answer.status, code: answer.body.error?.code, message: answer.body.error?.message }).toEqual({ status, code, message });
    expect(answer.text.split('\n').filter((line) => line.includes('"message"'))).toHaveLength(1);
  });

  it('names the field and the index only where they apply', async () => {
    const invalid = await call('POST', '/v1/resources', { items: [namespace('a'), netpol('web', 'shop'), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'Bad' } }] });
    expect(invalid.body.error).toMatchObject({ field: 'metadata.namespace', index: 2 });
    const missing = await call('GET', '/v1/resources/pods/web');
    expect(Object.keys(missing.body.error ?? {})).toEqual(['code', 'message']);
    // Nothing of the refused batch was written.
    expect(await call('GET', '/v1/resources/namespaces/a')).toMatchObject({ status: 404 });
  });
});
