import { describe, expect, it } from 'vitest';

import type { LinkFd, ProgramFd } from '../../src/fd.js';
import { AttachFlag, XdpFlag, xdpModeFlags } from '../../src/link/flags.js';
import { LinkType, decodeLinkInfo } from '../../src/link/link-info.js';
import { tcxPlacementFlags } from '../../src/link/tcx.js';

describe('tcx placement', () => {
  it('appends by default', () => {
    expect(tcxPlacementFlags({})).toEqual({ flags: 0 });
  });

  it('places first or last of all', () => {
    expect(tcxPlacementFlags({ before: 'all' })).toEqual({ flags: AttachFlag.BEFORE });
    expect(tcxPlacementFlags({ after: 'all', expectedRevision: 4n })).toEqual({ flags: AttachFlag.AFTER, expectedRevision: 4n });
  });

  it('places relative to a program or link, by fd or id', () => {
    expect(tcxPlacementFlags({ before: { program: { fd: 9 as ProgramFd } } })).toEqual({ flags: 1 << 3, relativeFdOrId: 9 });
    expect(tcxPlacementFlags({ after: { link: { fd: 5 as LinkFd } } })).toEqual({ flags: (1 << 4) | (1 << 13), relativeFdOrId: 5 });
    expect(tcxPlacementFlags({ before: { programId: 77 } })).toEqual({ flags: (1 << 3) | (1 << 5), relativeFdOrId: 77 });
    expect(tcxPlacementFlags({ after: { linkId: 12 } })).toEqual({ flags: (1 << 4) | (1 << 13) | (1 << 5), relativeFdOrId: 12 });
  });

  it('refuses before and after together', () => {
    expect(() => tcxPlacementFlags({ before: 'all', after: 'all' })).toThrow(RangeError);
  });
});

describe('XDP modes', () => {
  it('maps modes to XDP_FLAGS_*', () => {
    expect(xdpModeFlags('auto')).toBe(0);
    expect(xdpModeFlags('generic')).toBe(XdpFlag.SKB_MODE);
    expect(xdpModeFlags('driver')).toBe(4);
    expect(xdpModeFlags('offload')).toBe(8);
  });
});

describe('link info', () => {
  function info(words: number[], cgroupId?: bigint): Uint8Array {
    const out = new Uint8Array(32);
    const view = new DataView(out.buffer);
    words.forEach((w, i) => view.setUint32(i * 4, w, true));
    if (cgroupId !== undefined) view.setBigUint64(16, cgroupId, true);
    return out;
  }

  it('decodes tcx, XDP and cgroup links', () => {
    // type, id, prog_id, padding, then the union at 16
    expect(decodeLinkInfo(info([LinkType.Tcx, 5, 40, 0, 3, 46]))).toEqual({ type: 11, id: 5, programId: 40, ifindex: 3, attachType: 46 });
    expect(decodeLinkInfo(info([LinkType.Xdp, 6, 41, 0, 2]))).toEqual({ type: 6, id: 6, programId: 41, ifindex: 2 });
    const cgroup = info([LinkType.Cgroup, 7, 42, 0, 0, 0, 1]);
    new DataView(cgroup.buffer).setBigUint64(16, 0x1234n, true);
    expect(decodeLinkInfo(cgroup)).toEqual({ type: 3, id: 7, programId: 42, cgroupId: 0x1234n, attachType: 1 });
    expect(decodeLinkInfo(info([LinkType.Iter, 8, 43]))).toEqual({ type: 4, id: 8, programId: 43 });
  });

  it('gives the header alone when the kernel wrote less', () => {
    expect(decodeLinkInfo(info([LinkType.Tcx, 5, 40]).subarray(0, 16))).toEqual({ type: 11, id: 5, programId: 40 });
    expect(() => decodeLinkInfo(new Uint8Array(8))).toThrow(RangeError);
  });
});
