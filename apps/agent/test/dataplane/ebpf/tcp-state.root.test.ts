// The eBPF connection tracker follows TCP: only a SYN opens a connection, so a packet
// that looks like a reply (an ACK or a SYN-ACK a pod sends on its own) never lets the
// other side in through the reversed tuple.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compileNetworkPolicy, parseNetworkPolicy, PolicyIndex } from '@twill/policy-engine';
import { rootSkipReason } from '@twill/sys/testing';

import { createEbpfDataplane, DEFAULT_OBJECT_PATH } from '../../../src/dataplane/ebpf/index.js';
import { DataplaneLab } from '../harness/index.js';
import { mountPrivateBpffs, type PrivateBpffs } from './bpffs.js';

const reason = rootSkipReason('creates network namespaces, loads eBPF programs and mounts bpffs')
  ?? (existsSync(DEFAULT_OBJECT_PATH) ? undefined : `no ${DEFAULT_OBJECT_PATH}: run npm run build:bpf`);

// One TCP segment with the given flags from a raw socket (the kernel writes the IP header).
const SEND_SEGMENT = `
import socket, struct, sys
src, dst, sport, dport, flags = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
tcp = struct.pack('!HHIIBBHHH', sport, dport, 1000, 1000, 5 << 4, flags, 64240, 0, 0)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(tcp))
words = struct.unpack('!%dH' % ((len(pseudo) + len(tcp)) // 2), pseudo + tcp)
total = sum(words)
while total >> 16:
    total = (total & 0xffff) + (total >> 16)
tcp = tcp[:16] + struct.pack('!H', ~total & 0xffff) + tcp[18:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.sendto(tcp, (dst, 0))
`;

/** x/b takes nothing in (an Ingress policy without rules); its egress is open. */
const ISOLATE_B = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'b-isolated', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Ingress'] },
};

const TCP_FLAGS = { ACK: 0x10, SYN_ACK: 0x12 } as const;

describe.skipIf(reason)(`eBPF connection tracking of TCP as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let bpffs: PrivateBpffs;
  beforeAll(() => {
    bpffs = mountPrivateBpffs();
  });
  afterAll(() => bpffs.close());

  it.each(Object.entries(TCP_FLAGS))('a %s sent by a pod on its own opens nothing for the other side', async (_, flags) => {
    const lab = await DataplaneLab.create({ pods: [{ key: 'x/a', ip: '10.79.0.1' }, { key: 'x/b', ip: '10.79.0.2' }], ports: [80] });
    const dataplane = await createEbpfDataplane({ netns: lab.node, pinRoot: bpffs.pinRoot() });
    try {
      const index = new PolicyIndex();
      const diff = index.apply([
        { kind: 'upsert-namespace', namespace: { name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } } },
        ...lab.pods.map((p) => ({ kind: 'upsert-endpoint' as const, endpoint: { kind: 'workload' as const, namespace: 'x', name: p.key.slice(2), labels: { pod: p.key.slice(2) }, ips: [p.ip] } })),
        { kind: 'upsert-policy', policy: compileNetworkPolicy(parseNetworkPolicy(ISOLATE_B)) },
      ]);
      await dataplane.apply({ policy: diff, attach: lab.attachments() });
      const a = lab.pod('x/a');
      const b = lab.pod('x/b');
      const sourcePort = 41000 + Math.floor(Math.random() * 1000);
      expect(await lab.attempt({ from: 'x/a', to: 'x/b', port: 80, protocol: 'TCP' }, 500)).toBe(false);
      // b (whose egress is open) sends a segment as if it answered a:sourcePort from port 80.
      execFileSync('ip', ['netns', 'exec', b.netns, 'python3', '-c', SEND_SEGMENT, b.ip, a.ip, '80', String(sourcePort), String(flags)]);
      expect(await lab.attempt({ from: 'x/a', to: 'x/b', port: 80, protocol: 'TCP' }, 500, sourcePort), 'a connects from the port b wrote to').toBe(false);
      // The allowed direction still works both ways: b connects to a and gets its replies.
      expect(await lab.attempt({ from: 'x/b', to: 'x/a', port: 80, protocol: 'TCP' }, 2000)).toBe(true);
    } finally {
      await dataplane.cleanup();
      lab.close();
    }
  }, 60_000);
});
