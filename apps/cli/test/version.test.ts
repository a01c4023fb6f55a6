// twill --version prints the CLI package's version, as a packaged install reports it.

import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { twill } from './helpers.js';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('twill --version', () => {
  it('prints the package version and exits 0, long and short', async () => {
    expect(await twill(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(await twill(['-V'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});
