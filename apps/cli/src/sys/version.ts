// The CLI's version: its package.json's, read once (the file sits two folders up from
// both src/sys and dist/sys).

import { readFileSync } from 'node:fs';

/** `@twill/cli`'s version, as its package.json says. */
export const CLI_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
