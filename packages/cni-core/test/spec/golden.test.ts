// Golden results from the spec's own examples: each decodes, re-encodes to the same
// document, and converts as the spec's version history says it should.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import { convertResult } from '../../src/spec/convert.js';
import { decodeResult, encodeResult, resultToJson } from '../../src/spec/result.js';

const dir = join(import.meta.dirname, 'fixtures', 'golden');
const fixtures = readdirSync(dir)
  .filter((file) => file.endsWith('.json'))
  .map((file) => ({ file, ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as { version: string; document: object }) }));

function load(name: string): { version: string; document: object } {
  const fixture = fixtures.find((f) => f.file === name);
  if (fixture === undefined) throw new Error(`no fixture ${name}`);
  return fixture;
}

describe('golden spec examples', () => {
  it.each(fixtures)('$file decodes and encodes back to the same document', ({ version, document }) => {
    const result = decodeResult(JSON.stringify(document), version);
    expect(result.cniVersion).toBe(version);
    expect(resultToJson(result)).toEqual(document);
    expect(JSON.parse(encodeResult(result))).toEqual(document);
  });

  it('takes the version from the request when the spec example omits cniVersion', () => {
    const { cniVersion: _omitted, ...withoutVersion } = load('spec-100-bridge-result.json').document as Record<string, unknown>;
    expect(decodeResult(withoutVersion, '1.0.0').cniVersion).toBe('1.0.0');
  });

  it('converts the 1.0.0 bridge result to 0.4.0 by adding ips[].version', () => {
    const result = decodeResult(load('spec-100-bridge-result.json').document, '1.0.0');
    const old = resultToJson(convertResult(result, '0.4.0'));
    expect(old['ips']).toEqual([{ version: '4', interface: 2, address: '10.1.0.5/16', gateway: '10.1.0.1' }]);
    expect(old['interfaces']).toEqual((load('spec-100-bridge-result.json').document as Record<string, unknown>)['interfaces']);
  });

  it('refuses to convert the 1.0.0 bridge result to 0.2.0, naming what would be lost', () => {
    const result = decodeResult(load('spec-100-bridge-result.json').document, '1.0.0');
    expect(() => convertResult(result, '0.2.0')).toThrowError(
      'cannot convert result from 1.0.0 to 0.2.0 without losing interfaces[0], interfaces[1], interfaces[2], ips[0].interface',
    );
  });

  it('converts it to 0.2.0 when the loss is allowed, as libcni does, and reports the loss', () => {
    const result = decodeResult(load('spec-100-bridge-result.json').document, '1.0.0');
    let lost: readonly string[] = [];
    const old = convertResult(result, '0.2.0', { allowLoss: true, onLoss: (paths) => (lost = paths) });
    expect(resultToJson(old)).toEqual(load('spec-020-template.json').document);
    expect(lost).toEqual(['interfaces[0]', 'interfaces[1]', 'interfaces[2]', 'ips[0].interface']);
  });

  it('converts the abbreviated host-local result to 0.2.0 without loss', () => {
    const result = decodeResult(load('spec-100-host-local-result.json').document, '1.0.0');
    expect(resultToJson(convertResult(result, '0.2.0'))).toEqual(load('spec-020-template.json').document);
  });

  it('converts the 0.2.0 result up to 1.1.0 and back unchanged', () => {
    const result = decodeResult(load('spec-020-template.json').document, '0.2.0');
    const up = convertResult(result, '1.1.0');
    expect(resultToJson(up)).toEqual({
      cniVersion: '1.1.0',
      ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.1.0.1'] },
    });
    expect(convertResult(up, '0.2.0')).toEqual(result);
  });

  it('refuses 1.1.0 to 1.0.0 naming each 1.1.0 attribute, with code 1', () => {
    const result = decodeResult(load('spec-110-bridge-result.json').document, '1.1.0');
    let error: unknown;
    try {
      convertResult(result, '1.0.0');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CniError);
    expect((error as CniError).code).toBe(1);
    expect((error as CniError).msg).toBe(
      'cannot convert result from 1.1.0 to 1.0.0 without losing interfaces[0].mtu, interfaces[1].mtu, ' +
        'interfaces[2].mtu, interfaces[2].socketPath, interfaces[2].pciID, routes[0].mtu, routes[0].advmss, ' +
        'routes[0].priority, routes[0].table, routes[0].scope',
    );
  });

  it('drops the 1.1.0 attributes when allowed, giving the 1.0.0 example back', () => {
    const result = decodeResult(load('spec-110-bridge-result.json').document, '1.1.0');
    const down = resultToJson(convertResult(result, '1.0.0', { allowLoss: true }));
    const expected = structuredClone(load('spec-100-bridge-result.json').document) as { routes: { gw?: string }[] };
    expected.routes = [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] as never;
    expect(down).toEqual(expected);
  });

  it('reads the 0.4.0 example as any version of its family (0.3.0, 0.3.1)', () => {
    const { document } = load('spec-040-bridge-prevresult.json');
    expect(decodeResult(document, '0.3.1').cniVersion).toBe('0.4.0');
    expect(convertResult(decodeResult(document, '0.4.0'), '0.3.0').cniVersion).toBe('0.3.0');
  });
});
