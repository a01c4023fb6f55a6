/** Probe results, cached for the life of the process: the kernel does not change under us. */
const results = new Map<string, boolean>();

/** Runs `probe` once per `key` and remembers its answer. Errors are not cached. */
export function cachedProbe(key: string, probe: () => boolean): boolean {
  const known = results.get(key);
  if (known !== undefined) return known;
  const answer = probe();
  results.set(key, answer);
  return answer;
}

/** Forgets every probe result (for tests). */
export function resetProbeCache(): void {
  results.clear();
}

/**
 * Sets a probe's answer as if it had been probed (for tests: to act as a kernel that
 * lacks a feature). `key` is the probe's: `map:TYPE`, `prog:TYPE`, `batch:TYPE:OP`, `link-create`, `tcx`.
 */
export function setProbeResult(key: string, answer: boolean): void {
  results.set(key, answer);
}
