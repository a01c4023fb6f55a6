// CNI_ARGS: "Alphanumeric key-value pairs separated by semicolons; for example,
// FOO=BAR;ABC=123" (SPEC.md §"Parameters"). The `IgnoreUnknown` key is libcni's
// convention (pkg/types/args.go): when true, keys a plugin does not know are not errors.
import { CNI_ERROR, CniError } from '../errors.js';
import { quote } from '../spec/fields.js';

/** Parsed CNI_ARGS. */
export interface CniArgs {
  /** The pairs in order of appearance; a repeated key keeps its last value, as in libcni. */
  readonly pairs: ReadonlyMap<string, string>;
  /** The value of `IgnoreUnknown` (false when absent). */
  readonly ignoreUnknown: boolean;
}

/** Options of {@link parseCniArgs}. */
export interface ParseCniArgsOptions {
  /**
   * The keys the plugin understands. When given, any other key is an error unless
   * `IgnoreUnknown` is true. `IgnoreUnknown` itself is always known.
   */
  readonly known?: readonly string[];
}

/** The key that makes unknown keys acceptable. */
export const IGNORE_UNKNOWN_KEY = 'IgnoreUnknown';

// The spellings Go's strconv.ParseBool accepts, which libcni's UnmarshallableBool uses.
const TRUE_VALUES = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE_VALUES = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function argsError(problem: string): CniError {
  return new CniError(CNI_ERROR.INVALID_ENVIRONMENT, `CNI_ARGS: ${problem}`);
}

/**
 * Parses a CNI_ARGS value. Empty segments (`A=1;;B=2`, a trailing `;`) are skipped.
 * Throws a CniError with code 4 (invalid environment) naming CNI_ARGS: a pair that is
 * not exactly `KEY=VALUE` with a non-empty key, a bad `IgnoreUnknown` value, or (with
 * `known`) an unknown key.
 */
export function parseCniArgs(text: string, options: ParseCniArgsOptions = {}): CniArgs {
  const pairs = new Map<string, string>();
  for (const segment of text.split(';')) {
    if (segment === '') continue;
    const parts = segment.split('=');
    const [key, value] = parts;
    if (parts.length !== 2 || key === undefined || value === undefined || key === '') {
      throw argsError(`invalid pair ${quote(segment)}: want KEY=VALUE`);
    }
    pairs.set(key, value);
  }
  const flag = pairs.get(IGNORE_UNKNOWN_KEY);
  if (flag !== undefined && !TRUE_VALUES.has(flag) && !FALSE_VALUES.has(flag)) {
    throw argsError(`${IGNORE_UNKNOWN_KEY}: invalid boolean ${quote(flag)}`);
  }
  const ignoreUnknown = flag !== undefined && TRUE_VALUES.has(flag);
  if (options.known !== undefined && !ignoreUnknown) {
    const known = new Set([...options.known, IGNORE_UNKNOWN_KEY]);
    for (const key of pairs.keys()) {
      if (!known.has(key)) throw argsError(`unknown key ${quote(key)} (set IgnoreUnknown=true to allow it)`);
    }
  }
  return { pairs, ignoreUnknown };
}
