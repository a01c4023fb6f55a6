// The plugin-side documents other than results: the VERSION answer, and the GC and
// STATUS types of spec 1.1.0 (SPEC.md v1.1.0 §"VERSION", §"GC", §"STATUS").
import { CNI_ERROR } from '../errors.js';
import {
  expectObject,
  fieldError,
  type JsonObject,
  optionalArray,
  quote,
  requiredString,
  stringElement,
} from './fields.js';
import { parseJsonText } from './result.js';
import { parseVersion } from './versions.js';

/** What a plugin prints for VERSION (SPEC.md §"Version"). */
export interface VersionResult {
  /** The `cniVersion` given on input (or the plugin's newest when there was none). */
  readonly cniVersion: string;
  /** The spec versions the plugin supports. */
  readonly supportedVersions: readonly string[];
}

/**
 * Decodes a VERSION answer (text, bytes or a parsed value). Throws a CniError with code
 * 6 naming the bad field; versions must be well-formed (`supportedVersions[2]: invalid
 * version "1.x"`), but may be ones this package does not implement.
 */
export function decodeVersionResult(input: unknown): VersionResult {
  const value = typeof input === 'string' || input instanceof Uint8Array ? parseJsonText(input, 'version') : input;
  const object = expectObject(value, '');
  const checkVersion = (text: string, path: string): string => {
    try {
      // Kept as written ("0.1" stays "0.1"); only well-formedness is checked here.
      parseVersion(text);
      return text;
    } catch {
      throw fieldError(path, `invalid version ${quote(text)}`);
    }
  };
  const cniVersion = checkVersion(requiredString(object, 'cniVersion', ''), 'cniVersion');
  const supportedVersions = optionalArray(object, 'supportedVersions', '', (element, path) =>
    checkVersion(stringElement(element, path), path),
  );
  if (supportedVersions === undefined) throw fieldError('supportedVersions', 'missing required field');
  return { cniVersion, supportedVersions };
}

/** The JSON text of a VERSION answer. */
export function encodeVersionResult(result: VersionResult): string {
  return JSON.stringify({ cniVersion: result.cniVersion, supportedVersions: [...result.supportedVersions] });
}

/** An attachment that GC must keep (SPEC.md v1.1.0 §"GC"): the runtime still uses it. */
export interface GcAttachment {
  /** The `CNI_CONTAINERID` of the attachment. */
  readonly containerID: string;
  /** The `CNI_IFNAME` of the attachment. */
  readonly ifname: string;
}

/** The config key through which the runtime passes GC's still-valid attachments. */
export const VALID_ATTACHMENTS_KEY = 'cni.dev/valid-attachments';

/**
 * The key libcni also writes, with the same value, because an earlier draft of the spec
 * used it (containernetworking/cni issue #1101). Read only when the proper key is absent.
 */
export const LEGACY_ATTACHMENTS_KEY = 'cni.dev/attachments';

/**
 * Reads the GC attachment list from a plugin config object (`undefined` when neither
 * key is present). Throws a CniError with code 6 naming the bad element.
 */
export function decodeGcAttachments(config: JsonObject, base = ''): readonly GcAttachment[] | undefined {
  const key = config[VALID_ATTACHMENTS_KEY] !== undefined ? VALID_ATTACHMENTS_KEY : LEGACY_ATTACHMENTS_KEY;
  return optionalArray(config, key, base, (element, path) => {
    const object = expectObject(element, path);
    return { containerID: requiredString(object, 'containerID', path), ifname: requiredString(object, 'ifname', path) };
  });
}

/**
 * The STATUS error codes (SPEC.md v1.1.0 §"STATUS"): 50, the plugin cannot service ADD
 * requests; 51, it can, but some connectivity may be limited.
 */
export const STATUS_ERROR_CODES = Object.freeze([
  CNI_ERROR.PLUGIN_NOT_AVAILABLE,
  CNI_ERROR.LIMITED_CONNECTIVITY,
] as const);
