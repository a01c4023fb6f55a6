import { describe, expect, it } from 'vitest';

import { parseCpuList } from '../../src/internal/cpu-list.js';

describe('parseCpuList', () => {
  it('reads ranges and single CPUs as /sys/devices/system/cpu/possible lists them', () => {
    expect(parseCpuList('0-1\n')).toEqual([0, 1]);
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0-2,4,6-7')).toEqual([0, 1, 2, 4, 6, 7]);
  });

  it('refuses anything else', () => {
    expect(() => parseCpuList('')).toThrow('empty CPU list');
    expect(() => parseCpuList('0-')).toThrow(/bad CPU list/);
    expect(() => parseCpuList('3-1')).toThrow('bad CPU range 3-1');
  });
});
