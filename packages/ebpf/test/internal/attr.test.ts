import { describe, expect, it } from 'vitest';

import { encodeMapBatch, encodeMapCreate, encodeMapElem } from '../../src/internal/sys/attr-map.js';
import { encodeLinkCreate, encodeLinkDetach, encodeLinkUpdate, encodeMapFreeze, encodeObj, encodeObjInfo } from '../../src/internal/sys/attr-obj.js';
import { decodeProgTestRun, encodeBtfLoad, encodeProgLoad, encodeProgTestRun } from '../../src/internal/sys/attr-prog.js';
import { decodeMapInfo, decodeProgInfo } from '../../src/internal/sys/info.js';

/** Fake addresses: the n-th distinct buffer lives at 0x1000 * n. */
function fakeAddresses(): { addressOf: (view: ArrayBufferView) => bigint; seen: ArrayBufferView[] } {
  const seen: ArrayBufferView[] = [];
  return {
    seen,
    addressOf: (view) => {
      if (!seen.includes(view)) seen.push(view);
      return BigInt(0x1000 * (seen.indexOf(view) + 1));
    },
  };
}

function hex(view: DataView): string {
  return [...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Little-endian bytes of a fixture written as `offset: bytes` rows, the rest zero. */
function fixture(size: number, rows: Record<number, number[]>): string {
  const out = new Uint8Array(size);
  for (const [offset, bytes] of Object.entries(rows)) out.set(bytes, Number(offset));
  return hex(new DataView(out.buffer));
}

describe('union bpf_attr encoders', () => {
  it('lays out BPF_MAP_CREATE with a name and BTF ids', () => {
    const { attr } = encodeMapCreate(
      { mapType: 1, keySize: 4, valueSize: 8, maxEntries: 1024, flags: 1, name: 'counts', btfFd: 7, btfKeyTypeId: 2, btfValueTypeId: 3 },
      fakeAddresses().addressOf,
    );
    expect(attr.byteLength).toBe(72);
    expect(hex(attr)).toBe(
      fixture(72, {
        0: [1, 0, 0, 0], // map_type = BPF_MAP_TYPE_HASH
        4: [4, 0, 0, 0], // key_size
        8: [8, 0, 0, 0], // value_size
        12: [0x00, 0x04, 0, 0], // max_entries = 1024
        16: [1, 0, 0, 0], // map_flags = BPF_F_NO_PREALLOC
        28: [...'counts'].map((c) => c.charCodeAt(0)), // map_name, NUL-padded to 16
        48: [7, 0, 0, 0], // btf_fd
        52: [2, 0, 0, 0], // btf_key_type_id
        56: [3, 0, 0, 0], // btf_value_type_id
      }),
    );
  });

  it('refuses object names the kernel would refuse', () => {
    const { addressOf } = fakeAddresses();
    expect(() => encodeMapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1, name: 'sixteen_chars_xx' }, addressOf)).toThrow(/at most 15/);
    expect(() => encodeMapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1, name: 'no-dash' }, addressOf)).toThrow(RangeError);
  });

  it('lays out the element commands with key and value pointers and flags', () => {
    const { addressOf, seen } = fakeAddresses();
    const key = new Uint8Array(4);
    const value = new Uint8Array(8);
    const { attr, keep } = encodeMapElem({ mapFd: 5, key, value, flags: 2n }, addressOf);
    expect(hex(attr)).toBe(
      fixture(32, {
        0: [5, 0, 0, 0], // map_fd, then 4 bytes of padding
        8: [0x00, 0x10, 0, 0, 0, 0, 0, 0], // key = 0x1000
        16: [0x00, 0x20, 0, 0, 0, 0, 0, 0], // value = 0x2000
        24: [2, 0, 0, 0, 0, 0, 0, 0], // flags = BPF_EXIST
      }),
    );
    expect(keep).toEqual([key, value]);
    expect(seen).toHaveLength(2);
  });

  it('leaves absent pointers NULL (get-next-key from the start)', () => {
    const next = new Uint8Array(4);
    const { attr } = encodeMapElem({ mapFd: 3, value: next }, fakeAddresses().addressOf);
    expect(attr.getBigUint64(8, true)).toBe(0n);
    expect(attr.getBigUint64(16, true)).toBe(0x1000n);
  });

  it('lays out the batch commands', () => {
    const { attr } = encodeMapBatch(
      { mapFd: 9, outBatch: new Uint8Array(8), keys: new Uint8Array(8), values: new Uint8Array(16), count: 2, elemFlags: 1n },
      fakeAddresses().addressOf,
    );
    expect(hex(attr)).toBe(
      fixture(56, {
        // 0 in_batch = NULL (start)
        8: [0x00, 0x10, 0, 0, 0, 0, 0, 0], // out_batch
        16: [0x00, 0x20, 0, 0, 0, 0, 0, 0], // keys
        24: [0x00, 0x30, 0, 0, 0, 0, 0, 0], // values
        32: [2, 0, 0, 0], // count
        36: [9, 0, 0, 0], // map_fd
        40: [1, 0, 0, 0, 0, 0, 0, 0], // elem_flags = BPF_NOEXIST
      }),
    );
  });

  it('lays out BPF_PROG_LOAD with a license, a log buffer, a name and an attach type', () => {
    const insns = new Uint8Array(16);
    const log = new Uint8Array(4096);
    const { attr, keep } = encodeProgLoad(
      { progType: 3, insns, license: 'GPL', logLevel: 1, logBuffer: log, name: 'tc_in', expectedAttachType: 46 },
      fakeAddresses().addressOf,
    );
    expect(attr.byteLength).toBe(144);
    expect(hex(attr)).toBe(
      fixture(144, {
        0: [3, 0, 0, 0], // prog_type = BPF_PROG_TYPE_SCHED_CLS
        4: [2, 0, 0, 0], // insn_cnt
        8: [0x00, 0x10, 0, 0, 0, 0, 0, 0], // insns
        16: [0x00, 0x20, 0, 0, 0, 0, 0, 0], // license
        24: [1, 0, 0, 0], // log_level
        28: [0x00, 0x10, 0, 0], // log_size = 4096
        32: [0x00, 0x30, 0, 0, 0, 0, 0, 0], // log_buf
        48: [...'tc_in'].map((c) => c.charCodeAt(0)), // prog_name
        68: [46, 0, 0, 0], // expected_attach_type = BPF_TCX_INGRESS
      }),
    );
    // The license is a NUL-terminated copy, kept alive with the others.
    expect([...(keep[1] as Uint8Array)]).toEqual([0x47, 0x50, 0x4c, 0]);
  });

  it('refuses instruction bytes that are not whole instructions', () => {
    expect(() => encodeProgLoad({ progType: 1, insns: new Uint8Array(12), license: 'GPL' }, fakeAddresses().addressOf)).toThrow(/multiple of 8/);
  });

  it('lays out BPF_PROG_TEST_RUN and reads back what the kernel writes', () => {
    const { attr } = encodeProgTestRun(
      { progFd: 4, dataIn: new Uint8Array(64), dataOut: new Uint8Array(320), repeat: 100 },
      fakeAddresses().addressOf,
    );
    expect(hex(attr)).toBe(
      fixture(80, {
        0: [4, 0, 0, 0], // prog_fd
        8: [64, 0, 0, 0], // data_size_in
        12: [0x40, 0x01, 0, 0], // data_size_out = 320
        16: [0x00, 0x10, 0, 0, 0, 0, 0, 0], // data_in
        24: [0x00, 0x20, 0, 0, 0, 0, 0, 0], // data_out
        32: [100, 0, 0, 0], // repeat
      }),
    );
    attr.setUint32(4, 2, true); // retval = TC_ACT_SHOT
    attr.setUint32(12, 64, true);
    attr.setUint32(36, 35, true); // duration, ns
    expect(decodeProgTestRun(attr)).toEqual({ retval: 2, dataSizeOut: 64, duration: 35, ctxSizeOut: 0 });
  });

  it('lays out pin/get, info, map freeze and BTF load', () => {
    const pin = encodeObj({ path: '/sys/fs/bpf/x', bpfFd: 12 }, fakeAddresses().addressOf);
    expect(hex(pin.attr)).toBe(fixture(16, { 0: [0x00, 0x10, 0, 0, 0, 0, 0, 0], 8: [12, 0, 0, 0] }));
    expect(new TextDecoder().decode(pin.keep[0] as Uint8Array)).toBe('/sys/fs/bpf/x\0');
    const get = encodeObj({ path: '/sys/fs/bpf/x', fileFlags: 1 << 3 }, fakeAddresses().addressOf);
    expect(hex(get.attr)).toBe(fixture(16, { 0: [0x00, 0x10, 0, 0, 0, 0, 0, 0], 12: [8, 0, 0, 0] })); // BPF_F_RDONLY
    const info = encodeObjInfo({ bpfFd: 3, info: new Uint8Array(88) }, fakeAddresses().addressOf);
    expect(hex(info.attr)).toBe(fixture(16, { 0: [3, 0, 0, 0], 4: [88, 0, 0, 0], 8: [0x00, 0x10, 0, 0, 0, 0, 0, 0] }));
    const freeze = encodeMapFreeze({ mapFd: 9 }, fakeAddresses().addressOf);
    expect(hex(freeze.attr)).toBe(fixture(8, { 0: [9, 0, 0, 0] })); // BPF_MAP_FREEZE: map_fd
    const btf = encodeBtfLoad({ btf: new Uint8Array(40), logLevel: 1, logBuffer: new Uint8Array(256) }, fakeAddresses().addressOf);
    expect(hex(btf.attr)).toBe(
      fixture(32, {
        0: [0x00, 0x10, 0, 0, 0, 0, 0, 0], // btf
        8: [0x00, 0x20, 0, 0, 0, 0, 0, 0], // btf_log_buf
        16: [40, 0, 0, 0], // btf_size
        20: [0, 1, 0, 0], // btf_log_size = 256
        24: [1, 0, 0, 0], // btf_log_level
      }),
    );
  });

  it('lays out BPF_LINK_CREATE for tcx with a relative fd and expected revision', () => {
    const { attr } = encodeLinkCreate({ progFd: 6, target: 2, attachType: 47, flags: 1 << 3, relativeFdOrId: 8, expectedRevision: 5n }, fakeAddresses().addressOf);
    expect(hex(attr)).toBe(
      fixture(64, {
        0: [6, 0, 0, 0], // prog_fd
        4: [2, 0, 0, 0], // target_ifindex
        8: [47, 0, 0, 0], // attach_type = BPF_TCX_EGRESS
        12: [8, 0, 0, 0], // flags = BPF_F_BEFORE
        16: [8, 0, 0, 0], // tcx.relative_fd
        24: [5, 0, 0, 0, 0, 0, 0, 0], // tcx.expected_revision
      }),
    );
  });
});

describe('link attributes for XDP and cgroups', () => {
  it('lays out BPF_LINK_CREATE for XDP (an ifindex and XDP flags) and for a cgroup (its fd), and BPF_LINK_DETACH', () => {
    const xdp = encodeLinkCreate({ progFd: 5, target: 3, attachType: 37, flags: 1 << 1 }, fakeAddresses().addressOf);
    expect(hex(xdp.attr)).toBe(fixture(64, { 0: [5, 0, 0, 0], 4: [3, 0, 0, 0], 8: [37, 0, 0, 0], 12: [2, 0, 0, 0] })); // BPF_XDP, XDP_FLAGS_SKB_MODE
    const cgroup = encodeLinkCreate({ progFd: 5, target: 9, attachType: 1 }, fakeAddresses().addressOf);
    expect(hex(cgroup.attr)).toBe(fixture(64, { 0: [5, 0, 0, 0], 4: [9, 0, 0, 0], 8: [1, 0, 0, 0] })); // target_fd, BPF_CGROUP_INET_EGRESS
    expect(hex(encodeLinkDetach({ linkFd: 11 }, fakeAddresses().addressOf).attr)).toBe(fixture(8, { 0: [11, 0, 0, 0] }));
  });

  it('lays out BPF_LINK_UPDATE: BPF_F_REPLACE and old_prog_fd only when the old program is given', () => {
    // link_fd 11, new_prog_fd 6, no flags, no old program.
    expect(hex(encodeLinkUpdate({ linkFd: 11, newProgFd: 6 }, fakeAddresses().addressOf).attr)).toBe(fixture(16, { 0: [11, 0, 0, 0], 4: [6, 0, 0, 0] }));
    // flags BPF_F_REPLACE (1 << 2), old_prog_fd 5.
    expect(hex(encodeLinkUpdate({ linkFd: 11, newProgFd: 6, oldProgFd: 5 }, fakeAddresses().addressOf).attr)).toBe(fixture(16, { 0: [11, 0, 0, 0], 4: [6, 0, 0, 0], 8: [4, 0, 0, 0], 12: [5, 0, 0, 0] }));
  });
});

describe('info decoders', () => {
  it('decodes struct bpf_map_info', () => {
    const info = new Uint8Array(88);
    const v = new DataView(info.buffer);
    v.setUint32(0, 11, true); // BPF_MAP_TYPE_LPM_TRIE
    v.setUint32(4, 42, true);
    v.setUint32(8, 8, true);
    v.setUint32(12, 4, true);
    v.setUint32(16, 100, true);
    v.setUint32(20, 1, true);
    info.set(new TextEncoder().encode('routes'), 24);
    v.setUint32(64, 9, true);
    v.setUint32(68, 3, true); // btf_key_type_id
    v.setUint32(72, 5, true); // btf_value_type_id
    expect(decodeMapInfo(info)).toEqual({ type: 11, id: 42, keySize: 8, valueSize: 4, maxEntries: 100, flags: 1, name: 'routes', btfId: 9, btfKeyTypeId: 3, btfValueTypeId: 5 });
    // A kernel before 4.18 writes 40 bytes: no BTF.
    expect(decodeMapInfo(info.subarray(0, 40))).toMatchObject({ btfId: 0, btfKeyTypeId: 0, btfValueTypeId: 0 });
  });

  it('decodes struct bpf_prog_info with the tag as bpftool prints it', () => {
    const info = new Uint8Array(232);
    const v = new DataView(info.buffer);
    v.setUint32(0, 1, true);
    v.setUint32(4, 77, true);
    info.set([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3], 8);
    v.setUint32(20, 48, true);
    v.setUint32(52, 2, true);
    info.set(new TextEncoder().encode('count'), 64);
    v.setUint32(216, 6, true);
    expect(decodeProgInfo(info)).toMatchObject({ type: 1, id: 77, tag: 'deadbeef00010203', name: 'count', xlatedLength: 48, mapCount: 2, verifiedInstructions: 6 });
  });
});
