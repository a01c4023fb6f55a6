// The agent's version: its package.json's, read once (the file sits three folders up
// from both src/agent/sys and dist/agent/sys).

import { readFileSync } from 'node:fs';

/** `@twill/agent`'s version, as its package.json says. */
export const AGENT_VERSION: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
