// IndexL7PolicySource over the policy controller's real index, fed the seed tutorial's
// l7-api-policy: what the L7 proxy is told about each connection, and what its matcher
// then says about requests.
import { afterEach, describe, expect, it } from 'vitest';

import { type HttpMatcher, type HttpRequestFacts } from '@twill/policy-engine';

import { IndexL7PolicySource, type L7PolicyView } from '../../../src/agent/l7/policy-source.js';
import { type L7ConnectionDecision } from '../../../src/agent/l7/ports.js';
import { startPolicy, type PolicySetup } from './policy-source-setup.js';
import { appIs, ciliumAllow, ciliumPolicy, PODS, SEED_L7_POLICY } from './seed-fixtures.js';

const L4_9090 = ciliumAllow({ name: 'metrics-port', app: 'api', direction: 'ingress', peer: 'frontend', port: 9090 });

const L4_ONLY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-from-frontend
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: api
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: frontend
    ports:
    - port: 8080
      protocol: TCP
`;

const KAFKA = ciliumAllow({ name: 'orders-topic', app: 'api', direction: 'ingress', peer: 'frontend', port: 9092, rules: { kafka: [{ role: 'produce', topic: 'orders' }] } });

/** The seed policy widened: frontend may also GET /healthz (a second rule of the same policy). */
const SEED_WITH_HEALTHZ = SEED_L7_POLICY.replace('path: "/api/v1/.*"', 'path: "/api/v1/.*"\n              - method: "GET"\n                path: "/healthz"');

/** A second policy with HTTP rules on the same port: frontend may GET /healthz. */
const HEALTHZ = ciliumAllow({ name: 'health-checks', app: 'api', direction: 'ingress', peer: 'frontend', port: 8080, rules: { http: [{ method: 'GET', path: '/healthz' }] } });

/** A Cilium deny rule (deny takes precedence) and an egress policy isolating frontend. */
const DENY_AND_EGRESS = `${ciliumPolicy('no-other', 'api', { ingressDeny: [{ fromEndpoints: [appIs('other')] }] })}---
${ciliumAllow({ name: 'frontend-egress', app: 'frontend', direction: 'egress', peer: 'api', port: 8080 })}`;

const HOST_ADDRESS = '192.168.50.10';

const request = (method: string, path: string): HttpRequestFacts => ({ method, path, host: 'api.default:8080', headers: {} });

function matcherOf(decision: L7ConnectionDecision): Pick<HttpMatcher, 'match'> {
  if (!decision.allowed) throw new Error(`expected an allowed connection, got: ${decision.why}`);
  if (decision.http === 'any') throw new Error('expected HTTP rules, got any');
  return decision.http;
}

const at = (pod: keyof typeof PODS, port = 40_000): { address: string; port: number } => ({ address: PODS[pod].ip, port });

let setup: PolicySetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

async function sourceOver(yaml: string): Promise<{ source: IndexL7PolicySource; setup: PolicySetup }> {
  setup = await startPolicy(yaml);
  return { setup, source: new IndexL7PolicySource({ view: setup.controller.l7View(), hostAddresses: [HOST_ADDRESS] }) };
}

describe('IndexL7PolicySource over the seed l7-api-policy', () => {
  it('gives frontend -> api:8080 a matcher that allows GET /api/v1/users only, naming the rule for flow records', async () => {
    const { source } = await sourceOver(SEED_L7_POLICY);
    const matcher = matcherOf(source.decide(at('frontend'), at('api', 8080)));
    expect(matcher.match(request('GET', '/api/v1/users'))).toEqual({
      allowed: true,
      by: [expect.objectContaining({ direction: 'ingress', label: 'CiliumNetworkPolicy default/l7-api-policy spec.ingress[0].toPorts[0] http[0]' })],
    });
    const post = matcher.match(request('POST', '/api/v1/users'));
    expect(post.allowed).toBe(false);
    expect(!post.allowed && post.why).toBe('no HTTP rule of CiliumNetworkPolicy default/l7-api-policy (ingress) allows POST /api/v1/users');
    expect(matcher.match(request('GET', '/admin')).allowed).toBe(false);
  });

  it('names the policy of each set of HTTP rules when two policies\' rules add up on one port', async () => {
    const { source } = await sourceOver(`${SEED_L7_POLICY}\n---\n${HEALTHZ}`);
    const matcher = matcherOf(source.decide(at('frontend'), at('api', 8080)));
    const health = matcher.match(request('GET', '/healthz'));
    expect(health.allowed && health.by.map((hit) => hit.label)).toEqual(['CiliumNetworkPolicy default/health-checks spec.ingress[0].toPorts[0] http[0]']);
    const users = matcher.match(request('GET', '/api/v1/users'));
    expect(users.allowed && users.by.map((hit) => hit.label)).toEqual(['CiliumNetworkPolicy default/l7-api-policy spec.ingress[0].toPorts[0] http[0]']);
    const metrics = matcher.match(request('GET', '/metrics'));
    expect(!metrics.allowed && metrics.why).toBe('no HTTP rule of CiliumNetworkPolicy default/health-checks, CiliumNetworkPolicy default/l7-api-policy (ingress) allows GET /metrics');
  });

  it('refuses other -> api:8080 with the isolating policy in words', async () => {
    const { source } = await sourceOver(SEED_L7_POLICY);
    expect(source.decide(at('other'), at('api', 8080))).toEqual({
      allowed: false,
      why: 'default/other (10.0.1.3) to default/api (10.0.1.2) port 8080: default/api is isolated for ingress by CiliumNetworkPolicy default/l7-api-policy; no rule allowed the traffic',
    });
  });

  it('names a deny rule, and an egress isolation, that refuse a connection', async () => {
    const { source } = await sourceOver(`${SEED_L7_POLICY}\n---\n${DENY_AND_EGRESS}`);
    expect(source.decide(at('other'), at('api', 8080))).toEqual({
      allowed: false,
      why: 'default/other (10.0.1.3) to default/api (10.0.1.2) port 8080: CiliumNetworkPolicy default/no-other rule spec.ingressDeny[0] in tier twill:deny-precedence denies ingress traffic to default/api',
    });
    expect(source.decide(at('frontend'), at('other', 80))).toEqual({
      allowed: false,
      why: 'default/frontend (10.0.1.1) to default/other (10.0.1.3) port 80: default/frontend is isolated for egress by CiliumNetworkPolicy default/frontend-egress; no rule allowed the traffic',
    });
    expect(matcherOf(source.decide(at('frontend'), at('api', 8080))).match(request('GET', '/api/v1/users')).allowed).toBe(true);
  });

  it('refuses a pod labelled app=frontend of another namespace, the world and this node', async () => {
    const { source } = await sourceOver(SEED_L7_POLICY);
    const shop = source.decide(at('shopFrontend'), at('api', 8080));
    expect(shop.allowed).toBe(false);
    expect(!shop.allowed && shop.why).toMatch(/^shop\/frontend \(10\.0\.2\.1\) to default\/api \(10\.0\.1\.2\) port 8080: default\/api is isolated for ingress/);
    const world = source.decide({ address: '203.0.113.7', port: 5555 }, at('api', 8080));
    expect(!world.allowed && world.why).toMatch(/^203\.0\.113\.7 \(reserved:world\) to default\/api/);
    const host = source.decide({ address: HOST_ADDRESS, port: 5555 }, at('api', 8080));
    expect(!host.allowed && host.why).toMatch(/^192\.168\.50\.10 \(reserved:host\) to default\/api/);
    // Addresses are read in canonical form (RFC 5952), as the index holds them.
    const v6 = source.decide({ address: '2001:DB8:0:0::7', port: 5555 }, at('api', 8080));
    expect(!v6.allowed && v6.why).toMatch(/^2001:db8::7 \(reserved:world\) to default\/api/);
  });

  it('follows L3/L4 for frontend -> api:9090, which no L7 rule covers: denied, then allowed as any', async () => {
    const { source, setup: policy } = await sourceOver(SEED_L7_POLICY);
    const before = source.decide(at('frontend'), at('api', 9090));
    expect(before.allowed).toBe(false);
    expect(!before.allowed && before.why).toContain('default/api is isolated for ingress by CiliumNetworkPolicy default/l7-api-policy');
    await policy.apply(L4_9090);
    expect(source.decide(at('frontend'), at('api', 9090))).toEqual({ allowed: true, http: 'any' });
    // 8080 keeps its HTTP rules.
    expect(matcherOf(source.decide(at('frontend'), at('api', 8080))).match(request('POST', '/api/v1/users')).allowed).toBe(false);
  });

  it('gives any for an L4-only policy (Kubernetes NetworkPolicy), and still refuses who it does not allow', async () => {
    const { source } = await sourceOver(L4_ONLY);
    expect(source.decide(at('frontend'), at('api', 8080))).toEqual({ allowed: true, http: 'any' });
    expect(source.decide(at('other'), at('api', 8080))).toEqual({
      allowed: false,
      why: 'default/other (10.0.1.3) to default/api (10.0.1.2) port 8080: default/api is isolated for ingress by NetworkPolicy default/api-from-frontend; no rule allowed the traffic',
    });
  });

  it('lets an L4 allow of the same order lift the HTTP rules (Cilium: allows add up)', async () => {
    const { source } = await sourceOver(`${SEED_L7_POLICY}\n---\n${L4_ONLY}`);
    // The Kubernetes policy sits at order 1000 of the default tier as Cilium's does: one allow without L7 rules.
    expect(source.decide(at('frontend'), at('api', 8080))).toEqual({ allowed: true, http: 'any' });
  });

  it('refuses a flow allowed only under Kafka rules: the proxy cannot enforce them (fail closed)', async () => {
    const { source } = await sourceOver(`${SEED_L7_POLICY}\n---\n${KAFKA}`);
    expect(source.decide(at('frontend'), at('api', 9092))).toEqual({
      allowed: false,
      why: 'the flow is allowed only under kafka rules of CiliumNetworkPolicy default/orders-topic spec.ingress[0].toPorts[0], which the L7 proxy cannot enforce (it enforces HTTP rules only): refused (fail closed)',
    });
    expect(matcherOf(source.decide(at('frontend'), at('api', 8080))).match(request('GET', '/api/v1/users')).allowed).toBe(true);
  });
});

describe('IndexL7PolicySource caching', () => {
  it('compiles once per generation: a flood of connections shares one matcher, a policy change recompiles', async () => {
    const { source, setup: policy } = await sourceOver(SEED_L7_POLICY);
    const first = matcherOf(source.decide(at('frontend', 40_000), at('api', 8080)));
    for (let port = 40_001; port < 42_000; port += 1) expect(matcherOf(source.decide(at('frontend', port), at('api', 8080)))).toBe(first);
    expect(source.compilations).toBe(1);
    // A denied and an unrestricted flow compile nothing.
    source.decide(at('other'), at('api', 8080));
    expect(source.compilations).toBe(1);

    await policy.apply(SEED_WITH_HEALTHZ);
    const second = matcherOf(source.decide(at('frontend'), at('api', 8080)));
    expect(second).not.toBe(first);
    expect(source.compilations).toBe(2);
    expect(second.match(request('GET', '/healthz')).allowed).toBe(true);
    expect(first.match(request('GET', '/healthz')).allowed).toBe(false);
    expect(matcherOf(source.decide(at('frontend', 50_000), at('api', 8080)))).toBe(second);
  });

  it('recompiles after the policy is deleted and applied again (new rules, same text)', async () => {
    const { source, setup: policy } = await sourceOver(SEED_L7_POLICY);
    const first = matcherOf(source.decide(at('frontend'), at('api', 8080)));
    await policy.deletePolicy('ciliumnetworkpolicies.cilium.io', 'l7-api-policy', 'default');
    expect(source.decide(at('frontend'), at('api', 8080))).toEqual({ allowed: true, http: 'any' });
    await policy.apply(SEED_L7_POLICY);
    const again = matcherOf(source.decide(at('frontend'), at('api', 8080)));
    expect(again).not.toBe(first);
    expect(again.match(request('POST', '/api/v1/users')).allowed).toBe(false);
  });

  it('keeps at most maxCachedDecisions compiled decisions', async () => {
    setup = await startPolicy(`${SEED_L7_POLICY}\n---\n${KAFKA}`);
    const source = new IndexL7PolicySource({ view: setup.controller.l7View(), maxCachedDecisions: 1 });
    source.decide(at('frontend'), at('api', 8080));
    source.decide(at('frontend'), at('api', 9092));
    source.decide(at('frontend'), at('api', 8080));
    expect(source.compilations).toBe(3);
    expect(() => new IndexL7PolicySource({ view: setup!.controller.l7View(), maxCachedDecisions: 0 })).toThrow('IndexL7PolicySource: maxCachedDecisions must be a positive integer, not 0');
  });
});

describe('IndexL7PolicySource fails closed', () => {
  it('refuses an address that is not one, a port that is not one, and a flow of no endpoint of the index', async () => {
    const { source } = await sourceOver(SEED_L7_POLICY);
    expect(source.decide({ address: 'not-an-ip', port: 1 }, at('api', 8080))).toEqual({ allowed: false, why: 'the connection\'s client address "not-an-ip" is not an IP address' });
    expect(source.decide(at('frontend'), { address: '10.0.1.2', port: 70_000 })).toEqual({ allowed: false, why: 'the connection\'s destination port 70000 is not a TCP port' });
    expect(source.decide({ address: '203.0.113.7', port: 1 }, { address: '198.51.100.1', port: 80 })).toEqual({
      allowed: false,
      why: '203.0.113.7 (reserved:world) to 198.51.100.1 (reserved:world) port 80: neither side is an endpoint of the agent\'s policy index (a redirect not in step with the policy)',
    });
  });

  it('refuses, and reports, when the index throws', async () => {
    setup = await startPolicy(SEED_L7_POLICY);
    const real = setup.controller.l7View();
    const broken: L7PolicyView = {
      get generation() { return real.generation; },
      evaluate: () => { throw new Error('index corrupted'); },
      effectiveRules: (ref) => real.effectiveRules(ref),
      endpointKeyByAddress: (address) => real.endpointKeyByAddress(address),
    };
    const warned: string[] = [];
    const source = new IndexL7PolicySource({ view: broken, logger: { debug: () => undefined, warn: (_obj, msg) => warned.push(msg) } });
    expect(source.decide(at('frontend'), at('api', 8080))).toEqual({
      allowed: false,
      why: 'the agent could not decide the connection from 10.0.1.1 to 10.0.1.2 port 8080: index corrupted',
    });
    expect(warned).toEqual(['l7 policy: deciding a connection failed; refused']);
  });
});
