// The open-addressing memo behind each compiled direction's kept verdicts.

import { describe, expect, it } from 'vitest';

import { type IndexDirectionVerdict } from '../../src/engine/compiled-rules.js';
import { VerdictMemo } from '../../src/engine/verdict-memo.js';

const verdict = (n: number): IndexDirectionVerdict => ({ direction: 'ingress', endpoint: { namespace: 'prod', name: `pod-${n}` }, allowed: n % 2 === 0, reason: 'passed', l7: [] });

describe('VerdictMemo', () => {
  it('finds every key it kept as it grows, keys above 2^32 included', () => {
    const memo = new VerdictMemo();
    const kept = Array.from({ length: 1_000 }, (_, n) => verdict(n));
    const key = (n: number): number => n * 2 ** 40 + n;
    kept.forEach((v, n) => memo.set(key(n), n * 7, v));
    kept.forEach((v, n) => expect(memo.get(key(n), n * 7)).toBe(v));
    expect(memo.get(key(1_000), 7_000)).toBeUndefined();
  });

  it('keeps keys apart when their hashes are equal', () => {
    const memo = new VerdictMemo();
    const a = verdict(1);
    const b = verdict(2);
    memo.set(2 ** 45, 3, a);
    memo.set(2 ** 45 + 1, 3, b);
    expect([memo.get(2 ** 45, 3), memo.get(2 ** 45 + 1, 3), memo.get(2 ** 45 + 2, 3)]).toEqual([a, b, undefined]);
  });

  it('starts over instead of growing without end', () => {
    const memo = new VerdictMemo();
    const first = verdict(0);
    memo.set(0, 0, first);
    for (let n = 1; n <= 10_000; n += 1) memo.set(n, n, verdict(n));
    expect(memo.get(0, 0)).toBeUndefined();
    expect(memo.get(10_000, 10_000)?.endpoint.name).toBe('pod-10000');
  });
});
