import { describe, expect, it } from 'vitest';

import { blocksByNode, describeDecision, describeWhyHeld, formatUptime, poolUtilisation } from '../../../src/app/model/format.js';

describe('view formatting', () => {
  it('says uptime in the largest two units', () => {
    expect([formatUptime(undefined), formatUptime(42), formatUptime(125), formatUptime(7260), formatUptime(3 * 86400 + 4 * 3600)]).toEqual(['—', '42s', '2m 5s', '2h 1m', '3d 4h']);
  });

  it('computes pool utilisation exactly, IPv6 sizes too', () => {
    expect(poolUtilisation({ allocated: '1', size: '8' })).toBe('12.5%');
    expect(poolUtilisation({ allocated: '0', size: '0' })).toBe('0%');
    expect(poolUtilisation({ allocated: '18446744073709551616', size: '36893488147419103232' })).toBe('50.0%');
  });

  it('groups blocks by node, the unclaimed ones under (no node)', () => {
    const blocks = [
      { cidr: '10.0.0.64/26', pool: 'p', affinity: 'n1', allocated: 1, free: 63, handles: 1 },
      { cidr: '10.0.0.0/26', pool: 'p', affinity: 'n1', allocated: 1, free: 63, handles: 1 },
      { cidr: '10.0.1.0/26', pool: 'p', allocated: 0, free: 64, handles: 0 },
    ];
    expect(blocksByNode(blocks).map(([node, list]) => [node, list.map((b) => b.cidr)])).toEqual([
      ['(no node)', ['10.0.1.0/26']],
      ['n1', ['10.0.0.0/26', '10.0.0.64/26']],
    ]);
  });

  it('says why an address is held, in words', () => {
    expect(
      describeWhyHeld({ state: 'allocated', ip: '10.0.0.5', pool: 'default', block: '10.0.0.0/26', handle: 'k8s-pod-network.c1', containerId: 'c1', ifName: 'eth0', node: 'n1', namespace: 'x', pod: 'a', since: '2026-01-01T00:00:00.000Z' }),
    ).toBe('10.0.0.5 is held by pod x/a on node n1 (handle k8s-pod-network.c1, interface eth0) since 2026-01-01T00:00:00.000Z, in block 10.0.0.0/26 of pool default.');
    expect(describeWhyHeld({ state: 'outside-pools', ip: '1.2.3.4' })).toBe('1.2.3.4 is in none of the pools.');
    expect(describeWhyHeld({ state: 'free', ip: '10.0.0.9', pool: 'default', block: '10.0.0.0/26', claimed: false })).toBe('10.0.0.9 is free: nobody holds it (block 10.0.0.0/26 of pool default, not claimed by a node).');
  });

  it("words a decision as twill policy explain's DECIDED BY column", () => {
    expect(describeDecision({ direction: 'ingress', reason: 'rule', endpoint: 'y/b', policy: { kind: 'NetworkPolicy', namespace: 'y', name: 'allow' }, rule: 'spec.ingress[0]' })).toBe('ingress: NetworkPolicy y/allow spec.ingress[0]');
    expect(describeDecision({ direction: 'ingress', reason: 'isolated', endpoint: 'y/b', isolatedBy: [{ kind: 'NetworkPolicy', namespace: 'y', name: 'deny' }] })).toBe('ingress: isolated by NetworkPolicy y/deny');
    expect(describeDecision({ direction: 'egress', reason: 'not-selected', endpoint: 'x/a' })).toBe('egress: no policy selects x/a');
  });
});
