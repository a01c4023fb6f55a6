// Reading what a plugin printed, as the spec demands it: stdout is one JSON document
// (a result, a VERSION answer or an error) or nothing, never a log line or a stack trace
// (SPEC.md §"Section 2: Execution Protocol", §"Error").
import { type ExecResult } from '../invoke/types.js';

const decoder = new TextDecoder();

/** The start of a text, on one line, quoted: for reasons in the report. */
export function excerpt(text: string, max = 80): string {
  const flat = text.trim().replace(/\s+/g, ' ');
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max)}…` : flat);
}

/** stdout as text. */
export function stdoutText(result: ExecResult): string {
  return decoder.decode(result.stdout);
}

/**
 * Parses stdout as exactly one JSON document.
 * @returns the value, `undefined` for an empty stdout, or an `{ error }` saying what is wrong.
 */
export function parseStdout(text: string): { value: unknown } | { error: string } | undefined {
  if (text.trim() === '') return undefined;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { error: `stdout is not only a JSON document: ${excerpt(text)}` };
  }
}

/** How the process ended, in words, when that is all there is to say. */
function ending(result: ExecResult, timeoutMs: number): string | undefined {
  if (result.timedOut) return `was killed after ${timeoutMs} ms`;
  if (result.exitCode === null) return `was killed by ${result.signal ?? 'a signal'}`;
  return undefined;
}

/** The stderr tail for a reason, when there is one. */
function stderrNote(result: ExecResult): string {
  return result.stderr.trim() === '' ? '' : ` (stderr: ${excerpt(result.stderr)})`;
}

/** A verdict on one call: `ok` true with a note, or false with the reason. */
export type Verdict = { readonly ok: true; readonly note: string } | { readonly ok: false; readonly reason: string };

/**
 * Judges a call that must fail with the spec's error document and `code`: a non-zero
 * exit, stdout one JSON object with a numeric `code`, a string `msg`, an optional string
 * `details` (and `cniVersion`), and the expected code.
 */
export function judgeError(result: ExecResult, code: number, timeoutMs: number): Verdict {
  const ended = ending(result, timeoutMs);
  if (ended !== undefined) return { ok: false, reason: `${ended}; expected error code ${code}` };
  const text = stdoutText(result);
  if (result.exitCode === 0) {
    const printed = text.trim() === '' ? `nothing on stdout${stderrNote(result)}` : excerpt(text);
    return { ok: false, reason: `exited 0 and printed ${printed}; expected error code ${code}` };
  }
  const parsed = parseStdout(text);
  if (parsed === undefined) {
    return { ok: false, reason: `exited ${result.exitCode} with nothing on stdout${stderrNote(result)}; expected an error document with code ${code}` };
  }
  if ('error' in parsed) return { ok: false, reason: parsed.error };
  const doc = parsed.value;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, reason: `the error document is not a JSON object: ${excerpt(text)}` };
  }
  const fields = doc as Record<string, unknown>;
  if (typeof fields['code'] !== 'number' || !Number.isInteger(fields['code'])) {
    return { ok: false, reason: `the error document has no integer code: ${excerpt(text)}` };
  }
  if (typeof fields['msg'] !== 'string') return { ok: false, reason: `the error document's msg is not a string: ${excerpt(text)}` };
  for (const key of ['details', 'cniVersion']) {
    if (fields[key] !== undefined && typeof fields[key] !== 'string') {
      return { ok: false, reason: `the error document's ${key} is not a string: ${excerpt(text)}` };
    }
  }
  if (fields['code'] !== code) {
    return { ok: false, reason: `error code ${fields['code']} (${excerpt(fields['msg'])}); expected ${code}` };
  }
  return { ok: true, note: `code ${code}: ${excerpt(fields['msg'])}` };
}

/** Judges a call that must succeed: exit 0, stdout one JSON document (decoded by `decode`). */
export function judgeSuccess<T>(
  result: ExecResult,
  timeoutMs: number,
  decode: (value: unknown) => T,
): { ok: true; value: T } | { ok: false; reason: string } {
  const ended = ending(result, timeoutMs);
  if (ended !== undefined) return { ok: false, reason: ended };
  const text = stdoutText(result);
  if (result.exitCode !== 0) {
    const parsed = parseStdout(text);
    const said = parsed && 'value' in parsed ? `: ${excerpt(text)}` : `${stderrNote(result)}`;
    return { ok: false, reason: `exited ${result.exitCode}${said}` };
  }
  const parsed = parseStdout(text);
  if (parsed === undefined) return { ok: false, reason: `exited 0 with nothing on stdout${stderrNote(result)}` };
  if ('error' in parsed) return { ok: false, reason: parsed.error };
  try {
    return { ok: true, value: decode(parsed.value) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}
