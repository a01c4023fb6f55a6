import { describe, expect, it } from 'vitest';

import { encodeLayout } from '@twill/ebpf';
import { type BpfPolicyEntry } from '@twill/policy-engine';

import { decodeIpKey, decodePolicyEntry, encodeIpKey, encodePolicyEntry, IP_KEY, POLICY_KEY, POLICY_VALUE } from '../../../src/dataplane/ebpf/layout.js';

describe('eBPF map layouts', () => {
  it('encodes a policy entry as struct tw_policy_key and tw_policy_value (policy.h)', () => {
    const entry: BpfPolicyEntry = { direction: 'egress', identity: 0x01020304, protocol: 6, port: 80, portBits: 16, verdict: 'deny', rule: 7 };
    const [key, value] = encodePolicyEntry(3, entry);
    // prefixlen 96 (host order); endpoint 3 and identity (host order); direction 1, protocol 6; port 80 big-endian.
    expect([...encodeLayout(POLICY_KEY, key)]).toEqual([96, 0, 0, 0, 3, 0, 0, 0, 4, 3, 2, 1, 1, 6, 0, 80]);
    expect([...encodeLayout(POLICY_VALUE, value)]).toEqual([7, 0, 0, 0, 2, 0, 0, 0]);
    expect(decodePolicyEntry(key, value)).toEqual({ ifindex: 3, entry });
  });

  it('puts "any protocol" at prefix 72 and a port range prefix between 80 and 96', () => {
    const any: BpfPolicyEntry = { direction: 'ingress', identity: 0, port: 0, portBits: 0, verdict: 'allow', rule: 0 };
    const range: BpfPolicyEntry = { direction: 'ingress', identity: 300, protocol: 17, port: 1024, portBits: 6, verdict: 'allow', rule: 2 };
    expect(encodePolicyEntry(9, any)[0].prefixLen).toBe(72);
    expect(encodePolicyEntry(9, range)[0].prefixLen).toBe(86);
    for (const entry of [any, range]) expect(decodePolicyEntry(...encodePolicyEntry(9, entry)).entry).toEqual(entry);
  });

  it('encodes ipcache prefixes as struct tw_ip_key, and reads them back canonical', () => {
    const v4 = encodeIpKey('10.1.0.0/16');
    expect([...encodeLayout(IP_KEY, v4)]).toEqual([24, 0, 0, 0, 4, 10, 1, ...Array<number>(14 + 3).fill(0)]);
    expect(decodeIpKey(v4)).toBe('10.1.0.0/16');
    expect(decodeIpKey(encodeIpKey('fd00:0:0::5/128'))).toBe('fd00::5/128');
    expect(encodeIpKey('fd00::/8').prefixLen).toBe(16);
  });

  it.each(['10.0.0.1', '10.0.0.0/33', 'fd00::/129', 'nonsense'])('refuses %s as an ipcache prefix', (text) => {
    expect(() => encodeIpKey(text)).toThrow(`not a CIDR: ${JSON.stringify(text)}`);
  });
});
