// L7 (HTTP) flows, as the flows view shows and filters them, with `twill observe`'s
// meaning (packages/flows src/filters/compile.ts, which the page cannot import):
// `--http-status` is a code (`404`) or a prefix of one or two digits and `+` (`4+`,
// `40+`), and a flow that sent no status matches none; `--http-method` ignores case;
// `--http-path` is a regular expression searched (not anchored) in the URL's path,
// percent-decoded, without scheme, authority, query and fragment. Pure.
import { type UiFlow } from './types.js';

/** A compiled HTTP field filter, or what is wrong with the text. */
export type HttpFilter = { readonly ok: true; readonly matches: (flow: UiFlow) => boolean } | { readonly ok: false; readonly message: string };

const STATUS_FULL = /^[1-5][0-9]{2}$/u;
const STATUS_PREFIX = /^[1-5][0-9]?\+$/u;

/** `--http-status`: `404`, `4+` or `40+`. */
export function compileHttpStatus(text: string): HttpFilter {
  const value = text.trim();
  const full = STATUS_FULL.test(value);
  if (!full && !STATUS_PREFIX.test(value)) return { ok: false, message: 'HTTP status must be a code from 100 to 599 (404) or a prefix and + (4+, 40+)' };
  const prefix = full ? value : value.slice(0, -1);
  return {
    ok: true,
    matches: (flow) => {
      const code = flow.l7?.http?.code ?? 0;
      // No status sent: not an answered request, as in Hubble.
      if (code === 0) return false;
      const status = String(code).padStart(3, '0');
      return full ? status === value : status.startsWith(prefix);
    },
  };
}

/** `--http-method`: `GET`, `get`. */
export function compileHttpMethod(text: string): HttpFilter {
  const method = text.trim().toUpperCase();
  if (!/^[!#$%&'*+.^_`|~0-9A-Z-]+$/u.test(method)) return { ok: false, message: 'HTTP method must be a token (GET, POST, …)' };
  return { ok: true, matches: (flow) => (flow.l7?.http?.method ?? '').toUpperCase() === method };
}

// What Twill's linear-time matcher refuses (a subset of RE2): the page refuses it too, so a
// pattern that works here works with `twill observe`, and the other way round.
const REFUSED: readonly [RegExp, string][] = [
  [/\(\?(?!:)/u, 'flags, named groups and lookaround are not supported (only (...) and (?:...))'],
  [/\\[1-9bBpPxkuc]/u, 'word boundaries, back references, \\p and hex escapes are not supported'],
  [/\[:[a-z]+:\]/u, 'POSIX classes ([:alpha:]) are not supported'],
];

/**
 * `--http-path`: a regular expression searched in the URL's path. The browser's own
 * RegExp runs it (the pattern is the viewer's, in the viewer's tab); constructs
 * `twill observe` refuses are refused here by name.
 */
export function compileHttpPath(text: string): HttpFilter {
  const pattern = text.trim();
  for (const [construct, why] of REFUSED) {
    const found = construct.exec(pattern);
    if (found !== null) return { ok: false, message: `HTTP path: ${why} (at offset ${found.index})` };
  }
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, 'u');
  } catch (error) {
    return { ok: false, message: `HTTP path is not a regular expression: ${error instanceof Error ? error.message : String(error)}` };
  }
  return {
    ok: true,
    matches: (flow) => {
      const url = flow.l7?.http?.url;
      if (url === undefined || url === '') return false;
      const path = urlPath(url);
      return path !== undefined && regex.test(path);
    },
  };
}

/**
 * The path of a URL as Hubble's filter reads it (Go's `url.ParseRequestURI(...).Path`):
 * without scheme, authority, query and fragment, percent-decoded; undefined when the URL
 * cannot be parsed (not a path, a bad percent escape).
 */
export function urlPath(url: string): string | undefined {
  let rest = requestTarget(url);
  if (!rest.startsWith('/') && rest !== '*') return undefined;
  const end = rest.search(/[?#]/u);
  if (end >= 0) rest = rest.slice(0, end);
  if (/%(?![0-9A-Fa-f]{2})/u.test(rest)) return undefined;
  try {
    return decodeURIComponent(rest);
  } catch {
    // Escapes of bytes that are not UTF-8: matched as written.
    return rest;
  }
}

/** The URL without its scheme and authority (`http://api:8080/users?id=1` → `/users?id=1`): the request target as sent. */
export function requestTarget(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//u.exec(url);
  if (scheme === null) return url;
  const slash = url.indexOf('/', scheme[0].length);
  return slash < 0 ? '/' : url.slice(slash);
}

/** A latency as `twill observe` prints it: `850 µs`, `1.2 ms`, `35 ms`, `2.1 s`. */
export function formatLatency(ns: number): string {
  if (ns < 1_000_000) return `${Math.round(ns / 1000)} µs`;
  if (ns < 1_000_000_000) return `${(ns / 1e6).toFixed(ns < 10_000_000 ? 1 : 0)} ms`;
  return `${(ns / 1e9).toFixed(1)} s`;
}

/** An L7 flow's request in one line (`GET /api/v1/users`) and its outcome (`200 (1.2 ms)`); undefined for an L3/L4 flow. */
export function describeRequest(flow: UiFlow): { readonly request: string; readonly outcome: string } | undefined {
  const http = flow.l7?.http;
  if (http === undefined) return undefined;
  const request = `${http.method === '' ? '(no method)' : http.method} ${http.url === '' ? '(no path)' : requestTarget(http.url)}`;
  return { request, outcome: `${http.code === 0 ? 'no status' : http.code} (${formatLatency(flow.l7!.latencyNs)})` };
}
