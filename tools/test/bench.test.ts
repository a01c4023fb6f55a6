import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { compareAlternately, comparisonTable, median, stats } from '../../bench/lib/compare.js';
import { writeSection } from '../../bench/lib/report.js';

describe('benchmark helpers', () => {
  it('computes medians of odd and even counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no values/);
    expect(stats('x', [3, 1, 2])).toEqual({ name: 'x', runs: 3, min: 1, median: 2, max: 3 });
  });

  it('runs the two sides alternately, warm-up first, and reports both', async () => {
    const order: string[] = [];
    const result = await compareAlternately({
      a: { name: 'A', fn: () => order.push('a') },
      b: { name: 'B', fn: () => order.push('b') },
      runs: 3,
      warmup: 1,
    });
    expect(order.join('')).toBe('abababab');
    expect(result.a.runs).toBe(3);
    expect(result.b.runs).toBe(3);
    expect(result.ratio).toBeCloseTo(result.a.median / result.b.median);
  });

  it('runs commands without a shell and reports a failing one', async () => {
    const ok = await compareAlternately({
      a: { name: 'true', command: ['true'] },
      b: { name: 'cat', command: ['cat'], input: 'x' },
      runs: 1,
      warmup: 0,
    });
    expect(comparisonTable([ok])).toMatch(/^\| side \| runs .*\n\|---.*\n\| true \| 1 \|.*\n\| cat \| 1 \|/);
    await expect(
      compareAlternately({ a: { name: 'f', command: ['false'] }, b: { name: 't', command: ['true'] }, runs: 1, warmup: 0 }),
    ).rejects.toThrow(/false exited 1/);
  });

  describe('BENCHMARKS.md sections', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-bench-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'BENCHMARKS.md');

    it('adds a section with its command, then replaces only that section', () => {
      writeSection({ file, id: 'one', title: 'One', command: 'npm run bench -- one', body: 'first' });
      writeSection({ file, id: 'two', title: 'Two', command: 'npm run bench -- two', body: 'second' });
      writeSection({ file, id: 'one', title: 'One', command: 'npm run bench -- one', body: 'again' });
      const text = readFileSync(file, 'utf8');
      expect(text).toMatch(/^# Benchmarks/);
      expect(text).toContain('Command: `npm run bench -- one`');
      expect(text).toContain('again');
      expect(text).not.toContain('first');
      expect(text.indexOf('## One')).toBeLessThan(text.indexOf('## Two'));
      expect(text.match(/<!-- bench:one -->/g)).toHaveLength(1);
    });
  });
});
