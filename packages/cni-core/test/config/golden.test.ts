import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import {
  decodeNetworkConfig,
  decodeNetworkConfigList,
  encodeNetworkConfigList,
  type NetworkConfigList,
} from '../../src/config/index.js';

// The spec's own example configurations (fixtures/golden/README.md says where each is from).
const root = join(import.meta.dirname, 'fixtures', 'golden');
const cases = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

function decodeFixture(dir: string): NetworkConfigList {
  const files = readdirSync(dir);
  const list = files.find((f) => f === 'input.conflist');
  if (list !== undefined) return decodeNetworkConfigList(readFileSync(join(dir, list)));
  return decodeNetworkConfig(readFileSync(join(dir, 'input.conf')));
}

/** What a user sees of a decoded network: no raw nodes, bytes as text. */
function summary(list: NetworkConfigList): Record<string, unknown> {
  return {
    name: list.name,
    cniVersion: list.cniVersion,
    declaredVersions: list.declaredVersions,
    format: list.format,
    disableCheck: list.disableCheck,
    disableGC: list.disableGC,
    loadOnlyInlinedPlugins: list.loadOnlyInlinedPlugins,
    bytes: new TextDecoder().decode(list.bytes),
    plugins: list.plugins.map(({ raw: _raw, ...plugin }) => plugin),
  };
}

describe('golden: the spec example configurations', () => {
  it('has fixtures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(5);
  });

  for (const name of cases) {
    it(name, () => {
      const dir = join(root, name);
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, unknown>;
      if ('error' in expected) {
        let thrown: unknown;
        try {
          decodeFixture(dir);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(CniError);
        expect({ code: (thrown as CniError).code, msg: (thrown as CniError).msg }).toEqual(expected['error']);
        return;
      }
      const list = decodeFixture(dir);
      const got = summary(list);
      // A list keeps its own bytes (checked by identity below); a promoted single config
      // has the synthesised list libcni would cache.
      if (expected['bytes'] === undefined) delete got['bytes'];
      expect(got).toEqual(expected);
      if (list.format === 'list') expect(list.bytes).toEqual(new Uint8Array(readFileSync(join(dir, 'input.conflist'))));
      // And it survives encode → decode.
      expect(summary(decodeNetworkConfigList(encodeNetworkConfigList(list))).plugins).toEqual(got['plugins']);
    });
  }
});
