// An Allow with L7 rules under the compiler's `l7Proxy`: its entries get the `proxy`
// verdict (the tc program admits only the L7 proxy's marked traffic by them) with the
// Allow's own rule id; L4-only Allows, Denies and tier defaults stay as they are, and
// without the option nothing changes.

import { describe, expect, it } from 'vitest';

import { BpfMapCompiler, lookupBpfVerdict, PolicyIndex, PROTOCOL, type BpfPacket } from '@twill/policy-engine';

import { DB_HTTP_POLICY_DENYING_TOOL } from '../l7-policies.js';
import { changesOf, PODS } from '../nftables/cluster.js';

/** db takes HTTP GETs from web on 8080 (L7) and anything from tool on 9000 (L4 only); tool is refused 8080 outright. */
const POLICY = DB_HTTP_POLICY_DENYING_TOOL;

/** web takes GETs from anyone on 80 (egress of nobody restricted). */
const WEB_POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: web-http, namespace: prod }
spec:
  endpointSelector: { matchLabels: { app: web } }
  egress:
  - toEndpoints: [{ matchLabels: { app: db } }]
    toPorts:
    - ports: [{ port: "8080", protocol: TCP }]
      rules:
        http: [{ method: GET }]
`;

function compile(options?: { l7Proxy?: boolean }): { compiler: BpfMapCompiler; decide: (key: string, packet: BpfPacket) => string } {
  const index = new PolicyIndex();
  const compiler = new BpfMapCompiler(options);
  compiler.apply(index.apply([...PODS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })), ...changesOf(`${POLICY}---\n${WEB_POLICY}`)]));
  const decide = (key: string, packet: BpfPacket): string => {
    const { entry } = lookupBpfVerdict(compiler.entries(key) ?? [], compiler.ipcache(), packet);
    return entry === undefined ? 'none' : `${entry.verdict} by ${compiler.describeRule(entry.rule)}`;
  };
  return { compiler, decide };
}

const tcp = (direction: 'ingress' | 'egress', remote: string, port: number): BpfPacket => ({ direction, remote, protocol: PROTOCOL.TCP, port });

describe('BpfMapCompiler with l7Proxy', () => {
  it('gives an Allow with L7 rules the proxy verdict and its own rule, both directions; other rules and defaults keep theirs', () => {
    const { decide } = compile({ l7Proxy: true });
    // web → db:8080 is what the HTTP rule decides: only through the proxy.
    expect(decide('prod/db', tcp('ingress', '10.0.0.1', 8080))).toBe('proxy by CiliumNetworkPolicy prod/db-http ingress rule 0 (tier default)');
    expect(decide('prod/db', tcp('ingress', '10.0.0.2', 8080))).toBe('proxy by CiliumNetworkPolicy prod/db-http ingress rule 0 (tier default)');
    // The L4-only rule is a plain allow, the Deny a deny, anything else the tier's default.
    expect(decide('prod/db', tcp('ingress', '10.0.1.1', 9000))).toMatch(/^allow by CiliumNetworkPolicy prod\/db-http ingress rule 1 /);
    expect(decide('prod/db', tcp('ingress', '10.0.1.1', 8080))).toMatch(/^deny by CiliumNetworkPolicy prod\/db-http~deny ingress rule 0 /);
    expect(decide('prod/db', tcp('ingress', '10.0.0.1', 9000))).toMatch(/^deny by tier default default deny \(ingress/);
    // An egress rule with L7 rules gets the same verdict (the tc program decides where it can check it).
    expect(decide('prod/web', tcp('egress', '10.0.0.3', 8080))).toBe('proxy by CiliumNetworkPolicy prod/web-http egress rule 0 (tier default)');
    expect(decide('prod/web', tcp('egress', '10.0.0.3', 8081))).toMatch(/^deny by tier default default deny \(egress/);
    // An endpoint no policy selects is open, as before.
    expect(decide('dev/tool', tcp('ingress', '10.0.0.1', 8080))).toBe('allow by no rule (allowed by default)');
  });

  it('without the option: the same entries with allow where proxy was', () => {
    const on = compile({ l7Proxy: true }).compiler;
    const off = compile().compiler;
    for (const key of ['prod/db', 'prod/web', 'prod/web2', 'dev/tool']) {
      const plain = (on.entries(key) ?? []).map((e) => (e.verdict === 'proxy' ? { ...e, verdict: 'allow' } : e));
      expect(off.entries(key), key).toEqual(plain);
    }
    expect(off.entries('prod/db')?.some((e) => e.verdict === 'proxy')).toBe(false);
    expect(on.entries('prod/db')?.some((e) => e.verdict === 'proxy')).toBe(true);
  });

  it('moves an entry from proxy to allow when a policy drops its L7 rules (a diff with the same rule id)', () => {
    const index = new PolicyIndex();
    const compiler = new BpfMapCompiler({ l7Proxy: true });
    compiler.apply(index.apply([...PODS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })), ...changesOf(POLICY)]));
    const before = lookupBpfVerdict(compiler.entries('prod/db') ?? [], compiler.ipcache(), tcp('ingress', '10.0.0.1', 8080)).entry;
    expect(before?.verdict).toBe('proxy');
    const diff = compiler.apply(index.apply(changesOf(POLICY.replace(/\n {6}rules:\n {8}http: \[\{ method: GET, path: "\/api\/v1\/\.\*" \}\]/, ''))));
    const change = diff.endpoints.find((e) => e.key === 'prod/db');
    expect(change?.set.map((e) => e.verdict)).toContain('allow');
    const after = lookupBpfVerdict(compiler.entries('prod/db') ?? [], compiler.ipcache(), tcp('ingress', '10.0.0.1', 8080)).entry;
    expect(after?.verdict).toBe('allow');
    expect(compiler.describeRule(after?.rule ?? -1)).toBe(compiler.describeRule(before?.rule ?? -1));
  });
});
