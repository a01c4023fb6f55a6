// Property tests: lossless conversions round-trip; decoding anything fails only with a CniError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import { convertResult } from '../../src/spec/convert.js';
import { decodeVersionResult } from '../../src/spec/plugin-output.js';
import { decodeResult, encodeResult } from '../../src/spec/result.js';
import { SUPPORTED_VERSIONS } from '../../src/spec/versions.js';
import { result020, result110 } from './arbitraries.js';

const LOSSLESS_FROM_110 = ['1.0.0', '0.4.0', '0.3.1', '0.3.0'] as const;

function onlyCniErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CniError);
  }
}

describe('conversion properties', () => {
  it('a 1.1.0 result without 1.1.0 attributes survives 1.0.0, 0.4.0, 0.3.x and back', () => {
    fc.assert(
      fc.property(result110(false), fc.constantFrom(...LOSSLESS_FROM_110), (result, version) => {
        const down = convertResult(result, version);
        expect(down.cniVersion).toBe(version);
        expect(convertResult(down, '1.1.0')).toEqual(result);
      }),
    );
  });

  it('a 0.2.0 result survives every newer version and back', () => {
    fc.assert(
      fc.property(result020, fc.constantFrom(...SUPPORTED_VERSIONS), (result, version) => {
        expect(convertResult(convertResult(result, version), result.cniVersion)).toEqual(result);
      }),
    );
  });

  it('every result encodes and decodes back to itself, in every version it converts to', () => {
    fc.assert(
      fc.property(result110(true), fc.constantFrom(...SUPPORTED_VERSIONS), (result, version) => {
        const converted = convertResult(result, version, { allowLoss: true });
        expect(decodeResult(encodeResult(converted), version)).toEqual(converted);
      }),
    );
  });

  it('going down either succeeds exactly when nothing is lost, or names every lost field', () => {
    fc.assert(
      fc.property(result110(true), fc.constantFrom(...SUPPORTED_VERSIONS), (result, version) => {
        let lost: readonly string[] = [];
        const dropped = convertResult(result, version, { allowLoss: true, onLoss: (paths) => (lost = paths) });
        if (lost.length === 0) {
          expect(convertResult(result, version)).toEqual(dropped);
        } else {
          expect(() => convertResult(result, version)).toThrowError(expect.objectContaining({ code: 1 }));
          for (const path of lost.slice(0, 10)) {
            expect(() => convertResult(result, version)).toThrowError(path);
          }
        }
      }),
    );
  });
});

// Structured garbage reaches deeper than random JSON: the right keys with wrong values.
const garbage = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    tie('object'),
    fc.array(tie('object'), { maxLength: 3 }),
  ),
  object: fc.dictionary(
    fc.constantFrom('cniVersion', 'interfaces', 'ips', 'routes', 'dns', 'ip4', 'ip6', 'address', 'gateway', 'interface', 'version', 'name', 'mac', 'mtu', 'dst', 'gw', 'table', 'scope', 'nameservers', 'ip', 'supportedVersions'),
    tie('value'),
    { maxKeys: 6 },
  ),
}));

describe('decoding random input', () => {
  it('fails only with a CniError (random JSON values)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(...SUPPORTED_VERSIONS), (value, version) => {
        onlyCniErrors(() => decodeResult(value, version));
        onlyCniErrors(() => decodeResult(value));
        onlyCniErrors(() => decodeVersionResult(value));
      }),
    );
  });

  it('fails only with a CniError (structured garbage)', () => {
    fc.assert(
      fc.property(garbage.object, fc.constantFrom(...SUPPORTED_VERSIONS), (value, version) => {
        onlyCniErrors(() => decodeResult(value, version));
      }),
      { numRuns: 500 },
    );
  });

  it('fails only with a CniError (random text and bytes)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.uint8Array()), (input) => {
        onlyCniErrors(() => decodeResult(input, '1.1.0'));
      }),
    );
  });
});
