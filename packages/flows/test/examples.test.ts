// The README's example runs and prints what the README says.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

describe('examples/quickstart.ts', () => {
  it('serves a ring and reads it back, past and live', () => {
    const tsx = join(root, '../../node_modules/.bin/tsx');
    const out = execFileSync(tsx, ['--conditions=@twill/source', join(root, 'examples/quickstart.ts')], { encoding: 'utf8', timeout: 60_000 });
    expect(out).toBe(
      [
        'past: flow-2 DROPPED POLICY_DENIED',
        'live: flow-3 FORWARDED',
        'live: 5 events lost at nflog',
        'live: flow-4 DROPPED',
        'status: 4/4096 flows, 4 seen, 5 lost',
        '',
      ].join('\n'),
    );
  });
});
