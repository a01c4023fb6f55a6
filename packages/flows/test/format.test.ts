import { describe, expect, it } from 'vitest';

import { formatLatency } from '../src/index.js';

describe('formatLatency', () => {
  it.each<[number, string]>([
    [0, '0 µs'],
    [850_400, '850 µs'],
    [999_499, '999 µs'],
    [1_234_567, '1.2 ms'],
    [9_950_000, '9.9 ms'],
    [42_400_000, '42 ms'],
    [999_000_000, '999 ms'],
    [3_400_000_000, '3.4 s'],
  ])('%d ns is %s', (ns, text) => {
    expect(formatLatency(ns)).toBe(text);
  });
});
