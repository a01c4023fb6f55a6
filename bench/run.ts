// `npm run bench [-- NAME...]`: runs bench/*.bench.ts (all, or those whose name
// contains one of NAME) one after another; each writes its section of BENCHMARKS.md.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** What a benchmark file exports. */
export interface BenchmarkModule {
  /** Runs the benchmark and writes its section; `command` is the command to cite. */
  run(command: string): Promise<void>;
}

const filters = process.argv.slice(2);
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((name) => f.includes(name)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`no benchmark matches ${filters.join(', ')}\n`);
  process.exit(2);
}
for (const file of files) {
  const name = file.replace(/\.bench\.ts$/, '');
  process.stdout.write(`bench: ${name}\n`);
  const mod = (await import(pathToFileURL(join(import.meta.dirname, file)).href)) as BenchmarkModule;
  await mod.run(`npm run bench -- ${name}`);
}
