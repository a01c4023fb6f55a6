import { CNI_ERROR, CniError } from '../errors.js';
import { SUPPORTED_VERSIONS, compareVersions, parseVersion } from '../spec/versions.js';
import { expectArray, expectString } from './field-checks.js';
import { fieldError } from './field-error.js';

/**
 * Chooses the version a network configuration is run with (CNI SPEC §"Version
 * considerations"): the highest version that the configuration lists in `cniVersion`
 * or `cniVersions` and that this library supports. Listed versions that are well-formed
 * but unsupported are skipped, as libcni skips versions newer than its own.
 *
 * @param cniVersion - the document's `cniVersion` value (any JSON value, or undefined).
 * @param cniVersions - the document's `cniVersions` value (any JSON value, or undefined).
 * @param supported - the versions this runtime supports, exact strings.
 * @returns the chosen version, as written in the document.
 * @throws CniError code 7 when a field has the wrong type or a version is malformed
 *   (`cniVersions[1]: invalid version "1.x"`), or when neither field is present
 *   (`cniVersion: missing`); code 1 (incompatible version) when no listed version is
 *   supported.
 */
export function selectCniVersion(
  cniVersion: unknown,
  cniVersions: unknown,
  supported: readonly string[] = SUPPORTED_VERSIONS,
): string {
  const declared: string[] = [];
  if (cniVersion !== undefined) {
    declared.push(checkVersion(expectString(cniVersion, ['cniVersion']), ['cniVersion']));
  }
  if (cniVersions !== undefined) {
    expectArray(cniVersions, ['cniVersions']).forEach((v, i) => {
      declared.push(checkVersion(expectString(v, ['cniVersions', i]), ['cniVersions', i]));
    });
  }
  if (declared.length === 0) throw fieldError(['cniVersion'], 'missing');
  const usable = declared.filter((v) => supported.includes(v)).sort(compareVersions);
  const chosen = usable[usable.length - 1];
  if (chosen === undefined) {
    const field = cniVersions === undefined ? 'cniVersion' : 'cniVersions';
    const listed = declared.map((v) => JSON.stringify(v)).join(', ');
    throw fieldError(
      [field],
      `no supported version among ${listed} (supported: ${supported.join(', ')})`,
      CNI_ERROR.INCOMPATIBLE_VERSION,
    );
  }
  return chosen;
}

// A malformed version in a configuration is a bad configuration (code 7), not an
// incompatible version: parseVersion's code 1 is replaced here.
function checkVersion(text: string, path: readonly (string | number)[]): string {
  try {
    parseVersion(text);
  } catch (error) {
    if (!(error instanceof CniError)) throw error;
    throw fieldError(path, `invalid version ${JSON.stringify(text)}`);
  }
  return text;
}
