// CNI spec versions: which exist, how they compare, and which result format each uses.
// SPEC.md §"Version": the spec is versioned with Semantic Version 2.0; the released
// versions are 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0 and 1.1.0.
import { CNI_ERROR, CniError } from '../errors.js';

/** Every CNI spec version this package implements, oldest first. */
export const SUPPORTED_VERSIONS = Object.freeze([
  '0.1.0',
  '0.2.0',
  '0.3.0',
  '0.3.1',
  '0.4.0',
  '1.0.0',
  '1.1.0',
] as const);

/** A released CNI spec version (one of {@link SUPPORTED_VERSIONS}). */
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The newest spec version this package implements. */
export const LATEST_VERSION: CniVersion = '1.1.0';

/**
 * The result formats ("families"): versions in one family share a result shape.
 * 0.1.0/0.2.0 have `ip4`/`ip6`; 0.3.0-0.4.0 have `interfaces`/`ips` with `version`;
 * 1.0.0 drops `ips[].version`; 1.1.0 adds interface and route attributes.
 */
export const RESULT_FAMILIES = Object.freeze({
  /** Results of 0.1.0 have the shape of {@link Result020}. */
  '0.1.0': '020',
  /** Results of 0.2.0 have the shape of {@link Result020}. */
  '0.2.0': '020',
  /** Results of 0.3.0 have the shape of {@link Result040}. */
  '0.3.0': '040',
  /** Results of 0.3.1 have the shape of {@link Result040}. */
  '0.3.1': '040',
  /** Results of 0.4.0 have the shape of {@link Result040}. */
  '0.4.0': '040',
  /** Results of 1.0.0 have the shape of {@link Result100}. */
  '1.0.0': '100',
  /** Results of 1.1.0 have the shape of {@link Result110}. */
  '1.1.0': '110',
} as const satisfies Record<CniVersion, string>);

/** The result family of a version: `'020'`, `'040'`, `'100'` or `'110'`. */
export type ResultFamily = (typeof RESULT_FAMILIES)[CniVersion];

/** A parsed semantic version (major.minor.patch; pre-release tags are not used by CNI). */
export interface ParsedVersion {
  /** The major version. */
  readonly major: number;
  /** The minor version. */
  readonly minor: number;
  /** The patch version (0 when the text had none, as in `"0.1"`). */
  readonly patch: number;
}

// Decimal numbers without leading zeros (SemVer 2.0 §2). The patch part may be left out:
// the 0.2.0 spec's own example configuration says `"cniVersion": "0.1"`.
const VERSION_PATTERN = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:\.(0|[1-9]\d{0,8}))?$/;

/**
 * Parses `MAJOR.MINOR[.PATCH]`. Throws a CniError with code 1 (incompatible CNI version)
 * naming the bad text; a version that cannot be read cannot be compatible.
 */
export function parseVersion(text: string): ParsedVersion {
  const match = VERSION_PATTERN.exec(text);
  if (match === null) {
    throw new CniError(CNI_ERROR.INCOMPATIBLE_VERSION, `invalid version "${text}": want MAJOR.MINOR.PATCH`);
  }
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? '0') };
}

/** `MAJOR.MINOR.PATCH` for a parsed version. */
export function formatVersion(version: ParsedVersion): string {
  return `${version.major}.${version.minor}.${version.patch}`;
}

/** Whether `text` is exactly one of {@link SUPPORTED_VERSIONS}. */
export function isSupportedVersion(text: unknown): text is CniVersion {
  return typeof text === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(text);
}

/**
 * Normalizes a version string (`"0.1"` → `"0.1.0"`) and checks that it is one this
 * package implements. Throws a CniError with code 1 when it is malformed or unknown.
 */
export function toSupportedVersion(text: string): CniVersion {
  const normalized = formatVersion(parseVersion(text));
  if (!isSupportedVersion(normalized)) {
    throw new CniError(
      CNI_ERROR.INCOMPATIBLE_VERSION,
      `unsupported CNI version "${text}"`,
      `supported versions: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  return normalized;
}

/**
 * Compares two version strings: negative when `a` is older, 0 when equal, positive when
 * newer. Throws a CniError with code 1 when either is malformed.
 */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch;
}

/** Whether `version` is at least `minimum` (both parsed; throws as {@link compareVersions}). */
export function isVersionAtLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

/**
 * The highest version both sides support, or `undefined` when they share none (the
 * negotiation a runtime does with a plugin's VERSION answer). Malformed entries are
 * ignored rather than thrown: a peer's bad entry should not hide a good common one.
 */
export function highestCommonVersion(ours: readonly string[], theirs: readonly string[]): CniVersion | undefined {
  const normalize = (v: string): string | undefined => {
    try {
      return formatVersion(parseVersion(v));
    } catch {
      return undefined;
    }
  };
  const theirSet = new Set(theirs.map(normalize));
  let best: CniVersion | undefined;
  for (const candidate of ours) {
    const v = normalize(candidate);
    if (v === undefined || !isSupportedVersion(v) || !theirSet.has(v)) continue;
    if (best === undefined || compareVersions(v, best) > 0) best = v;
  }
  return best;
}

/** The result family of a supported version. */
export function resultFamily(version: CniVersion): ResultFamily {
  return RESULT_FAMILIES[version];
}
