// Test helper: bundles a TypeScript worker script into one JavaScript file with esbuild,
// so that tests starting dozens of processes pay plain Node's start (~0.1 s) per process
// instead of tsx compiling the sources again in each (~1 s of CPU each: measured, the
// 64-process tests took minutes that way on this 2-core machine).
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';

import { build } from 'esbuild';

// Under the workspace's node_modules, so that the bundle's external imports
// (better-sqlite3, a native module) resolve as they do for the sources.
const OUT_DIR = join(import.meta.dirname, '..', '..', '..', 'node_modules', '.cache', 'twill', 'test-bundles');

const bundles = new Map<string, Promise<string>>();

/** The path of a bundled copy of `entry` (built once per test process). */
export function bundleScript(entry: string): Promise<string> {
  let bundle = bundles.get(entry);
  if (bundle === undefined) {
    mkdirSync(OUT_DIR, { recursive: true });
    const outfile = join(OUT_DIR, `${basename(entry, '.ts')}-${process.pid}.mjs`);
    bundle = build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['@twill/source'],
      external: ['better-sqlite3'],
      // CommonJS dependencies bundled into ESM still call require() for Node's modules.
      banner: { js: "import { createRequire as __twillCreateRequire } from 'node:module'; const require = __twillCreateRequire(import.meta.url);" },
      logLevel: 'error',
    }).then(() => outfile);
    bundles.set(entry, bundle);
  }
  return bundle;
}
