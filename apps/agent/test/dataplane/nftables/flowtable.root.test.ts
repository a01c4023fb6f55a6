// The nftables driver's flowtable fast path against the kernel: an allowed long-lived TCP
// connection is offloaded (its packets stop reaching the forward hook), a denied one never
// gets through, a detached endpoint's interface leaves the flowtable, cleanup() leaves no
// flowtable; and where the kernel has no flowtables, asking for one changes nothing but
// status().

import { execFileSync, spawnSync } from 'node:child_process';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { compileNetworkPolicy, parseNetworkPolicy, PolicyIndex, type Endpoint } from '@twill/policy-engine';
import { rootSkipReason } from '@twill/sys/testing';

import { createNftablesDataplane } from '../../../src/dataplane/nftables/index.js';
import { DataplaneLab } from '../harness/index.js';

const reason = rootSkipReason('creates network namespaces and nft tables');

/** Whether this kernel has nftables flowtables (CONFIG_NF_FLOW_TABLE): a check-mode transaction in a throwaway namespace. */
function kernelHasFlowtables(): boolean {
  const name = `twftprobe${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  try {
    return spawnSync('ip', ['netns', 'exec', name, 'nft', '-c', '-f', '-'], { input: 'add table inet twprobe\nadd flowtable inet twprobe ft { hook ingress priority filter; }\n' }).status === 0;
  } finally {
    execFileSync('ip', ['netns', 'del', name]);
  }
}
const flowtables = reason === undefined && kernelHasFlowtables();
const noFlowtables = 'this kernel has no nftables flowtables (CONFIG_NF_FLOW_TABLE)';

const pod = (name: string, ip: string): Endpoint => ({ kind: 'workload', namespace: 'x', name, labels: { pod: name }, ips: [ip] });
const PODS = [pod('a', '10.1.2.1'), pod('b', '10.1.2.2'), pod('c', '10.1.2.3')];

// x/b accepts TCP/80 from x/a only.
const ONLY_A_TO_B = compileNetworkPolicy(parseNetworkPolicy({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'only-a', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ port: 80 }] }] },
}));

describe.skipIf(reason)(`nftables driver's flowtable as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: DataplaneLab;
  let index: PolicyIndex;
  beforeEach(async () => {
    lab = await DataplaneLab.create({ pods: PODS.map((p) => ({ key: `x/${p.name}`, ip: p.ips[0] as string })), ports: [80] });
    index = new PolicyIndex();
  });
  afterEach(() => lab.close());

  const inNode = (...args: string[]): string => execFileSync('ip', ['netns', 'exec', lab.node, ...args], { encoding: 'utf8' });
  const tcp = (from: string, to: string, timeoutMs = 1500) => lab.attempt({ from, to, port: 80, protocol: 'TCP' }, timeoutMs);
  const allPods = () => index.apply([...PODS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })), { kind: 'upsert-policy', policy: ONLY_A_TO_B }]);

  it.skipIf(flowtables)(`runs without a flowtable where the kernel has none, and says why${flowtables ? ' (skipped: this kernel has flowtables)' : ''}`, async () => {
    const dataplane = await createNftablesDataplane({ netns: lab.node, flowtable: true });
    await dataplane.apply({ policy: allPods(), attach: lab.attachments() });
    const status = await dataplane.status();
    expect(status.drift).toEqual([]);
    expect(status.flowtable).toEqual({ enabled: false, active: false, devices: 0, reason: expect.stringMatching(/^the kernel refused a flowtable \(built without CONFIG_NF_FLOW_TABLE\?\): /) });
    expect(inNode('nft', 'list', 'table', 'inet', 'twill')).not.toMatch(/flowtable|flow add/);
    expect([await tcp('x/a', 'x/b'), await tcp('x/c', 'x/b', 500)]).toEqual([true, false]);
    await dataplane.cleanup();
  });

  it.skipIf(!flowtables)(`offloads an allowed connection, never a denied one; a detached endpoint leaves the flowtable; cleanup leaves none${flowtables ? '' : ` (skipped: ${noFlowtables})`}`, async () => {
    const dataplane = await createNftablesDataplane({ netns: lab.node, flowtable: true });
    await dataplane.apply({ policy: allPods(), attach: lab.attachments() });
    expect((await dataplane.status()).flowtable).toEqual({ enabled: true, active: true, devices: 3 });
    // A table of the test's own counts the a → b packets that reach the forward hook: an offloaded flow's do not.
    const a = lab.pod('x/a');
    const b = lab.pod('x/b');
    execFileSync('ip', ['netns', 'exec', lab.node, 'nft', '-f', '-'], {
      input: `add table inet twtest\nadd chain inet twtest fwd { type filter hook forward priority 10; }\nadd rule inet twtest fwd ip saddr ${a.ip} ip daddr ${b.ip} tcp dport 80 counter\n`,
    });
    const counted = (): number => Number(/counter packets (\d+)/.exec(inNode('nft', 'list', 'chain', 'inet', 'twtest', 'fwd'))?.[1] ?? NaN);
    const held = await lab.hold('x/a', 'x/b', 80);
    for (let i = 0; i < 3; i += 1) expect(await held.echo()).toBe(true);
    const before = counted();
    for (let i = 0; i < 10; i += 1) expect(await held.echo()).toBe(true);
    expect(counted() - before, 'a → b packets of 10 echoes that took the forward path').toBeLessThan(3);

    // The denied connection never gets established, so there is nothing to offload: it stays denied.
    expect(await tcp('x/c', 'x/b', 500)).toBe(false);
    expect(await tcp('x/c', 'x/b', 500)).toBe(false);

    const c = lab.pod('x/c').hostInterface;
    await dataplane.apply({ policy: { changed: [], removed: [], ipcache: { set: [], removed: [] } }, detach: ['x/c'] });
    expect(inNode('nft', 'list', 'flowtable', 'inet', 'twill', 'ft_endpoints')).not.toContain(c);
    expect((await dataplane.status()).flowtable).toEqual({ enabled: true, active: true, devices: 2 });
    expect(await held.echo()).toBe(true);
    await held.close();
    await dataplane.cleanup();
    expect(inNode('nft', 'list', 'tables')).not.toContain('twill\n');
    expect(spawnSync('ip', ['netns', 'exec', lab.node, 'nft', 'list', 'flowtables'], { encoding: 'utf8' }).stdout).not.toContain('ft_endpoints');
  });

  it('turns a flowtable left by an earlier run off on the first apply of a driver without one', async () => {
    // The first driver makes the flowtable where the kernel has them (elsewhere there is none to adopt, and the second must make none).
    const first = await createNftablesDataplane({ netns: lab.node, flowtable: true });
    await first.apply({ policy: allPods(), attach: lab.attachments() });
    const second = await createNftablesDataplane({ netns: lab.node });
    await second.apply({ policy: { changed: index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] as const })), removed: [], ipcache: { set: index.ipIdentities(), removed: [] } }, attach: lab.attachments() });
    const status = await second.status();
    expect(status.drift).toEqual([]);
    expect(status.flowtable).toEqual({ enabled: false, active: false, devices: 0 });
    expect(inNode('nft', 'list', 'table', 'inet', 'twill')).not.toMatch(/flowtable|flow add/);
    await second.cleanup();
  });
});
