// Reads a V8 CPU profile (`node --cpu-prof`, the .cpuprofile JSON) into the functions
// that took the most self time, for benchmarks that say where a process's time went.
import { readFileSync } from 'node:fs';

/** One function's share of a profile. */
export interface ProfileCost {
  /** `name url:line` (`(garbage collector)`, `(program)` and `(idle)` as V8 names them). */
  readonly where: string;
  /** Self time, milliseconds. */
  readonly selfMs: number;
  /** Self time over all sampled time but idle, 0-1. */
  readonly share: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/**
 * The `top` functions by self time in a profile's JSON text, idle time left out.
 * @throws {Error} when the text is not a CPU profile (no nodes, samples or timeDeltas).
 */
export function topSelfTime(text: string, top = 15): ProfileCost[] {
  const profile = JSON.parse(text) as Partial<CpuProfile>;
  if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples) || !Array.isArray(profile.timeDeltas)) {
    throw new Error('not a V8 CPU profile: expected nodes, samples and timeDeltas arrays');
  }
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byWhere = new Map<string, number>();
  let total = 0;
  // timeDeltas[i] is the time before sample i; it is charged to the sample's node.
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === '(idle)') return;
    const us = profile.timeDeltas?.[i] ?? 0;
    const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/(apps|packages|bench)\//, '$1/');
    const where = `${frame.functionName === '' ? '(anonymous)' : frame.functionName}${file === '' ? '' : ` ${file}:${frame.lineNumber + 1}`}`;
    byWhere.set(where, (byWhere.get(where) ?? 0) + us);
    total += us;
  });
  return [...byWhere.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, us]) => ({ where, selfMs: us / 1000, share: total === 0 ? 0 : us / total }));
}

/** {@link topSelfTime} of a .cpuprofile file. */
export function topSelfTimeOfFile(path: string, top = 15): ProfileCost[] {
  return topSelfTime(readFileSync(path, 'utf8'), top);
}
