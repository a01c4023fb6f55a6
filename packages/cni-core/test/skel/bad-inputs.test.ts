// Every bad invocation of the corpus fails with its code and message, as spec error JSON.
import { describe, expect, it } from 'vitest';

import { BAD_INPUTS } from './fixtures/bad-inputs.js';
import { invoke, recordingHandlers } from './harness.js';

describe('bad inputs', () => {
  it('the corpus has at least 30 cases with distinct names', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(BAD_INPUTS.map((b) => b.name)).size).toBe(BAD_INPUTS.length);
  });

  it.each(BAD_INPUTS)('$name → code $code', async ({ env, stdin, handlers, code, msg, cniVersion }) => {
    const recording = recordingHandlers(handlers);
    const out = await invoke(env, stdin, recording);
    expect(out.exitCode).toBe(1);
    expect({ cniVersion: out.json?.['cniVersion'], code: out.json?.['code'], msg: out.json?.['msg'] }).toEqual({
      cniVersion: cniVersion ?? '1.1.0',
      code,
      msg,
    });
    // A request rejected before dispatch never reaches the plugin.
    if (code !== 11 && !msg.startsWith('cannot convert')) expect(recording.calls).toEqual([]);
  });
});
