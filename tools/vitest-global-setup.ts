// Runs once before each project's tests: removes test namespaces (`twt-<pid>-<n>`)
// left behind by test processes that died, so a crash never leaks into the next run.
// A relative import: global setup is loaded without the @twill/source condition.
export async function setup(): Promise<void> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return;
  const { sweepStaleTestNamespaces } = await import('../packages/sys/src/testing/index.js');
  const removed = sweepStaleTestNamespaces();
  if (removed.length > 0) process.stderr.write(`removed stale test namespaces: ${removed.join(' ')}\n`);
}
