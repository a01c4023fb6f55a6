// Whatever the environment and stdin, runPlugin answers with one JSON document and an
// exit code, and decoding a random config fails only with a CniError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import { parseCniArgs } from '../../src/skel/cni-args.js';
import { decodePluginConfig } from '../../src/skel/plugin-config.js';
import { invoke } from './harness.js';

const envValue = fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'VERSION', 'STATUS', 'eth0', 'abc')), { nil: undefined });
const environment = fc.record({
  CNI_COMMAND: envValue,
  CNI_CONTAINERID: envValue,
  CNI_NETNS: envValue,
  CNI_IFNAME: envValue,
  CNI_ARGS: envValue,
  CNI_PATH: envValue,
});
const configLike = fc.record(
  {
    cniVersion: fc.oneof(fc.constantFrom('0.1.0', '0.2.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0', '9.0.0'), fc.jsonValue()),
    name: fc.oneof(fc.constant('dbnet'), fc.jsonValue()),
    type: fc.oneof(fc.constant('twill'), fc.jsonValue()),
    ipam: fc.jsonValue(),
    dns: fc.jsonValue(),
    capabilities: fc.jsonValue(),
    prevResult: fc.jsonValue(),
    'cni.dev/valid-attachments': fc.jsonValue(),
  },
  { requiredKeys: [] },
);

function onlyCniErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CniError);
  }
}

describe('runPlugin on random input', () => {
  it('always prints at most one JSON document and exits 0 or 1', async () => {
    await fc.assert(
      fc.asyncProperty(environment, fc.oneof(fc.string(), configLike.map((c) => JSON.stringify(c))), async (env, stdin) => {
        const out = await invoke(env, stdin);
        expect([0, 1]).toContain(out.exitCode);
        if (out.exitCode === 1) expect(out.json?.['code']).not.toBe(999);
      }),
      { numRuns: 300 },
    );
  });
});

describe('decoding random configs and CNI_ARGS', () => {
  it('fails only with a CniError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), configLike), (value) => {
        onlyCniErrors(() => decodePluginConfig(value));
        onlyCniErrors(() => decodePluginConfig(JSON.stringify(value) ?? ''));
      }),
      { numRuns: 500 },
    );
    fc.assert(fc.property(fc.string(), (text) => onlyCniErrors(() => parseCniArgs(text, { known: ['A'] }))));
  });
});
