/** Whether this process runs as root (uid 0). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Why root-only tests cannot run here, in one line, or `undefined` when they can.
 * `what` says what the tests need root for.
 */
export function rootSkipReason(what = 'creates network namespaces'): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (${what}); this is ${process.platform}`;
  if (!isRoot()) return `needs root (${what}); running as uid ${process.getuid?.() ?? '?'}`;
  return undefined;
}
