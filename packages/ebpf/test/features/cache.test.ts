import { afterEach, describe, expect, it } from 'vitest';

import { cachedProbe, resetProbeCache, setProbeResult } from '../../src/features/cache.js';

afterEach(() => resetProbeCache());

describe('probe cache', () => {
  it('runs a probe once per key and remembers its answer', () => {
    let runs = 0;
    const probe = (): boolean => {
      runs += 1;
      return true;
    };
    expect(cachedProbe('map:1', probe)).toBe(true);
    expect(cachedProbe('map:1', probe)).toBe(true);
    expect(runs).toBe(1);
    expect(cachedProbe('map:2', probe)).toBe(true);
    expect(runs).toBe(2);
  });

  it('does not cache a probe that throws (EPERM is not an answer)', () => {
    let runs = 0;
    const failing = (): boolean => {
      runs += 1;
      throw new Error('EPERM');
    };
    expect(() => cachedProbe('tcx', failing)).toThrow('EPERM');
    expect(() => cachedProbe('tcx', failing)).toThrow('EPERM');
    expect(runs).toBe(2);
  });

  it('takes a preset answer, and forgets everything on reset', () => {
    setProbeResult('tcx', false);
    expect(cachedProbe('tcx', () => true)).toBe(false);
    resetProbeCache();
    expect(cachedProbe('tcx', () => true)).toBe(true);
  });
});
