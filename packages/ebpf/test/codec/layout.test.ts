import { describe, expect, it } from 'vitest';

import {
  LayoutError,
  array,
  be16,
  bytes,
  decodeLayout,
  encodeLayout,
  i32,
  ipv4,
  ipv6,
  lpmKey,
  pad,
  struct,
  u16,
  u32,
  u64,
  u8,
} from '../../src/index.js';
import { perCpuLayout } from '../../src/map/per-cpu.js';

describe('struct layouts as C lays them out', () => {
  // struct { __u8 proto; __u32 addr; __u16 port; __u64 bytes; } — gcc/clang -target bpf:
  // proto@0, 3 padding, addr@4, port@8, 6 padding, bytes@16; sizeof = 24, alignof = 8.
  const flow = struct({ proto: u8, addr: u32, port: u16, bytes: u64 });

  it('aligns each field and rounds the size to the largest alignment', () => {
    expect(flow.offsets).toEqual({ proto: 0, addr: 4, port: 8, bytes: 16 });
    expect(flow.size).toBe(24);
    expect(flow.align).toBe(8);
  });

  it('encodes little-endian with zeroed padding, and decodes back', () => {
    const value = { proto: 6, addr: 0x0a000001, port: 443, bytes: 1500n };
    const encoded = encodeLayout(flow, value);
    expect([...encoded]).toEqual([
      6, 0, 0, 0, // proto, padding
      0x01, 0x00, 0x00, 0x0a, // addr
      0xbb, 0x01, 0, 0, 0, 0, 0, 0, // port = 443, padding
      0xdc, 0x05, 0, 0, 0, 0, 0, 0, // bytes = 1500
    ]);
    expect(decodeLayout(flow, encoded)).toEqual(value);
  });

  it('packs fields back to back with packed: true', () => {
    const packed = struct({ proto: u8, addr: u32 }, { packed: true });
    expect(packed.size).toBe(5);
    expect([...encodeLayout(packed, { proto: 17, addr: 1 })]).toEqual([17, 1, 0, 0, 0]);
  });

  it('takes explicit padding and leaves it out of decoded values', () => {
    // struct { __u16 port; __u8 pad[2]; __u32 identity; }
    const key = struct({ port: be16, _pad: pad(2), identity: u32 });
    expect(key.size).toBe(8);
    const encoded = encodeLayout(key, { port: 80, identity: 7 });
    expect([...encoded]).toEqual([0, 80, 0, 0, 7, 0, 0, 0]); // port in network order
    expect(decodeLayout(key, encoded)).toEqual({ port: 80, identity: 7 });
  });

  it('nests structs and arrays with their alignment', () => {
    // struct { __u8 tag; __u32 counts[3]; struct { __u16 a; } inner; }
    const outer = struct({ tag: u8, counts: array(u32, 3), inner: struct({ a: u16 }) });
    expect(outer.offsets).toEqual({ tag: 0, counts: 4, inner: 16 });
    expect(outer.size).toBe(20);
    const value = { tag: 1, counts: [1, 2, 3], inner: { a: 9 } };
    expect(decodeLayout(outer, encodeLayout(outer, value))).toEqual(value);
  });

  it('lays out IPv4 and IPv6 addresses as network-order bytes', () => {
    const key = struct({ v4: ipv4, v6: ipv6 });
    expect(key.size).toBe(20);
    const v6 = new Uint8Array(16);
    v6[0] = 0xfd;
    v6[15] = 1;
    const encoded = encodeLayout(key, { v4: new Uint8Array([10, 0, 0, 1]), v6 });
    expect([...encoded.subarray(0, 4)]).toEqual([10, 0, 0, 1]);
    expect(decodeLayout(key, encoded).v6).toEqual(v6);
  });

  it('lays out LPM trie keys as struct bpf_lpm_trie_key: prefixlen then data', () => {
    const key = lpmKey(ipv4);
    expect(key.size).toBe(8);
    expect([...encodeLayout(key, { prefixLen: 24, data: new Uint8Array([192, 168, 1, 0]) })]).toEqual([24, 0, 0, 0, 192, 168, 1, 0]);
    expect(lpmKey(ipv6).size).toBe(20);
    expect(() => encodeLayout(key, { prefixLen: 33, data: new Uint8Array(4) })).toThrow('prefix length 33 is longer than 32 bits');
  });

  it('lays out per-CPU values in 8-byte slots, one per CPU', () => {
    const layout = perCpuLayout(u32, 2);
    expect(layout.size).toBe(16);
    expect([...encodeLayout(layout, [1, 2])]).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => encodeLayout(layout, [1])).toThrow('a per-CPU value needs 2 items (one per possible CPU), got 1');
  });
});

describe('layout errors', () => {
  it('names the field and the range of an integer that does not fit', () => {
    const layout = struct({ port: u16 });
    expect(() => encodeLayout(layout, { port: 70000 })).toThrow(new LayoutError('port: u16: 70000 is not an integer in [0, 65535]'));
    expect(() => encodeLayout(i32, 2 ** 31)).toThrow(LayoutError);
    expect(() => encodeLayout(u64, -1n)).toThrow(/not a bigint/);
    expect(() => encodeLayout(u32, 1.5)).toThrow(/not an integer/);
  });

  it('refuses missing fields, wrong array lengths and short buffers', () => {
    const layout = struct({ a: u32, b: u32 });
    expect(() => encodeLayout(layout, { a: 1 } as never)).toThrow('struct field b is missing');
    expect(() => encodeLayout(array(u8, 3), [1, 2])).toThrow('array of 3: got 2 items');
    expect(() => encodeLayout(bytes(4), new Uint8Array(3))).toThrow('bytes(4): got 3 bytes');
    expect(() => decodeLayout(u64, new Uint8Array(4))).toThrow('need 8 bytes at offset 0, have 4');
  });

  it('has a stable code', () => {
    try {
      encodeLayout(u8, 256);
    } catch (error) {
      expect(error).toMatchObject({ code: 'ERR_BPF_LAYOUT', name: 'LayoutError' });
    }
  });
});
