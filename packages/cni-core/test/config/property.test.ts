import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import {
  buildPluginStdin,
  decodeJson,
  decodeNetworkConfig,
  decodeNetworkConfigList,
  decodeListPluginConfig,
  encodeJson,
  encodeNetworkConfigList,
  jsonToPlain,
  type NetworkConfigList,
} from '../../src/config/index.js';

/** Runs `f`; anything it throws must be a CniError with a spec code. */
function onlyCniErrors(f: () => unknown): void {
  try {
    f();
  } catch (error) {
    if (!(error instanceof CniError)) throw error;
    expect([1, 2, 5, 6, 7]).toContain(error.code);
  }
}

const decoders = [decodeNetworkConfigList, decodeNetworkConfig, decodeListPluginConfig];

// Values shaped like configurations, so that random input gets past the JSON reader and
// exercises validation: known keys with values of every type.
const anyJson = fc.jsonValue({ maxDepth: 3 });
const keyish = fc.constantFrom(
  'type', 'name', 'cniVersion', 'cniVersions', 'plugins', 'capabilities', 'args', 'ipam', 'dns',
  'nameservers', 'disableCheck', 'disableGC', 'loadOnlyInlinedPlugins', 'runtimeConfig', 'ipMasq', '__proto__',
);
const configish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    anyJson,
    fc.constantFrom('1.1.0', '1.0.0', '0.4.0', '9.9.9', 'bridge', 'a b', '10.0.0.1', true, 'true'),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(keyish, fc.string()), tie('value'), { maxKeys: 6 }),
  ),
})).value;

const validName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/);
const pluginType = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
const extraKey = fc.string({ maxLength: 12 }).filter((k) => !['type', 'name', 'cniVersion', 'capabilities', 'args',
  'ipam', 'dns', 'ipMasq', 'runtimeConfig'].includes(k));
const validPlugin = fc.record({
  type: pluginType,
  capabilities: fc.dictionary(fc.string({ maxLength: 12 }), fc.boolean(), { maxKeys: 3 }),
  extra: fc.dictionary(extraKey, anyJson, { maxKeys: 4 }),
}).map(({ type, capabilities, extra }) => ({ ...extra, type, capabilities }));
const validList = fc.record({
  name: validName,
  cniVersion: fc.constantFrom('0.3.1', '0.4.0', '1.0.0', '1.1.0'),
  disableCheck: fc.boolean(),
  disableGC: fc.boolean(),
  plugins: fc.array(validPlugin, { minLength: 1, maxLength: 4 }),
});

/** The meaning of a network: what must survive serialisation. */
function meaning(list: NetworkConfigList): unknown {
  return {
    name: list.name, cniVersion: list.cniVersion, disableCheck: list.disableCheck, disableGC: list.disableGC,
    plugins: list.plugins.map((p) => ({ type: p.type, capabilities: p.capabilities, raw: encodeJson(p.raw) })),
  };
}

describe('properties', () => {
  it('random text only ever fails with a CniError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
      for (const decode of decoders) onlyCniErrors(() => decode(text));
    }), { numRuns: 500 });
  });

  it('random bytes only ever fail with a CniError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      for (const decode of decoders) onlyCniErrors(() => decode(bytes));
    }), { numRuns: 300 });
  });

  it('random configuration-shaped JSON only ever fails with a CniError', () => {
    fc.assert(fc.property(configish, (value) => {
      const text = JSON.stringify(value) ?? 'null';
      for (const decode of decoders) onlyCniErrors(() => decode(text));
    }), { numRuns: 1000 });
  });

  it('any JSON document reads back to what JSON.parse gives, and re-encodes losslessly', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const text = JSON.stringify(value);
      const node = decodeJson(text);
      expect(jsonToPlain(node)).toEqual(JSON.parse(text));
      expect(encodeJson(decodeJson(encodeJson(node)))).toBe(encodeJson(node));
    }), { numRuns: 300 });
  });

  it('valid configurations survive decode → encode → decode', () => {
    fc.assert(fc.property(validList, (doc) => {
      const list = decodeNetworkConfigList(JSON.stringify(doc));
      const again = decodeNetworkConfigList(encodeNetworkConfigList(list));
      expect(meaning(again)).toEqual(meaning(list));
      // And every plugin's stdin is valid JSON carrying its own fields.
      for (const plugin of again.plugins) {
        const stdin = JSON.parse(new TextDecoder().decode(buildPluginStdin(again, plugin))) as Record<string, unknown>;
        expect(stdin['type']).toBe(plugin.type);
        expect(stdin['name']).toBe(list.name);
      }
    }), { numRuns: 300 });
  });
});
