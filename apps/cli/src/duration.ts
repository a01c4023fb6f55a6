// Durations in words, for people: `5 minutes`, `2 hours 5 minutes`, `3 days 4 hours`.

const UNITS = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
] as const;

const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;

/**
 * A duration in words, to its two largest units (`2 hours 5 minutes`, `45 seconds`,
 * `3 days`). Fractions of a second are dropped; negative durations read as 0 seconds.
 * @param seconds - The duration, in seconds.
 */
export function durationWords(seconds: number): string {
  let rest = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (parts.length > 0 && parts.length < 2)) parts.push(n === 0 ? '' : plural(n, unit));
    if (parts.length === 2) break;
  }
  const words = parts.filter((p) => p !== '');
  return words.length === 0 ? '0 seconds' : words.join(' ');
}

/** `5 minutes ago`, `in 20 seconds`: the distance from `nowMs` to `atMs` (milliseconds since the epoch). */
export function relativeWords(atMs: number, nowMs: number): string {
  const seconds = Math.round((nowMs - atMs) / 1000);
  if (seconds === 0) return 'now';
  return seconds > 0 ? `${durationWords(seconds)} ago` : `in ${durationWords(-seconds)}`;
}
