// PendingChange: diffs merged in order end where applying them one by one would, and a
// failed change put back goes out again beneath what came since.

import { describe, expect, it } from 'vitest';

import { type EndpointPolicyChange, type NumericIdentity, type PolicyIndexDiff } from '@twill/policy-engine';

import { PendingChange } from '../../../src/agent/controllers/policy-change.js';

const id = (n: number): NumericIdentity => n as NumericIdentity;

const rules = (name: string, identity: number, changed: readonly ('ingress' | 'egress')[]): EndpointPolicyChange => ({
  endpoint: { namespace: 'x', name },
  key: `x/${name}`,
  identity: id(identity),
  addresses: [],
  ingress: { tiers: [] },
  egress: { tiers: [] },
  changed,
});

const diff = (part: Partial<PolicyIndexDiff>): PolicyIndexDiff => ({ changed: [], removed: [], ipcache: { set: [], removed: [] }, ...part });

describe('PendingChange', () => {
  it('keeps the last word on each endpoint, address and attachment', () => {
    const pending = new PendingChange();
    expect(pending.empty).toBe(true);
    pending.merge({ policy: diff({ changed: [rules('a', 256, ['ingress']), rules('b', 257, ['ingress', 'egress'])], ipcache: { set: [{ prefix: '10.0.0.1', identity: id(256) }], removed: ['10.0.0.9'] } }), attach: [{ key: 'x/a', hostInterface: 'tw1' }] });
    pending.merge({
      policy: diff({ changed: [rules('a', 300, ['egress'])], removed: [{ namespace: 'x', name: 'b' }], ipcache: { set: [{ prefix: '10.0.0.9', identity: id(300) }], removed: ['10.0.0.1'] } }),
      detach: ['x/a'],
    });
    pending.merge({ policy: diff({}), attach: [{ key: 'x/a', hostInterface: 'tw2' }] });
    expect(pending.empty).toBe(false);
    const change = pending.take();
    expect(change.policy.changed.map((c) => [c.key, c.identity, c.changed])).toEqual([['x/a', 300, ['egress', 'ingress']]]);
    expect(change.policy.removed).toEqual([{ namespace: 'x', name: 'b' }]);
    expect(change.policy.ipcache).toEqual({ set: [{ prefix: '10.0.0.9', identity: id(300) }], removed: ['10.0.0.1'] });
    // Detached, then attached to its new interface: drivers detach first.
    expect([change.detach, change.attach]).toEqual([['x/a'], [{ key: 'x/a', hostInterface: 'tw2' }]]);
    expect(pending.empty).toBe(true);
  });

  it('an endpoint removed after a change is removed; changed after a removal, it is changed', () => {
    const pending = new PendingChange();
    pending.merge({ policy: diff({ changed: [rules('a', 256, ['ingress'])] }) });
    pending.merge({ policy: diff({ removed: [{ namespace: 'x', name: 'a' }] }) });
    pending.merge({ policy: diff({ removed: [{ namespace: 'x', name: 'b' }] }) });
    pending.merge({ policy: diff({ changed: [rules('b', 257, ['ingress', 'egress'])] }) });
    const change = pending.take();
    expect(change.policy.removed).toEqual([{ namespace: 'x', name: 'a' }]);
    expect(change.policy.changed.map((c) => c.key)).toEqual(['x/b']);
  });

  it('puts a failed change back beneath what was merged since', () => {
    const pending = new PendingChange();
    pending.merge({ policy: diff({ changed: [rules('a', 256, ['ingress'])] }), attach: [{ key: 'x/a', hostInterface: 'tw1' }] });
    const failed = pending.take();
    pending.merge({ policy: diff({ changed: [rules('a', 260, ['egress'])], ipcache: { set: [{ prefix: '10.0.0.1', identity: id(260) }], removed: [] } }) });
    pending.restore(failed);
    const retry = pending.take();
    expect(retry.policy.changed.map((c) => [c.key, c.identity, c.changed])).toEqual([['x/a', 260, ['egress', 'ingress']]]);
    expect(retry.attach).toEqual([{ key: 'x/a', hostInterface: 'tw1' }]);
    expect(retry.policy.ipcache.set).toEqual([{ prefix: '10.0.0.1', identity: id(260) }]);
  });
});
