// What a policy change does to connections already open (README, "eBPF dataplane": a
// packet of a connection this endpoint allowed, or a reply to one, passes): a long-lived
// TCP connection opened while policy allowed it keeps carrying data both ways after the
// policy stops allowing it, while every new connection on the same path is denied. The
// client's own ingress is isolated, so the server's answers pass only as replies of the
// tracked connection.

import { existsSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compileNetworkPolicy, parseNetworkPolicy, PolicyIndex, type Endpoint } from '@twill/policy-engine';
import { rootSkipReason } from '@twill/sys/testing';

import { createEbpfDataplane, DEFAULT_OBJECT_PATH } from '../../../src/dataplane/ebpf/index.js';
import { DataplaneLab } from '../harness/index.js';
import { mountPrivateBpffs, type PrivateBpffs } from './bpffs.js';

const reason = rootSkipReason('creates network namespaces, loads eBPF programs and mounts bpffs')
  ?? (existsSync(DEFAULT_OBJECT_PATH) ? undefined : `no ${DEFAULT_OBJECT_PATH}: run npm run build:bpf`);

const pod = (name: string, ip: string): Endpoint => ({ kind: 'workload', namespace: 'x', name, labels: { pod: name }, ips: [ip] });
const PODS = [pod('a', '10.81.0.1'), pod('b', '10.81.0.2'), pod('c', '10.81.0.3')];

/** x/b accepts TCP/80 from the pod named `from` only. */
const serverAccepts = (from: string) => compileNetworkPolicy(parseNetworkPolicy({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'b-ingress', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: from } } }], ports: [{ port: 80 }] }] },
}));

/** x/a accepts nothing: what reaches it is a reply of a connection it opened, or nothing. */
const CLIENT_ISOLATED = compileNetworkPolicy(parseNetworkPolicy({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'a-isolated', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'] },
}));

describe.skipIf(reason)(`eBPF dataplane: connections open before a policy change, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let bpffs: PrivateBpffs;
  beforeAll(() => {
    bpffs = mountPrivateBpffs();
  });
  afterAll(() => bpffs.close());

  it('keeps a connection opened while allowed after the policy stops allowing it; new ones are denied', async () => {
    const lab = await DataplaneLab.create({ pods: PODS.map((p) => ({ key: `x/${p.name}`, ip: p.ips[0] as string })), ports: [80] });
    const dataplane = await createEbpfDataplane({ netns: lab.node, pinRoot: bpffs.pinRoot() });
    const tcp = (from: string, to: string, timeoutMs = 1500) => lab.attempt({ from, to, port: 80, protocol: 'TCP' }, timeoutMs);
    try {
      const index = new PolicyIndex();
      await dataplane.apply({
        policy: index.apply([
          { kind: 'upsert-namespace', namespace: { name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } } },
          ...PODS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })),
          { kind: 'upsert-policy', policy: serverAccepts('a') },
          { kind: 'upsert-policy', policy: CLIENT_ISOLATED },
        ]),
        attach: lab.attachments(),
      });
      const held = await lab.hold('x/a', 'x/b', 80);
      expect(await held.echo()).toBe(true);
      expect(await tcp('x/c', 'x/b', 500), 'c is not allowed yet').toBe(false);
      expect(await tcp('x/b', 'x/a', 500), 'a accepts nothing').toBe(false);

      await dataplane.apply({ policy: index.upsertPolicy(serverAccepts('c')) });
      expect(await tcp('x/c', 'x/b'), 'the change is in force').toBe(true);
      expect(await tcp('x/a', 'x/b', 500), 'a new connection from a').toBe(false);
      // Data both ways on the connection opened before: a's packets at b's ingress, and b's answers at a's isolated ingress.
      expect(await held.echo(), 'the connection opened before the change').toBe(true);
      expect(await held.echo()).toBe(true);
      await held.close();
      expect(await tcp('x/a', 'x/b', 500), 'after it closed, a is denied like any new connection').toBe(false);
    } finally {
      await dataplane.cleanup();
      lab.close();
    }
  }, 60_000);
});
