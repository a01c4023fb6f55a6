import { addressOf } from '@twill/sys';
import { describe, expect, it } from 'vitest';

import { elemScratch } from '../../src/internal/sys/elem-scratch.js';

describe('the element commands\' scratch buffer', () => {
  it('puts the key after the 32-byte attribute and the value 8-aligned after the key, at the addresses it gives', () => {
    const a = elemScratch(4, 8);
    expect([a.keyOffset, a.valueOffset]).toEqual([32, 40]);
    expect(a.keyAddress).toBe(addressOf(a.bytes) + 32n);
    expect(a.valueAddress).toBe(addressOf(a.bytes) + 40n);
    const b = elemScratch(12, 8);
    expect(b.valueOffset).toBe(48);
    expect(b.valueAddress).toBe(addressOf(b.bytes) + 48n);
  });

  it('grows for large per-CPU values, with the addresses of the new buffer', () => {
    const small = elemScratch(4, 8).bytes;
    const big = elemScratch(4, 64 * 1024);
    expect(big.bytes.byteLength).toBeGreaterThanOrEqual(40 + 64 * 1024);
    expect(big.bytes).not.toBe(small);
    expect(big.valueAddress).toBe(addressOf(big.bytes) + 40n);
    expect(big.attr.buffer).toBe(big.bytes.buffer);
  });
});
