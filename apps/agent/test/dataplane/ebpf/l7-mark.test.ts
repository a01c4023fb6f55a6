// The eBPF driver under the L7 proxy's marks (issue 14): tw_l7 written at every start,
// `proxy` entries (verdict byte 3) for an Allow with L7 rules, and the drop of a
// connection that went around the proxy decoded as a policy drop of that rule.

import { describe, expect, it } from 'vitest';

import { compileCiliumPolicy, parseCiliumPolicy, PolicyIndex } from '@twill/policy-engine';

import { EbpfDataplane } from '../../../src/dataplane/ebpf/driver.js';
import { type EbpfFlowEvent } from '../../../src/dataplane/ebpf/flow-event.js';
import { decodePolicyEntry, encodeL7Value, encodePolicyEntry } from '../../../src/dataplane/ebpf/layout.js';
import { FakeKernel } from './fake-kernel.js';
import { addressBytes, type FakeRing } from './fake-ring.js';

/** x/b takes HTTP GETs from x/a on TCP 80, through the proxy. */
const POLICY = compileCiliumPolicy(parseCiliumPolicy({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'b-http', namespace: 'x' },
  spec: {
    endpointSelector: { matchLabels: { pod: 'b' } },
    ingress: [{ fromEndpoints: [{ matchLabels: { pod: 'a' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] }],
  },
}));
const pod = (name: string, ip: string) => ({ kind: 'workload' as const, namespace: 'x', name, labels: { pod: name }, ips: [ip] });
const MARK = { mask: 0xf00, values: [0xa00, 0x200] };

describe('encodeL7Value', () => {
  it('holds the distinct values in order, and zeros without marks (proxy entries then admit nothing)', () => {
    expect(encodeL7Value(MARK)).toEqual({ mask: 0xf00, count: 2, values: [0x200, 0xa00, 0, 0] });
    expect(encodeL7Value({ mask: 0xf00, values: [0x200, 0x200] })).toEqual({ mask: 0xf00, count: 1, values: [0x200, 0, 0, 0] });
    expect(encodeL7Value(undefined)).toEqual({ mask: 0, count: 0, values: [0, 0, 0, 0] });
  });

  it('refuses a bad mask or value, naming the field', () => {
    expect(() => encodeL7Value({ mask: 0, values: [0] })).toThrow(new RangeError('l7Mark.mask: 0 is not a non-zero 32-bit integer'));
    expect(() => encodeL7Value({ mask: 2 ** 32, values: [1] })).toThrow(/^l7Mark\.mask: /);
    expect(() => encodeL7Value({ mask: 0xf00, values: [] })).toThrow(/^l7Mark\.values: is empty/);
    expect(() => encodeL7Value({ mask: 0xf00, values: [0x200, 0x1200] })).toThrow(new RangeError('l7Mark.values[1]: 4608 is not a 32-bit integer within the mask 0xf00'));
    expect(() => encodeL7Value({ mask: 0xf00, values: [0x100, 0x200, 0x300, 0x400, 0x500] })).toThrow('l7Mark.values: 5 distinct marks, the eBPF program compares at most 4');
  });
});

describe('EbpfDataplane with l7Mark', () => {
  it('writes the marks at start (and none without them), before any entry', () => {
    const kernel = new FakeKernel();
    new EbpfDataplane({ kernel, now: () => 0, l7Mark: MARK });
    expect(kernel.l7Marks).toEqual({ mask: 0xf00, count: 2, values: [0x200, 0xa00, 0, 0] });
    // A later start without marks clears them from the pinned map.
    new EbpfDataplane({ kernel, now: () => 0 });
    expect(kernel.l7Marks).toEqual({ mask: 0, count: 0, values: [0, 0, 0, 0] });
    expect(() => new EbpfDataplane({ kernel: new FakeKernel(), now: () => 0, l7Mark: { mask: 0xf00, values: [1] } })).toThrow(/^l7Mark\.values\[0\]/);
  });

  it('programs the Allow with L7 rules as proxy entries (byte 3), reads them back after a restart, and decodes the not-proxied drop', async () => {
    const kernel = new FakeKernel();
    const dataplane = new EbpfDataplane({ kernel, now: () => 0, l7Mark: MARK });
    const index = new PolicyIndex();
    const diff = index.apply([
      { kind: 'upsert-namespace', namespace: { name: 'x', labels: {} } },
      { kind: 'upsert-endpoint', endpoint: pod('a', '10.0.0.1') },
      { kind: 'upsert-endpoint', endpoint: pod('b', '10.0.0.2') },
      ...POLICY.map((policy) => ({ kind: 'upsert-policy' as const, policy })),
    ]);
    await dataplane.apply({ policy: diff, attach: [{ key: 'x/b', hostInterface: 'vb' }] });
    const proxied = [...kernel.policyMap.entries()].filter(([, v]) => v.verdict === 3);
    expect(proxied.map(([k]) => [k.data.direction, k.data.protocol, k.data.port, k.prefixLen])).toEqual([[0, 6, 80, 96]]);
    const [key, value] = proxied[0] ?? [];
    if (key === undefined || value === undefined) throw new Error('no proxy entry');
    const { entry } = decodePolicyEntry(key, value);
    expect(entry.verdict).toBe('proxy');
    expect(encodePolicyEntry(12, entry)).toEqual([key, value]);
    expect(await dataplane.status()).toEqual({ driver: 'ebpf', endpoints: [{ key: 'x/b', hostInterface: 'vb', programmed: true }], drift: [] });

    const events: EbpfFlowEvent[] = [];
    dataplane.readFlows({ events: (batch) => void events.push(...batch), lost: () => undefined, error: (e) => { throw e; } });
    const ring = kernel.ring as FakeRing;
    const syn = { protocol: 6, family: 4, destinationPort: 80, source: addressBytes('10.0.0.1'), destination: addressBytes('10.0.0.2'), identity: key.data.identity, endpoint: 12, rule: value.rule, tcpFlags: 2 };
    // TW_VERDICT_DENY with TW_REASON_NOT_PROXIED, then one the proxy's mark admitted.
    ring.event({ ...syn, verdict: 2, reason: 3 });
    ring.event({ ...syn, verdict: 1, reason: 0 });
    ring.wake();
    expect(events.map((e) => [e.verdict, e.reason, e.dropCause, e.rule === undefined ? undefined : dataplane.describeRule(e.rule.id)])).toEqual([
      ['deny', 'policy', 'not-proxied', 'CiliumNetworkPolicy x/b-http ingress rule 0 (tier default)'],
      ['allow', 'policy', undefined, 'CiliumNetworkPolicy x/b-http ingress rule 0 (tier default)'],
    ]);

    // A restart with the same marks finds the kernel in step; one without them rewrites those entries as allow.
    const again = new EbpfDataplane({ kernel, now: () => 0, l7Mark: MARK });
    expect((await again.apply({ policy: { changed: index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] })), removed: [], ipcache: { set: index.ipIdentities(), removed: [] } }, attach: [{ key: 'x/b', hostInterface: 'vb' }] })).endpoints).toBe(0);
    const plain = new EbpfDataplane({ kernel, now: () => 0 });
    await plain.apply({ policy: { changed: index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] })), removed: [], ipcache: { set: index.ipIdentities(), removed: [] } }, attach: [{ key: 'x/b', hostInterface: 'vb' }] });
    expect([...kernel.policyMap.entries()].some(([, v]) => v.verdict === 3)).toBe(false);
  });
});
