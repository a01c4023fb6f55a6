// Side-by-side benchmark helper: runs two sides alternately (A B A B ...) so that
// drift on a shared, noisy machine hits both alike, and reports min/median/max of each
// and the ratio of the medians. Benchmarks report; they never pass or fail.
import { spawnSync } from 'node:child_process';

/** One side of a comparison: a command (argument array, no shell) or a function. */
export type Side =
  | { name: string; command: string[]; env?: Record<string, string>; input?: string }
  | { name: string; fn: () => unknown };

/** Summary of one side's timings, in milliseconds. */
export interface Stats {
  name: string;
  runs: number;
  min: number;
  median: number;
  max: number;
}

/** The result of {@link compareAlternately}. */
export interface Comparison {
  a: Stats;
  b: Stats;
  /** median(A) / median(B): below 1, A is faster. */
  ratio: number;
}

/** Options for {@link compareAlternately}. */
export interface CompareOptions {
  a: Side;
  b: Side;
  /** Measured runs per side (default 20). */
  runs?: number;
  /** Unmeasured runs per side first (default 2). */
  warmup?: number;
}

/** The median of a list of numbers (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0-100) of a list of numbers, by nearest rank (one of the values); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Summarises timings in milliseconds. */
export function stats(name: string, ms: readonly number[]): Stats {
  return { name, runs: ms.length, min: Math.min(...ms), median: median(ms), max: Math.max(...ms) };
}

async function timeOnce(side: Side): Promise<number> {
  const start = process.hrtime.bigint();
  if ('fn' in side) {
    await side.fn();
  } else {
    const [file, ...args] = side.command;
    const result = spawnSync(file!, args, {
      env: { ...process.env, ...side.env },
      input: side.input ?? '',
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    if (result.error) throw result.error;
    if (result.status !== 0) {
      throw new Error(`${side.command.join(' ')} exited ${result.status}: ${result.stderr.toString().trim()}`);
    }
  }
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs A and B alternately and summarises both; throws if either side fails. */
export async function compareAlternately(options: CompareOptions): Promise<Comparison> {
  const { a, b, runs = 20, warmup = 2 } = options;
  for (let i = 0; i < warmup; i += 1) {
    await timeOnce(a);
    await timeOnce(b);
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    ta.push(await timeOnce(a));
    tb.push(await timeOnce(b));
  }
  const sa = stats(a.name, ta);
  const sb = stats(b.name, tb);
  return { a: sa, b: sb, ratio: sa.median / sb.median };
}

const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

/** A Markdown table of comparisons: one row per side, the ratio on the A row. */
export function comparisonTable(rows: readonly Comparison[]): string {
  const lines = ['| side | runs | min ms | median ms | max ms | median ratio A/B |', '|---|---|---|---|---|---|'];
  for (const c of rows) {
    for (const [s, ratio] of [
      [c.a, c.ratio.toFixed(2)],
      [c.b, '1'],
    ] as const) {
      lines.push(`| ${s.name} | ${s.runs} | ${fmt(s.min)} | ${fmt(s.median)} | ${fmt(s.max)} | ${ratio} |`);
    }
  }
  return lines.join('\n');
}
