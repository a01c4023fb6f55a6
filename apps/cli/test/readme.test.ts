// The README's examples: every ```console block starts with `$ twill ARGS` and shows
// what it prints; each runs from this package's folder on the files in examples/.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { twill } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const EXAMPLES = [...README.matchAll(/```console\n\$ twill ([^\n]*)\n([\s\S]*?)```/g)].map((m) => ({ args: (m[1] ?? '').split(' '), output: m[2] ?? '' }));

describe('README examples', () => {
  it('are there', () => {
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(4);
  });
  for (const example of EXAMPLES) {
    it(`twill ${example.args.join(' ')}`, async () => {
      const run = await twill(example.args, { cwd: ROOT, realFiles: true });
      expect(run.stdout).toBe(example.output);
      expect(run.code).toBe(0);
    });
  }
});
