// Which traffic this node sends to the L7 proxy: l7RedirectTargets over the policy
// controller's real index (the seed tutorial's policies and pods), what onL7Targets is
// told as policies come and go, and the port range arithmetic.
import { afterEach, describe, expect, it } from 'vitest';

import { IndexL7PolicySource } from '../../../src/agent/l7/policy-source.js';
import { mergePortRanges, NO_L7_TARGETS, sameL7Targets, unionL7Targets, type L7RedirectTargets } from '../../../src/agent/l7/redirect-targets.js';
import { startPolicy, type PolicySetup } from './policy-source-setup.js';
import { appIs, ciliumAllow, ciliumPolicy, PODS, SEED_L7_POLICY } from './seed-fixtures.js';

/** frontend may only GET /api/v1/... from api on 8080 (Cilium egress toPorts with rules.http). */
const frontendEgress = (namespace = 'default'): string =>
  ciliumAllow({ name: 'frontend-egress', namespace, app: 'frontend', direction: 'egress', peer: 'api', port: 8080, rules: { http: [{ method: 'GET', path: '/api/v1/.*' }] } });
const FRONTEND_EGRESS = frontendEgress();

/** api's HTTP rules on a range and two more ports, a UDP port without L7 and a Kafka port. */
const API_PORTS = ciliumPolicy('api-ports', 'api', {
  ingress: [
    {
      fromEndpoints: [appIs('frontend')],
      toPorts: [{ ports: [{ port: '8000', endPort: 8079, protocol: 'TCP' }, { port: '8081', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }],
    },
    {
      fromEndpoints: [appIs('frontend')],
      toPorts: [{ ports: [{ port: '5353', protocol: 'UDP' }] }, { ports: [{ port: '9092', protocol: 'TCP' }], rules: { kafka: [{ topic: 'orders' }] } }],
    },
  ],
});

/** Calico: other accepts HTTP GET on any port; DNS rules (Cilium) on frontend's egress are not redirected. */
const OTHER_ANY_PORT_AND_DNS = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: other-http
  namespace: default
spec:
  selector: app == "other"
  ingress:
  - action: Allow
    protocol: TCP
    http:
      methods: ["GET"]
---
${ciliumPolicy('frontend-dns', 'frontend', { egress: [{ toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*' }] } }] }] })}`;

/** The seed policy for app=frontend pods of namespace shop, whose only pod runs on node-b. */
const SHOP_EGRESS = frontendEgress('shop');

const SEED_TARGETS: L7RedirectTargets = { ingress: [{ address: PODS.api.ip, ports: [{ first: 8080, last: 8080 }] }], egress: [] };

let setup: PolicySetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

describe('l7RedirectTargets over the policy controller', () => {
  it('sends api\'s 8080 to the proxy for the seed policy, and nothing of other pods', async () => {
    setup = await startPolicy(SEED_L7_POLICY);
    expect(setup.controller.l7Targets()).toEqual(SEED_TARGETS);
    // Told once, before the first apply.
    expect(setup.told).toEqual([SEED_TARGETS]);
  });

  it('gives an egress L7 policy an egress target on the frontend\'s host-side interface', async () => {
    setup = await startPolicy(`${SEED_L7_POLICY}\n---\n${FRONTEND_EGRESS}`);
    expect(setup.controller.l7Targets()).toEqual({
      ingress: [{ address: PODS.api.ip, ports: [{ first: 8080, last: 8080 }] }],
      egress: [{ hostInterface: 'twfrontend', ports: [{ first: 8080, last: 8080 }] }],
    });
    // Both enforcement points are asked about a frontend -> api connection: egress's path rule and ingress's.
    const source = new IndexL7PolicySource({ view: setup.controller.l7View() });
    const decision = source.decide({ address: PODS.frontend.ip, port: 40_000 }, { address: PODS.api.ip, port: 8080 });
    if (!decision.allowed || decision.http === 'any') throw new Error('expected HTTP rules');
    const allowed = decision.http.match({ method: 'GET', path: '/api/v1/users', headers: {} });
    expect(allowed.allowed && allowed.by.map((hit) => hit.label)).toEqual([
      'CiliumNetworkPolicy default/frontend-egress spec.egress[0].toPorts[0] http[0]',
      'CiliumNetworkPolicy default/l7-api-policy spec.ingress[0].toPorts[0] http[0]',
    ]);
  });

  it('merges the ports of several rules, leaves UDP alone, sends Kafka ports (the proxy refuses them)', async () => {
    setup = await startPolicy(`${SEED_L7_POLICY}\n---\n${API_PORTS}`);
    expect(setup.controller.status()).toMatchObject({ policies: 2, problems: [] });
    expect(setup.controller.l7Targets()).toEqual({
      ingress: [{ address: PODS.api.ip, ports: [{ first: 8000, last: 8081 }, { first: 9092, last: 9092 }] }],
      egress: [],
    });
  });

  it('covers every port for an HTTP rule without ports, and no port for DNS rules', async () => {
    setup = await startPolicy(OTHER_ANY_PORT_AND_DNS);
    expect(setup.controller.status()).toMatchObject({ policies: 2, problems: [] });
    const dns = setup.controller.l7View().effectiveRules({ namespace: 'default', name: 'frontend' })?.egress.tiers.flatMap((t) => t.rules).find((r) => r.l7 !== undefined);
    expect(dns?.l7).toMatchObject({ kind: 'opaque', parser: 'dns' });
    expect(setup.controller.l7Targets()).toEqual({ ingress: [{ address: PODS.other.ip, ports: [{ first: 1, last: 65535 }] }], egress: [] });
  });

  it('gives nothing for L7 rules of pods on another node', async () => {
    setup = await startPolicy(SHOP_EGRESS);
    expect(setup.controller.l7Targets()).toEqual(NO_L7_TARGETS);
    expect(setup.told).toEqual([NO_L7_TARGETS]);
  });

  it('tells onL7Targets when the targets change, and only then', async () => {
    setup = await startPolicy(SEED_L7_POLICY);
    expect(setup.told).toEqual([SEED_TARGETS]);
    // L7 rules of a pod on another node move the index, not the targets.
    await setup.apply(SHOP_EGRESS);
    expect(setup.told).toHaveLength(1);
    await setup.apply(FRONTEND_EGRESS);
    expect(setup.told).toEqual([SEED_TARGETS, { ...SEED_TARGETS, egress: [{ hostInterface: 'twfrontend', ports: [{ first: 8080, last: 8080 }] }] }]);
    await setup.deletePolicy('ciliumnetworkpolicies.cilium.io', 'frontend-egress', 'default');
    await setup.deletePolicy('ciliumnetworkpolicies.cilium.io', 'l7-api-policy', 'default');
    expect(setup.told.slice(2)).toEqual([SEED_TARGETS, NO_L7_TARGETS]);
  });
});

describe('mergePortRanges', () => {
  it('merges overlapping, adjacent and contained ranges, sorted', () => {
    expect(mergePortRanges([{ first: 9000, last: 9000 }, { first: 80, last: 81 }, { first: 82, last: 82 }, { first: 8080, last: 8090 }, { first: 8085, last: 8086 }, { first: 8091, last: 8100 }, { first: 443, last: 443 }]))
      .toEqual([{ first: 80, last: 82 }, { first: 443, last: 443 }, { first: 8080, last: 8100 }, { first: 9000, last: 9000 }]);
    expect(mergePortRanges([])).toEqual([]);
  });
});

describe('unionL7Targets', () => {
  it('holds every address and interface of either, their ports merged, sorted as l7RedirectTargets sorts', () => {
    const a: L7RedirectTargets = { ingress: [{ address: '10.0.0.2', ports: [{ first: 8080, last: 8080 }] }], egress: [{ hostInterface: 'twb', ports: [{ first: 80, last: 80 }] }] };
    const b: L7RedirectTargets = {
      ingress: [{ address: '10.0.0.1', ports: [{ first: 443, last: 443 }] }, { address: '10.0.0.2', ports: [{ first: 8081, last: 9000 }] }],
      egress: [{ hostInterface: 'twa', ports: [{ first: 53, last: 53 }] }],
    };
    expect(unionL7Targets(a, b)).toEqual({
      ingress: [{ address: '10.0.0.1', ports: [{ first: 443, last: 443 }] }, { address: '10.0.0.2', ports: [{ first: 8080, last: 9000 }] }],
      egress: [{ hostInterface: 'twa', ports: [{ first: 53, last: 53 }] }, { hostInterface: 'twb', ports: [{ first: 80, last: 80 }] }],
    });
    expect(sameL7Targets(unionL7Targets(a, NO_L7_TARGETS), a)).toBe(true);
    expect(unionL7Targets(NO_L7_TARGETS, NO_L7_TARGETS)).toEqual(NO_L7_TARGETS);
  });
});

describe('sameL7Targets', () => {
  it('tells equal targets from different ones', () => {
    const other: L7RedirectTargets = { ingress: [{ address: PODS.api.ip, ports: [{ first: 8080, last: 8081 }] }], egress: [] };
    expect(sameL7Targets(SEED_TARGETS, { ingress: [{ address: PODS.api.ip, ports: [{ first: 8080, last: 8080 }] }], egress: [] })).toBe(true);
    expect(sameL7Targets(SEED_TARGETS, other)).toBe(false);
    expect(sameL7Targets(SEED_TARGETS, NO_L7_TARGETS)).toBe(false);
    expect(sameL7Targets({ ingress: [], egress: [{ hostInterface: 'a', ports: [] }] }, { ingress: [], egress: [{ hostInterface: 'b', ports: [] }] })).toBe(false);
  });
});
