// A CNI result of any version: decoding picks the version's module, encoding prints it.
// SPEC.md §"Section 5: Result Types" (1.x) and §"Result" (0.x).
import { CNI_ERROR, CniError } from '../errors.js';
import { describeJson, expectObject, fieldError, fieldPath, type JsonObject, quote } from './fields.js';
import { decodeResult020, encodeResult020, type Result020 } from './result-020.js';
import { decodeResult040, encodeResult040, type Result040 } from './result-040.js';
import { decodeResult100, encodeResult100, type Result100 } from './result-100.js';
import { decodeResult110, encodeResult110, type Result110 } from './result-110.js';
import { type CniVersion, isSupportedVersion, resultFamily, toSupportedVersion } from './versions.js';

/** A result of any supported version, discriminated by `cniVersion`. */
export type CniResult = Result020 | Result040 | Result100 | Result110;

/** The result type of version `V` (`ResultFor<'1.1.0'>` is `Result110`). */
export type ResultFor<V extends CniVersion> = V extends Result020['cniVersion']
  ? Result020
  : V extends Result040['cniVersion']
    ? Result040
    : V extends Result100['cniVersion']
      ? Result100
      : Result110;

/** Options of {@link decodeResult}. */
export interface DecodeResultOptions {
  /**
   * Where the result sits in a larger document, prefixed to every error path
   * (`'prevResult'` gives `prevResult.ips[0].address: ...`). Default: the top level.
   */
  readonly at?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses JSON text (a string or UTF-8 bytes) into a value. Throws a CniError with code 6
 * (decode failure) when the bytes are not UTF-8 or the text is not JSON.
 */
export function parseJsonText(input: string | Uint8Array, what = 'input'): unknown {
  let text: string;
  try {
    text = typeof input === 'string' ? input : utf8.decode(input);
  } catch {
    throw new CniError(CNI_ERROR.DECODE_FAILURE, `${what}: not valid UTF-8`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CniError(CNI_ERROR.DECODE_FAILURE, `${what}: invalid JSON`, (error as Error).message);
  }
}

/**
 * Decodes a result and validates its shape.
 *
 * `input` is JSON text (a string or UTF-8 bytes, as read from a plugin's stdout) or an
 * already-parsed value (as a config's `prevResult`). `version` is the version the caller
 * expects (normally the config's `cniVersion`); the document's own `cniVersion`, when
 * present, must belong to the same result family (0.3.0/0.3.1/0.4.0 are one family, as
 * in libcni) and is kept. Without `version`, the document's `cniVersion` decides.
 *
 * Throws a CniError: code 6 naming the bad field (`ips[1].address: invalid CIDR
 * "10.1/33"`), or code 1 when the version is unsupported or does not match.
 */
export function decodeResult(input: unknown, version?: string, options: DecodeResultOptions = {}): CniResult {
  const base = options.at ?? '';
  const value = typeof input === 'string' || input instanceof Uint8Array ? parseJsonText(input, base || 'result') : input;
  const object = expectObject(value, base);
  const declared = object['cniVersion'];
  const versionPath = fieldPath(base, 'cniVersion');
  if (declared !== undefined && declared !== null && typeof declared !== 'string') {
    throw fieldError(versionPath, `expected a string, got ${describeJson(declared)}`);
  }
  let target: CniVersion;
  if (version !== undefined) {
    target = toSupportedVersion(version);
    if (typeof declared === 'string' && declared !== target) {
      if (!isSupportedVersion(declared) || resultFamily(declared) !== resultFamily(target)) {
        throw fieldError(
          versionPath,
          `result is version ${quote(declared)} but ${quote(target)} was expected`,
          CNI_ERROR.INCOMPATIBLE_VERSION,
        );
      }
      target = declared;
    }
  } else {
    if (typeof declared !== 'string') throw fieldError(versionPath, 'missing required field');
    if (!isSupportedVersion(declared)) {
      throw fieldError(versionPath, `unsupported CNI version ${quote(declared)}`, CNI_ERROR.INCOMPATIBLE_VERSION);
    }
    target = declared;
  }
  return decodeAs(object, target, base);
}

function decodeAs(object: JsonObject, version: CniVersion, base: string): CniResult {
  switch (version) {
    case '0.1.0':
    case '0.2.0':
      return decodeResult020(object, version, base);
    case '0.3.0':
    case '0.3.1':
    case '0.4.0':
      return decodeResult040(object, version, base);
    case '1.0.0':
      return decodeResult100(object, version, base);
    case '1.1.0':
      return decodeResult110(object, version, base);
  }
}

/** The result as a plain JSON object (keys in spec order, absent keys left out). */
export function resultToJson(result: CniResult): JsonObject {
  switch (result.cniVersion) {
    case '0.1.0':
    case '0.2.0':
      return encodeResult020(result);
    case '0.3.0':
    case '0.3.1':
    case '0.4.0':
      return encodeResult040(result);
    case '1.0.0':
      return encodeResult100(result);
    case '1.1.0':
      return encodeResult110(result);
  }
}

/** The result as JSON text, indented as libcni's `PrintResult` does. */
export function encodeResult(result: CniResult): string {
  return JSON.stringify(resultToJson(result), null, 4);
}
