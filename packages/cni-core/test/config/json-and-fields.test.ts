import { describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import {
  decodeJson,
  encodeJson,
  expectCidr,
  expectIpAddress,
  fieldError,
  formatFieldPath,
  plainToJson,
  selectCniVersion,
  withSource,
} from '../../src/config/index.js';

describe('field paths and errors', () => {
  it('formats paths the way messages name fields', () => {
    expect(formatFieldPath(['plugins', 1, 'ipam', 'ranges', 0, 0, 'subnet'])).toBe('plugins[1].ipam.ranges[0][0].subnet');
    expect(formatFieldPath(['sysctl', 'net.core.somaxconn'])).toBe('sysctl["net.core.somaxconn"]');
    expect(formatFieldPath([0, 'a'])).toBe('[0].a');
  });

  it('builds a CniError with code 7 unless told otherwise', () => {
    const error = fieldError(['plugins', 1, 'type'], 'missing');
    expect(error).toBeInstanceOf(CniError);
    expect(error.toJSON('1.1.0')).toEqual({ cniVersion: '1.1.0', code: 7, msg: 'plugins[1].type: missing' });
    expect(fieldError(['cniVersion'], 'too new', 1).code).toBe(1);
  });

  it('lets IPAM name a bad CIDR deep in its section (ipaddr.js does the parsing)', () => {
    const path = ['plugins', 1, 'ipam', 'ranges', 0, 0, 'subnet'];
    expect(() => expectCidr('10.1/33', path)).toThrow(
      expect.objectContaining({ code: 7, msg: 'plugins[1].ipam.ranges[0][0].subnet: invalid CIDR "10.1/33"' }),
    );
    expect(() => expectCidr('10.1.0.0/33', path)).toThrow(expect.objectContaining({ code: 7 }));
    expect(() => expectCidr('fd00::/129', path)).toThrow(expect.objectContaining({ code: 7 }));
    expect(expectCidr('10.1.0.0/16', path)).toBe('10.1.0.0/16');
    expect(expectCidr('fd00:10::/64', path)).toBe('fd00:10::/64');
    // Go's net.ParseIP, which the plugins use, refuses zone ids: so do we.
    expect(() => expectIpAddress('fe80::1%eth0', ['gw'])).toThrow(expect.objectContaining({ msg: 'gw: invalid IP address "fe80::1%eth0"' }));
    expect(expectIpAddress('fe80::1', ['gw'])).toBe('fe80::1');
    expect(() => expectIpAddress('0x0a.0.0.1', ['gw'])).toThrow(expect.objectContaining({ msg: 'gw: invalid IP address "0x0a.0.0.1"' }));
  });

  it('prefixes the source of a document and keeps the code', () => {
    expect(withSource('/etc/cni/net.d/a.conf', fieldError(['type'], 'missing')).msg).toBe('/etc/cni/net.d/a.conf: type: missing');
    expect(withSource('/x', new Error('EACCES: permission denied')).code).toBe(5);
  });
});

describe('the lossless JSON reader', () => {
  it('keeps number text, key order, and lets the last duplicate key win', () => {
    const node = decodeJson('{"b": 1.50, "a": 12345678901234567890, "b": 2e0}');
    expect(encodeJson(node)).toBe('{"b":2e0,"a":12345678901234567890}');
  });

  it('skips a byte order mark and reads escapes', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('["\\u00e9\\n\\/"]')]);
    expect(encodeJson(decodeJson(bytes))).toBe('["é\\n/"]');
  });

  it('converts plain values like JSON.stringify, bigint included', () => {
    expect(encodeJson(plainToJson({ a: undefined, b: [undefined, 1n], c: new Date(0) }))).toBe(
      '{"b":[null,1],"c":"1970-01-01T00:00:00.000Z"}',
    );
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(() => plainToJson(cycle, ['runtimeConfig'])).toThrow(expect.objectContaining({ code: 7 }));
  });
});

describe('version selection', () => {
  it('picks the highest supported version of cniVersion and cniVersions', () => {
    expect(selectCniVersion('1.0.0', ['1.0.0', '1.1.0'])).toBe('1.1.0');
    expect(selectCniVersion('1.0.0', ['0.4.0', '1.2.0'])).toBe('1.0.0');
    expect(selectCniVersion(undefined, ['0.3.1', '0.4.0'])).toBe('0.4.0');
  });

  it('takes the supported list as a parameter', () => {
    expect(selectCniVersion('1.0.0', ['1.0.0', '1.1.0'], ['0.4.0', '1.0.0'])).toBe('1.0.0');
    expect(() => selectCniVersion('1.1.0', undefined, ['1.0.0'])).toThrow(expect.objectContaining({ code: 1 }));
  });
});
