import { CNI_ERROR } from '../errors.js';
import { expectArray, expectString } from './field-checks.js';
import { fieldError } from './field-error.js';

/**
 * The CNI spec versions the config parser accepts unless told otherwise.
 *
 * This is a local copy so that config parsing does not depend on the version table being
 * written in `src/spec/versions.ts`; once that lands, this constant should become
 * `SUPPORTED_VERSIONS` from there.
 */
export const DEFAULT_CONFIG_VERSIONS: readonly string[] = Object.freeze([
  '0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0',
]);

/**
 * Reads a CNI version string the way libcni does (`pkg/version`): one to three
 * dot-separated decimal numbers, missing parts being 0 (`"0.1"` is 0.1.0).
 * @returns `[major, minor, patch]`, or `undefined` when the text is not a version.
 */
export function parseCniVersion(text: string): readonly [number, number, number] | undefined {
  if (!/^[0-9]+(\.[0-9]+){0,2}$/.test(text)) return undefined;
  const [major = 0, minor = 0, patch = 0] = text.split('.').map(Number);
  return [major, minor, patch];
}

/**
 * Orders two version strings by their numbers (`0.3.1` < `0.4.0` < `1.0.0`).
 * Both must be valid ({@link parseCniVersion}); an invalid one sorts lowest.
 * @returns negative, zero or positive, as `Array.prototype.sort` expects.
 */
export function compareCniVersions(a: string, b: string): number {
  const pa = parseCniVersion(a) ?? [-1, -1, -1];
  const pb = parseCniVersion(b) ?? [-1, -1, -1];
  return pa[0] - pb[0] || pa[1] - pb[1] || pa[2] - pb[2];
}

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
  supported: readonly string[] = DEFAULT_CONFIG_VERSIONS,
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
  const usable = declared.filter((v) => supported.includes(v)).sort(compareCniVersions);
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

function checkVersion(text: string, path: readonly (string | number)[]): string {
  if (parseCniVersion(text) === undefined) throw fieldError(path, `invalid version ${JSON.stringify(text)}`);
  return text;
}
