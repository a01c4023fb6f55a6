// The nftables driver against the kernel: a restart keeps enforcing (a long-lived
// allowed connection survives, a denied one stays denied), fail-closed attachment,
// drift reported by status(), and cleanup() leaving no table.

import { execFileSync } from 'node:child_process';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { compileNetworkPolicy, parseNetworkPolicy, PolicyIndex, type Endpoint, type PolicyIndexDiff } from '@twill/policy-engine';
import { rootSkipReason } from '@twill/sys/testing';

import { createNftablesDataplane } from '../../../src/dataplane/nftables/index.js';
import { DataplaneLab } from '../harness/index.js';

const reason = rootSkipReason('creates network namespaces and nft tables');

const pod = (name: string, ip: string): Endpoint => ({ kind: 'workload', namespace: 'x', name, labels: { pod: name }, ips: [ip] });
const PODS = [pod('a', '10.1.1.1'), pod('b', '10.1.1.2'), pod('c', '10.1.1.3')];

// x/b accepts TCP/80 from x/a only.
const ONLY_A_TO_B = compileNetworkPolicy(parseNetworkPolicy({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'only-a', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ port: 80 }] }] },
}));

/** The whole state of an index as one diff: what a new driver instance's first apply carries. */
function fullState(index: PolicyIndex): PolicyIndexDiff {
  return {
    changed: index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] as const })),
    removed: [],
    ipcache: { set: index.ipIdentities(), removed: [] },
  };
}

const tables = (netns: string): string => execFileSync('ip', ['netns', 'exec', netns, 'nft', 'list', 'tables'], { encoding: 'utf8' });

describe.skipIf(reason)(`nftables driver as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: DataplaneLab;
  let index: PolicyIndex;
  beforeEach(async () => {
    lab = await DataplaneLab.create({ pods: PODS.map((p) => ({ key: `x/${p.name}`, ip: p.ips[0] as string })), ports: [80] });
    index = new PolicyIndex();
  });
  afterEach(() => lab.close());

  const tcp = (from: string, to: string, timeoutMs = 1500) => lab.attempt({ from, to, port: 80, protocol: 'TCP' }, timeoutMs);

  it('keeps enforcing while the process that owns the dataplane is replaced', async () => {
    const first = await createNftablesDataplane({ netns: lab.node });
    await first.apply({ policy: index.apply([...PODS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })), { kind: 'upsert-policy', policy: ONLY_A_TO_B }]), attach: lab.attachments() });
    const held = await lab.hold('x/a', 'x/b', 80);
    expect(await tcp('x/c', 'x/b')).toBe(false);

    // A denied client retries all along, from before the old owner goes until after the new one has synchronised.
    let retrying = true;
    let tries = 0;
    const leaks: number[] = [];
    const retries = (async () => {
      while (retrying) {
        tries += 1;
        if (await tcp('x/c', 'x/b', 150)) leaks.push(tries);
      }
    })();
    // Counted in attempts, not time, so a slow machine only makes the window longer.
    const triesReach = async (count: number): Promise<void> => {
      while (tries < count) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await triesReach(2);
    try {
      // The first instance is gone without cleanup, as after SIGKILL; the second adopts the table.
      const second = await createNftablesDataplane({ netns: lab.node });
      expect((await second.status()).drift).toEqual(['adopted table not yet synchronised (no apply since start)']);
      expect(await held.echo()).toBe(true);
      const report = await second.apply({ policy: fullState(index), attach: lab.attachments() });
      expect(report.endpoints).toBe(3);
      const status = await second.status();
      expect(status.drift).toEqual([]);
      expect(status.endpoints.map((e) => [e.key, e.programmed])).toEqual([['x/a', true], ['x/b', true], ['x/c', true]]);
      expect(await held.echo()).toBe(true);
      expect(await tcp('x/a', 'x/b')).toBe(true);
      await triesReach(tries + 2);
    } finally {
      retrying = false;
      await retries;
    }
    expect(leaks).toEqual([]);
    await held.close();
  });

  it('keeps a connection opened while allowed after the policy stops allowing it; new ones are denied', async () => {
    // x/a accepts nothing, so x/b's answers reach it only as the tracked connection's replies.
    const aIsolated = compileNetworkPolicy(parseNetworkPolicy({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'a-isolated', namespace: 'x' },
      spec: { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'] },
    }));
    const onlyCToB = compileNetworkPolicy(parseNetworkPolicy({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'only-a', namespace: 'x' },
      spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }], ports: [{ port: 80 }] }] },
    }));
    const dataplane = await createNftablesDataplane({ netns: lab.node });
    await dataplane.apply({
      policy: index.apply([...PODS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })), { kind: 'upsert-policy', policy: ONLY_A_TO_B }, { kind: 'upsert-policy', policy: aIsolated }]),
      attach: lab.attachments(),
    });
    const held = await lab.hold('x/a', 'x/b', 80);
    expect(await held.echo()).toBe(true);
    expect([await tcp('x/c', 'x/b', 500), await tcp('x/b', 'x/a', 500)]).toEqual([false, false]);

    // The same policy (by name) now lets c in instead of a.
    await dataplane.apply({ policy: index.upsertPolicy(onlyCToB) });
    expect(await tcp('x/c', 'x/b'), 'the change is in force').toBe(true);
    expect(await tcp('x/a', 'x/b', 500), 'a new connection from a').toBe(false);
    expect(await held.echo(), 'the connection opened before the change').toBe(true);
    expect(await held.echo()).toBe(true);
    await held.close();
    expect(await tcp('x/a', 'x/b', 500), 'after it closed, a is denied like any new connection').toBe(false);
    await dataplane.cleanup();
  });

  it('drops everything of an attached endpoint whose rules are not known yet, until they come', async () => {
    const dataplane = await createNftablesDataplane({ netns: lab.node });
    const known = PODS.filter((p) => p.name !== 'c');
    await dataplane.apply({ policy: index.apply(known.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint }))), attach: lab.attachments() });
    expect([await tcp('x/a', 'x/c', 500), await tcp('x/c', 'x/a', 500), await tcp('x/a', 'x/b')]).toEqual([false, false, true]);
    expect((await dataplane.status()).endpoints.find((e) => e.key === 'x/c')?.programmed).toBe(false);
    await dataplane.apply({ policy: index.upsertEndpoint(PODS[2] as Endpoint) });
    expect([await tcp('x/a', 'x/c'), await tcp('x/c', 'x/a')]).toEqual([true, true]);
    await dataplane.cleanup();
  });

  it('makes the table exact again when a change refused by the kernel follows a change behind its back', async () => {
    const dataplane = await createNftablesDataplane({ netns: lab.node });
    await dataplane.apply({ policy: index.apply([...PODS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })), { kind: 'upsert-policy', policy: ONLY_A_TO_B }]), attach: lab.attachments() });
    const b = lab.pod('x/b').hostInterface;
    execFileSync('ip', ['netns', 'exec', lab.node, 'nft', 'delete', 'element', 'inet', 'twill', 'ep_ingress', `{ "${b}" }`]);
    expect(await tcp('x/c', 'x/b')).toBe(true); // the hand-made hole

    // Detaching x/b deletes its map element, which the delta expects to find: the kernel refuses the
    // delta, and the driver makes the table exact from a read-back instead of failing from now on.
    const empty = { changed: [], removed: [], ipcache: { set: [], removed: [] } };
    const report = await dataplane.apply({ policy: empty, detach: ['x/b'] });
    expect(report.operations).toBeGreaterThan(0);
    expect((await dataplane.status()).drift).toEqual([]);
    await dataplane.apply({ policy: empty, attach: lab.attachments().filter((a) => a.key === 'x/b') });
    expect((await dataplane.status()).drift).toEqual([]);
    expect(await tcp('x/c', 'x/b')).toBe(false);
    expect(await tcp('x/a', 'x/b')).toBe(true);
    await dataplane.cleanup();
  });

  it('reports drift when the table is changed behind its back, and cleanup leaves no table', async () => {
    const dataplane = await createNftablesDataplane({ netns: lab.node });
    await dataplane.apply({ policy: index.apply([...PODS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })), { kind: 'upsert-policy', policy: ONLY_A_TO_B }]), attach: lab.attachments() });
    const b = lab.pod('x/b').hostInterface;
    execFileSync('ip', ['netns', 'exec', lab.node, 'nft', 'delete', 'element', 'inet', 'twill', 'ep_ingress', `{ "${b}" }`]);
    const status = await dataplane.status();
    expect(status.drift).toEqual([expect.stringMatching(new RegExp(`^ingress map: ${b} should jump to ep_x_b_[0-9a-f]{8}_in, kernel has nothing$`))]);
    expect(status.endpoints.find((e) => e.key === 'x/b')?.programmed).toBe(false);
    expect(tables(lab.node)).toContain('table inet twill');
    await dataplane.cleanup();
    expect(tables(lab.node)).not.toContain('twill');
    await dataplane.cleanup();
  });
});
