// The L7 proxy's marks under the eBPF dataplane (issue 14): an Allow with L7 rules admits
// a connection into the pod only when its packets carry one of the marks (here set by an
// nft rule in the node, as the proxy's upstream sockets carry theirs), and drops one
// without it as a policy drop of that rule; an L4-only Allow beside it is unaffected,
// and a start with other marks rewrites them in the pinned map without a reload.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compileCiliumPolicy, parseCiliumPolicy, PolicyIndex } from '@twill/policy-engine';
import { rootSkipReason } from '@twill/sys/testing';

import { createEbpfDataplane, DEFAULT_OBJECT_PATH, type EbpfFlowEvent } from '../../../src/dataplane/ebpf/index.js';
import { type DataplaneFlowEvent } from '../../../src/dataplane/port.js';
import { DataplaneLab } from '../harness/index.js';
import { mountPrivateBpffs, type PrivateBpffs } from './bpffs.js';

const reason = rootSkipReason('creates network namespaces, loads eBPF programs and mounts bpffs')
  ?? (existsSync(DEFAULT_OBJECT_PATH) ? undefined : `no ${DEFAULT_OBJECT_PATH}: run npm run build:bpf`);

/** x/b takes HTTP GETs from x/a on TCP 80 (L7) and anything from x/a on TCP 81 (L4 only). */
const POLICY = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'b-http', namespace: 'x' },
  spec: {
    endpointSelector: { matchLabels: { pod: 'b' } },
    ingress: [
      { fromEndpoints: [{ matchLabels: { pod: 'a' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] },
      { fromEndpoints: [{ matchLabels: { pod: 'a' } }], toPorts: [{ ports: [{ port: '81', protocol: 'TCP' }] }] },
    ],
  },
};

/** Cilium's values: the redirect's mark on a client's packets, the proxy's on its upstream connections. */
const MARK = { mask: 0xf00, values: [0x200, 0xa00] };

/** Marks forwarded TCP to port 80 with `mark` in the node (as the proxy's upstream sockets are), replacing any earlier rule. */
function markPort80(node: string, mark: number | undefined): void {
  const script = [
    'table inet twt_l7_mark {}',
    'delete table inet twt_l7_mark',
    ...(mark === undefined ? [] : [
      'table inet twt_l7_mark {',
      '  chain forward { type filter hook forward priority mangle; policy accept; }',
      '}',
      `add rule inet twt_l7_mark forward tcp dport 80 meta mark set 0x${mark.toString(16)}`,
    ]),
  ];
  execFileSync('ip', ['netns', 'exec', node, 'nft', '-f', '-'], { input: `${script.join('\n')}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
}

describe.skipIf(reason)(`eBPF dataplane: L7 allows admit only the proxy's marks, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let bpffs: PrivateBpffs;
  beforeAll(() => {
    bpffs = mountPrivateBpffs();
  });
  afterAll(() => bpffs.close());

  it('admits a marked connection, drops an unmarked one as a policy drop of the L7 rule, and follows new marks at the next start', async () => {
    const lab = await DataplaneLab.create({ pods: [{ key: 'x/a', ip: '10.78.0.1' }, { key: 'x/b', ip: '10.78.0.2' }], ports: [80, 81] });
    const pinRoot = bpffs.pinRoot();
    let dataplane = await createEbpfDataplane({ netns: lab.node, pinRoot, l7Mark: MARK });
    try {
      const index = new PolicyIndex();
      const diff = index.apply([
        { kind: 'upsert-namespace', namespace: { name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } } },
        ...lab.pods.map((p) => ({ kind: 'upsert-endpoint' as const, endpoint: { kind: 'workload' as const, namespace: 'x', name: p.key.slice(2), labels: { pod: p.key.slice(2) }, ips: [p.ip] } })),
        ...compileCiliumPolicy(parseCiliumPolicy(POLICY)).map((policy) => ({ kind: 'upsert-policy' as const, policy })),
      ]);
      await dataplane.apply({ policy: diff, attach: lab.attachments() });
      const events: DataplaneFlowEvent[] = [];
      const reader = dataplane.readFlows({ events: (batch) => void events.push(...batch), lost: () => undefined, error: (e) => { throw e; } });
      const to = (port: number) => ({ from: 'x/a', to: 'x/b', port, protocol: 'TCP' as const });

      // No mark: the L7 rule's port is dropped, the L4-only one beside it allowed.
      expect(await lab.attempt(to(80), 1000), 'unmarked to the L7 port').toBe(false);
      expect(await lab.attempt(to(81), 2000), 'unmarked to the L4-only port').toBe(true);
      // The proxy's upstream mark: admitted.
      markPort80(lab.node, 0xa00);
      expect(await lab.attempt(to(80), 2000), 'marked 0xa00').toBe(true);
      // A mark within the mask that is not the proxy's: dropped.
      markPort80(lab.node, 0x300);
      expect(await lab.attempt(to(80), 1000), 'marked 0x300').toBe(false);

      const drop = events.find((e) => e.verdict === 'deny' && e.destinationPort === 80 && e.direction === 'ingress') as EbpfFlowEvent | undefined;
      expect(drop?.reason).toBe('policy');
      expect(drop?.dropCause).toBe('not-proxied');
      expect(drop?.endpoint).toBe('x/b');
      expect(drop?.rule === undefined ? undefined : dataplane.describeRule(drop.rule.id)).toBe('CiliumNetworkPolicy x/b-http ingress rule 0 (tier default)');
      const admitted = events.find((e) => e.verdict === 'allow' && e.destinationPort === 80 && e.direction === 'ingress');
      expect(admitted?.rule === undefined ? undefined : dataplane.describeRule(admitted.rule.id)).toBe('CiliumNetworkPolicy x/b-http ingress rule 0 (tier default)');
      reader.close();

      // The next start with 0x300 among the marks: the running programs take it from the pinned map.
      dataplane = await createEbpfDataplane({ netns: lab.node, pinRoot, l7Mark: { mask: 0xf00, values: [0x300] } });
      await dataplane.apply({
        policy: { changed: index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] })), removed: [], ipcache: { set: index.ipIdentities(), removed: [] } },
        attach: lab.attachments(),
      });
      expect(await lab.attempt(to(80), 2000), 'marked 0x300 after the restart').toBe(true);
      markPort80(lab.node, 0xa00);
      expect(await lab.attempt(to(80), 1000), 'marked 0xa00 after the restart').toBe(false);
    } finally {
      await dataplane.cleanup();
      lab.close();
    }
  }, 60_000);
});
