// How flows' numbers read to people, shared by the agent's flow summaries, `twill
// observe` and the dashboard's API, so that the three say the same. Pure.

/**
 * A latency in nanoseconds as people read it: `850 µs` below a millisecond, `1.2 ms`
 * below 10 ms, `42 ms` below a second, `3.4 s` above.
 */
export function formatLatency(ns: number): string {
  if (ns < 1_000_000) return `${Math.round(ns / 1000)} µs`;
  if (ns < 1_000_000_000) return `${(ns / 1e6).toFixed(ns < 10_000_000 ? 1 : 0)} ms`;
  return `${(ns / 1e9).toFixed(1)} s`;
}
