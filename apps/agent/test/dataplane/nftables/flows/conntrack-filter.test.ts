// The conntrack event socket filter, run by a classic BPF interpreter (cbpf.ts) on the
// captured IPv4 event and on built IPv6 ones: kept exactly when the matched address is
// listed or inside a listed prefix; other messages, garbled ones and other types never.

import { describe, expect, it } from 'vitest';

import { compileConntrackFilter, MAX_FILTER_INSTRUCTIONS, type ConntrackFilterOptions } from '../../../../src/dataplane/nftables/flows/conntrack-filter.js';
import { encodeAttribute, encodeNfMessage } from '../../../../src/dataplane/nftables/flows/netlink.js';
import { runFilter } from './cbpf.js';
import { CT_NEW_TCP } from './fixtures.js';

const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const ipv6 = (text: string): Uint8Array => {
  const [head = '', tail = ''] = text.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const all = [...groups(head), ...Array.from({ length: 8 - groups(head).length - groups(tail).length }, () => 0), ...groups(tail)];
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
};

/** An IPCTNL_MSG_CT_NEW message with an IPv6 original tuple (TCP), as ctnetlink lays it out (nested flags set). */
function ctNewV6(source: string, destination: string, type = 0x100): Uint8Array {
  const ip = encodeAttribute(0x8001, concat(encodeAttribute(3, ipv6(source)), encodeAttribute(4, ipv6(destination))));
  const proto = encodeAttribute(0x8002, encodeAttribute(1, Uint8Array.of(6)));
  return encodeNfMessage({ type, flags: 0x600, seq: 0, family: 10, resourceId: 0, attributes: [encodeAttribute(0x8001, concat(ip, proto))] });
}

const kept = (options: Omit<ConntrackFilterOptions, 'littleEndian'>, message: Uint8Array): boolean =>
  runFilter(compileConntrackFilter({ ...options, littleEndian: true }), message) !== 0;

describe('conntrack event filter', () => {
  // CT_NEW_TCP: 10.1.1.1 -> 10.1.1.2.
  it.each([
    ['source', ['10.1.1.1'], [], true],
    ['source', ['10.1.1.2'], [], false],
    ['destination', ['10.1.1.2'], [], true],
    ['destination', ['10.9.9.9', '10.1.1.2', 'fd00::2'], [], true],
    ['destination', ['10.1.1.1', 'fd00::2'], [], false],
    ['source', [], ['10.1.0.0/16'], true],
    ['source', [], ['10.1.1.0/31'], true],
    ['source', [], ['10.1.1.2/31'], false],
    ['source', [], ['0.0.0.0/0'], true],
    ['source', [], ['::/0'], false],
    ['source', [], [], false],
  ] as const)('IPv4 event: %s in %j or %j is %s', (match, addresses, prefixes, expected) => {
    expect(kept({ match, addresses, prefixes }, CT_NEW_TCP)).toBe(expected);
  });

  it.each([
    ['source', ['fd00::1'], [], true],
    ['source', ['fd00::2'], [], false],
    ['destination', ['10.1.1.2', 'fd00:0:0:0::2'], [], true],
    // Only the last word differs.
    ['destination', ['fd00::3'], [], false],
    // Only the first word differs.
    ['destination', ['fd01::2'], [], false],
    ['source', [], ['fd00::/64'], true],
    ['source', [], ['fd00::/127'], true],
    ['source', [], ['fd00::2/127'], false],
    ['source', [], ['fd00:0:0:1::/64'], false],
    ['source', [], ['fc00::/7'], true],
    ['source', [], ['0.0.0.0/0'], false],
  ] as const)('IPv6 event fd00::1 -> fd00::2: %s in %j or %j is %s', (match, addresses, prefixes, expected) => {
    expect(kept({ match, addresses, prefixes }, ctNewV6('fd00::1', 'fd00::2'))).toBe(expected);
  });

  it('keeps only IPCTNL_MSG_CT_NEW, in host byte order, and never a garbled message', () => {
    const options = { match: 'source', addresses: ['10.1.1.1', 'fd00::1'] } as const;
    // IPCTNL_MSG_CT_DELETE (2) of the same connection.
    expect(kept(options, ctNewV6('fd00::1', 'fd00::2', 0x102))).toBe(false);
    const bigEndian = compileConntrackFilter({ ...options, littleEndian: false });
    expect(runFilter(bigEndian, CT_NEW_TCP)).toBe(0);
    // Every cut of the message: discarded (an attribute's length lies, or an address is missing), never a throw.
    for (let cut = 16; cut < 72; cut += 1) {
      const message = Uint8Array.from(CT_NEW_TCP.subarray(0, cut));
      expect(kept(options, message), `cut at ${cut}`).toBe(false);
    }
    expect(kept(options, Uint8Array.from(CT_NEW_TCP))).toBe(true);
  });

  it('refuses what is not an address or prefix, and more than the kernel takes', () => {
    expect(() => compileConntrackFilter({ match: 'source', addresses: ['10.1.1.0/24'], littleEndian: true })).toThrowError('conntrack event filter: address "10.1.1.0/24" is not an IPv4 or IPv6 address');
    expect(() => compileConntrackFilter({ match: 'source', addresses: ['pod-a'], littleEndian: true })).toThrowError('conntrack event filter: address "pod-a" is not an IPv4 or IPv6 address');
    expect(() => compileConntrackFilter({ match: 'source', addresses: [], prefixes: ['10.1.1.0/33'], littleEndian: true })).toThrowError('conntrack event filter: prefix "10.1.1.0/33" is not an IPv4 or IPv6 prefix');
    const many = Array.from({ length: 1400 }, (_, i) => `10.2.${i >> 8}.${i & 0xff}`);
    expect(() => compileConntrackFilter({ match: 'source', addresses: many, littleEndian: true })).toThrowError(`conntrack event filter: 1400 addresses and prefixes need 4220 instructions, more than the kernel's ${MAX_FILTER_INSTRUCTIONS}`);
    expect(compileConntrackFilter({ match: 'source', addresses: many.slice(0, 1000), littleEndian: true }).length).toBeLessThanOrEqual(MAX_FILTER_INSTRUCTIONS);
  });
});
