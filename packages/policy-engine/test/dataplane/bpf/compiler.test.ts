import { describe, expect, it } from 'vitest';

import {
  BpfMapCompiler,
  compileNetworkPolicy,
  FIRST_PEER_CLASS,
  lookupBpfVerdict,
  parseNetworkPolicy,
  PolicyIndex,
  PROTOCOL,
  type BpfMapDiff,
  type Endpoint,
} from '@twill/policy-engine';

const pod = (name: string, ip: string, labels: Record<string, string>): Endpoint => ({ kind: 'workload', namespace: 'x', name, labels, ips: [ip] });

/** x/b takes TCP/80 from 10.9.0.0/16 (any pod or address there). */
const FROM_CIDR = compileNetworkPolicy(parseNetworkPolicy({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'b-from-cidr', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.9.0.0/16' } }], ports: [{ protocol: 'TCP', port: 80 }] }] },
}));

describe('BpfMapCompiler', () => {
  it('moves the entries of endpoints whose rules did not change when a pod inside a CIDR gets a new identity', () => {
    const index = new PolicyIndex();
    const compiler = new BpfMapCompiler();
    compiler.apply(index.apply([
      { kind: 'upsert-endpoint', endpoint: pod('a', '10.9.2.1', { pod: 'a' }) },
      { kind: 'upsert-endpoint', endpoint: pod('b', '10.8.0.2', { pod: 'b' }) },
      { kind: 'upsert-policy', policy: FROM_CIDR },
    ]));
    const verdict = () => lookupBpfVerdict(compiler.entries('x/b') ?? [], compiler.ipcache(), { direction: 'ingress', remote: '10.9.2.1', protocol: PROTOCOL.TCP, port: 80 });
    const before = verdict();
    expect(before.entry?.verdict).toBe('allow');
    expect(before.identity).toBeGreaterThanOrEqual(FIRST_PEER_CLASS);

    const diff: BpfMapDiff = compiler.apply(index.upsertEndpoint(pod('a', '10.9.2.1', { pod: 'a', version: '2' })));
    // The index says only a's identity moved (b's rules name a CIDR, not a); b's entries move all the same.
    expect(diff.ipcache.set.map((e) => e.prefix)).toEqual(['10.9.2.1/32']);
    expect(diff.endpoints.map((e) => e.key)).toContain('x/b');
    const after = verdict();
    expect(after.identity).not.toBe(before.identity);
    expect(after.entry?.verdict).toBe('allow');
    expect(lookupBpfVerdict(compiler.entries('x/b') ?? [], compiler.ipcache(), { direction: 'ingress', remote: '10.9.2.1', protocol: PROTOCOL.TCP, port: 81 }).entry?.verdict).toBe('deny');
  });

  it('programs an endpoint without policy as open, and names the rule that decided', () => {
    const index = new PolicyIndex();
    const compiler = new BpfMapCompiler();
    compiler.apply(index.apply([
      { kind: 'upsert-endpoint', endpoint: pod('a', '10.9.2.1', { pod: 'a' }) },
      { kind: 'upsert-endpoint', endpoint: pod('b', '10.8.0.2', { pod: 'b' }) },
      { kind: 'upsert-policy', policy: FROM_CIDR },
    ]));
    expect(compiler.entries('x/a')).toEqual([
      { direction: 'ingress', identity: 0, port: 0, portBits: 0, verdict: 'allow', rule: 0 },
      { direction: 'egress', identity: 0, port: 0, portBits: 0, verdict: 'allow', rule: 0 },
    ]);
    const allowed = lookupBpfVerdict(compiler.entries('x/b') ?? [], compiler.ipcache(), { direction: 'ingress', remote: '10.9.2.1', protocol: PROTOCOL.TCP, port: 80 });
    expect(compiler.describeRule(allowed.entry?.rule ?? -1)).toBe('NetworkPolicy x/b-from-cidr ingress rule 0 (tier default)');
    const denied = lookupBpfVerdict(compiler.entries('x/b') ?? [], compiler.ipcache(), { direction: 'ingress', remote: '192.0.2.1', protocol: PROTOCOL.UDP, port: 80 });
    expect(compiler.describeRule(denied.entry?.rule ?? -1)).toBe('tier default default deny (ingress, isolated by NetworkPolicy x/b-from-cidr)');
  });

  it('compiles a policy edited in place again, even where nothing else about its peers moved', () => {
    const index = new PolicyIndex();
    const compiler = new BpfMapCompiler();
    const fromCidr = (port: number) => compileNetworkPolicy(parseNetworkPolicy({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'b-from-cidr', namespace: 'x' },
      spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ ipBlock: { cidr: '192.0.2.0/24' } }], ports: [{ protocol: 'TCP', port }] }] },
    }));
    compiler.apply(index.apply([{ kind: 'upsert-endpoint', endpoint: pod('b', '10.8.0.2', { pod: 'b' }) }, { kind: 'upsert-policy', policy: fromCidr(80) }]));
    const verdict = (port: number) => lookupBpfVerdict(compiler.entries('x/b') ?? [], compiler.ipcache(), { direction: 'ingress', remote: '192.0.2.9', protocol: PROTOCOL.TCP, port }).entry?.verdict;
    expect([verdict(80), verdict(81)]).toEqual(['allow', 'deny']);
    compiler.apply(index.upsertPolicy(fromCidr(81)));
    expect([verdict(80), verdict(81)]).toEqual(['deny', 'allow']);
  });

  it('writes only the entries of a policy that comes and goes among many, and ends where a fresh compiler does', () => {
    const index = new PolicyIndex();
    const compiler = new BpfMapCompiler();
    const allow = (name: string, cidr: string, port: number, from?: Record<string, string>) => compileNetworkPolicy(parseNetworkPolicy({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name, namespace: 'x' },
      spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [from === undefined ? { ipBlock: { cidr } } : { podSelector: { matchLabels: from } }], ports: [{ protocol: 'TCP', port }] }] },
    }));
    compiler.apply(index.apply([
      { kind: 'upsert-endpoint', endpoint: pod('a', '10.9.2.1', { pod: 'a' }) },
      { kind: 'upsert-endpoint', endpoint: pod('b', '10.8.0.2', { pod: 'b' }) },
      ...Array.from({ length: 300 }, (_, i) => ({ kind: 'upsert-policy' as const, policy: allow(`p${i}`, `10.200.${i >> 8}.${i & 255}/32`, 1000 + i) })),
    ]));
    const toggled = allow('from-a', '', 80, { pod: 'a' });
    const fresh = (): string[] => {
      const again = new BpfMapCompiler();
      again.apply({ changed: index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] as const })), removed: [], ipcache: { set: index.ipIdentities(), removed: [] } });
      return (again.entries('x/b') ?? []).map((e) => `${e.direction} ${e.identity} ${e.protocol ?? '*'} ${e.port}/${e.portBits} ${e.verdict}`).sort();
    };
    const held = (): string[] => (compiler.entries('x/b') ?? []).map((e) => `${e.direction} ${e.identity} ${e.protocol ?? '*'} ${e.port}/${e.portBits} ${e.verdict}`).sort();
    const verdict = () => lookupBpfVerdict(compiler.entries('x/b') ?? [], compiler.ipcache(), { direction: 'ingress', remote: '10.9.2.1', protocol: PROTOCOL.TCP, port: 80 }).entry?.verdict;

    const added = compiler.apply(index.upsertPolicy(toggled));
    expect(added.endpoints.map((e) => [e.key, e.set.length, e.removed.length])).toEqual([['x/b', 1, 0]]);
    expect(verdict()).toBe('allow');
    expect(held()).toEqual(fresh());

    const removed = compiler.apply(index.deletePolicy(toggled.ref));
    expect(removed.endpoints.map((e) => [e.key, e.set.length, e.removed.length])).toEqual([['x/b', 0, 1]]);
    expect(verdict()).toBe('deny');
    expect(held()).toEqual(fresh());
  });
});
