// A local pod's ingress policy decides before the node's L7 redirect (issue 14): a tproxy
// rule in the node (as the agent's redirect has, at prerouting) sends TCP 8080 of x/c to a
// transparent listener of the node; x/c takes 8080 from x/a only, with an HTTP rule (the
// `proxy` verdict). x/a's connection reaches the listener; x/b's SYN is dropped at its own
// veth, before prerouting, as a drop of x/c's ingress (no handshake with the listener), and
// the flow says so: x/c, ingress, the isolation's default deny.

import { execFileSync } from 'node:child_process';
import { closeSync, existsSync } from 'node:fs';
import * as net from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compileCiliumPolicy, parseCiliumPolicy, PolicyIndex } from '@twill/policy-engine';
import { openTransparentListener } from '@twill/sys';
import { rootSkipReason } from '@twill/sys/testing';

import { createEbpfDataplane, DEFAULT_OBJECT_PATH, type EbpfFlowEvent } from '../../../src/dataplane/ebpf/index.js';
import { type DataplaneFlowEvent } from '../../../src/dataplane/port.js';
import { DataplaneLab } from '../harness/index.js';
import { mountPrivateBpffs, type PrivateBpffs } from './bpffs.js';

const reason = rootSkipReason('creates network namespaces, loads eBPF programs and mounts bpffs')
  ?? (existsSync(DEFAULT_OBJECT_PATH) ? undefined : `no ${DEFAULT_OBJECT_PATH}: run npm run build:bpf`);

const C_IP = '10.79.0.3';
const PROXY_PORT = 15001;

/** x/c takes HTTP GETs from x/a on TCP 8080, and nothing else. */
const POLICY = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'c-http', namespace: 'x' },
  spec: {
    endpointSelector: { matchLabels: { pod: 'c' } },
    ingress: [
      { fromEndpoints: [{ matchLabels: { pod: 'a' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] },
    ],
  },
};

/** The redirect's mark and the proxy's, as the agent's defaults. */
const MARK = { mask: 0xf00, values: [0x200, 0xa00] };

/** A tproxy of TCP to x/c:8080 to the node's port 15001, with the routing that delivers it locally (as the agent's L7 redirect). */
function divert(node: string): void {
  const script = [
    'table inet twt_l7_divert {',
    '  chain prerouting {',
    '    type filter hook prerouting priority dstnat + 10; policy accept;',
    `    ip daddr ${C_IP} tcp dport 8080 tproxy ip to :${PROXY_PORT} meta mark set meta mark & 0xfffff0ff | 0x200 accept`,
    '  }',
    '}',
  ];
  execFileSync('ip', ['netns', 'exec', node, 'nft', '-f', '-'], { input: `${script.join('\n')}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  execFileSync('ip', ['-n', node, 'rule', 'add', 'fwmark', '0x200/0xf00', 'lookup', '2004', 'pref', '9'], { stdio: 'pipe' });
  execFileSync('ip', ['-n', node, 'route', 'add', 'local', 'default', 'dev', 'lo', 'table', '2004'], { stdio: 'pipe' });
}

describe.skipIf(reason)(`eBPF dataplane: a local pod's ingress policy before the L7 redirect, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let bpffs: PrivateBpffs;
  beforeAll(() => {
    bpffs = mountPrivateBpffs();
  });
  afterAll(() => bpffs.close());

  it('drops the SYN of a client the destination denies before the redirect, and lets the allowed one reach the listener', async () => {
    const lab = await DataplaneLab.create({
      pods: [{ key: 'x/a', ip: '10.79.0.1' }, { key: 'x/b', ip: '10.79.0.2' }, { key: 'x/c', ip: C_IP }],
      ports: [8080],
    });
    const dataplane = await createEbpfDataplane({ netns: lab.node, pinRoot: bpffs.pinRoot(), l7Mark: MARK });
    let server: net.Server | undefined;
    try {
      const accepted: string[] = [];
      const fd = openTransparentListener({ address: '0.0.0.0', port: PROXY_PORT, netns: lab.node });
      server = net.createServer((socket) => {
        accepted.push(`${socket.remoteAddress ?? '?'} -> ${socket.localAddress ?? '?'}:${socket.localPort ?? '?'}`);
        socket.destroy();
      });
      await new Promise<void>((resolve, reject) => {
        server?.once('error', (error) => {
          closeSync(fd);
          reject(error);
        });
        server?.listen({ fd }, resolve);
      });
      divert(lab.node);

      const index = new PolicyIndex();
      const diff = index.apply([
        { kind: 'upsert-namespace', namespace: { name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } } },
        ...lab.pods.map((p) => ({ kind: 'upsert-endpoint' as const, endpoint: { kind: 'workload' as const, namespace: 'x', name: p.key.slice(2), labels: { pod: p.key.slice(2) }, ips: [p.ip] } })),
        ...compileCiliumPolicy(parseCiliumPolicy(POLICY)).map((policy) => ({ kind: 'upsert-policy' as const, policy })),
      ]);
      await dataplane.apply({ policy: diff, attach: lab.attachments() });
      const events: DataplaneFlowEvent[] = [];
      const reader = dataplane.readFlows({ events: (batch) => void events.push(...batch), lost: () => undefined, error: (e) => { throw e; } });

      // x/b is denied by x/c's ingress: no handshake with the listener, the SYN goes unanswered.
      expect(await lab.attempt({ from: 'x/b', to: 'x/c', port: 8080, protocol: 'TCP' }, 1500), 'x/b -> x/c:8080').toBe(false);
      expect(accepted).toEqual([]);
      // x/a is allowed (the L7 Allow, before any mark): the listener takes its connection, with x/c's address.
      expect(await lab.attempt({ from: 'x/a', to: 'x/c', port: 8080, protocol: 'TCP' }, 3000), 'x/a -> x/c:8080').toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(accepted).toEqual([`10.79.0.1 -> ${C_IP}:8080`]);

      await new Promise((resolve) => setTimeout(resolve, 300));
      reader.close();
      // The drop is x/c's ingress, as x/c's own program would report it.
      const drop = events.find((e) => e.verdict === 'deny' && e.destinationPort === 8080) as EbpfFlowEvent | undefined;
      expect(drop?.endpoint).toBe('x/c');
      expect(drop?.direction).toBe('ingress');
      expect(drop?.reason).toBe('policy');
      expect(drop?.dropCause).toBeUndefined();
      expect(drop?.rule === undefined ? undefined : dataplane.describeRule(drop.rule.id)).toMatch(/^tier default default deny \(ingress, isolated by/);
      // x/b's own egress allowed it (x/b has no policy), as before.
      expect(events.some((e) => e.verdict === 'allow' && e.endpoint === 'x/b' && e.direction === 'egress' && e.destinationPort === 8080)).toBe(true);
      // Nothing of x/b's was dropped as not proxied: the SYN never got past its own veth.
      expect(events.filter((e) => (e as EbpfFlowEvent).dropCause === 'not-proxied')).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
      await dataplane.cleanup();
      lab.close();
    }
  }, 60_000);
});
