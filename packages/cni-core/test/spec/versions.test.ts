import { describe, expect, it } from 'vitest';

import {
  compareVersions,
  highestCommonVersion,
  isSupportedVersion,
  parseVersion,
  SUPPORTED_VERSIONS,
  toSupportedVersion,
} from '../../src/spec/versions.js';

describe('versions', () => {
  it('lists the seven released versions, oldest first, frozen', () => {
    expect(SUPPORTED_VERSIONS).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    expect(Object.isFrozen(SUPPORTED_VERSIONS)).toBe(true);
  });

  it('parses and compares numerically', () => {
    expect(parseVersion('1.10.2')).toEqual({ major: 1, minor: 10, patch: 2 });
    expect(compareVersions('0.10.0', '0.4.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0', '1.0.0')).toBe(0);
    expect(compareVersions('0.3.0', '0.3.1')).toBeLessThan(0);
  });

  it.each(['', '1', '1.0.0.0', 'v1.0.0', '01.0.0', '1.0.0-rc1', ' 1.0.0', '1..0'])('rejects %j with code 1', (text) => {
    expect(() => parseVersion(text)).toThrowError(expect.objectContaining({ code: 1 }));
  });

  it('normalizes "0.1" to 0.1.0 (the 0.2.0 spec example config uses it)', () => {
    expect(toSupportedVersion('0.1')).toBe('0.1.0');
    expect(() => toSupportedVersion('0.5.0')).toThrowError('unsupported CNI version "0.5.0"');
    expect(isSupportedVersion('1.1.0')).toBe(true);
    expect(isSupportedVersion('1.1')).toBe(false);
  });

  it('picks the highest common version', () => {
    expect(highestCommonVersion(SUPPORTED_VERSIONS, ['0.3.1', '0.4.0', '1.0.0'])).toBe('1.0.0');
    expect(highestCommonVersion(['0.4.0', '1.1.0'], ['0.3.0', '0.4', 'garbage'])).toBe('0.4.0');
    expect(highestCommonVersion(['1.1.0'], ['1.0.0'])).toBeUndefined();
    expect(highestCommonVersion(['9.9.9'], ['9.9.9'])).toBeUndefined();
  });
});
