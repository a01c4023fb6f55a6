import { describe, expect, it } from 'vitest';

import { AsmError, BpfError, EbpfError, LayoutError, UnsupportedFeatureError } from '../src/index.js';

describe('errors', () => {
  it('gives every error a stable code under one base class', () => {
    const errors = [new BpfError('ENOENT', 'BPF_MAP_LOOKUP_ELEM'), new UnsupportedFeatureError('tcx links', '6.6'), new AsmError('x'), new LayoutError('y')];
    expect(errors.map((e) => e instanceof EbpfError)).toEqual([true, true, true, true]);
    expect(errors.map((e) => e.code)).toEqual(['ERR_BPF', 'ERR_BPF_UNSUPPORTED', 'ERR_BPF_ASM', 'ERR_BPF_LAYOUT']);
  });

  it('names the minimum kernel of a missing feature', () => {
    const error = new UnsupportedFeatureError('RingBuffer maps', '5.8');
    expect(error.message).toBe('RingBuffer maps needs Linux 5.8 or later');
    expect(error).toMatchObject({ feature: 'RingBuffer maps', minimumKernel: '5.8' });
  });

  it('puts the tail of the verifier log in the message, and all of it in log', () => {
    const log = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    const error = new BpfError('EACCES', 'BPF_PROG_LOAD count', log);
    expect(error.log).toBe(log);
    expect(error.message.split('\n')[0]).toBe('BPF_PROG_LOAD count: EACCES');
    expect(error.message).toContain('line 29');
    expect(error.message).not.toContain('line 9\n');
    expect(new BpfError('ENOENT', 'BPF_OBJ_GET /sys/fs/bpf/x').isNotFound).toBe(true);
  });
});
