// HTTP/1.x message heads (RFC 9112 §2-§6) read straight from the bytes a socket gave:
// the request line or status line, the header fields, and what they say about framing
// and the connection. No I/O: `parseRequestHead` and `parseResponseHead` fill a reused
// `Http1Head` and return a problem (status, why) for anything RFC 9112 makes a
// recipient refuse. Strict where the RFCs allow it (bare LF, obs-fold, bad
// Content-Length all refused); tolerant only where the proxy always was (several spaces
// between the parts of the request line).
//
// Pure code; it sits under sys/ beside the socket code that is its only user.

import { type HttpProblem } from '../http-semantics.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;
// RFC 9110 §5.5: field-value bytes: VCHAR, obs-text, SP, HTAB (no CR, LF, NUL or other controls).
const VALUE_BYTE = new Uint8Array(256);
for (let b = 0; b < 256; b += 1) VALUE_BYTE[b] = b === HTAB || (b >= SP && b !== 0x7f) ? 1 : 0;
// RFC 9112 §3.2: request-target bytes: no whitespace, no controls (obs-text tolerated, as Node's parser did).
const TARGET_BYTE = new Uint8Array(256);
for (let b = 0; b < 256; b += 1) TARGET_BYTE[b] = b > SP && b !== 0x7f ? 1 : 0;

/**
 * Methods the proxy knows (RFC 9110 §9, RFC 5789 PATCH, WebDAV and the other registered
 * ones Node's parser knew); a well-formed token outside it is answered 501 (RFC 9110 §9.1).
 */
const KNOWN_METHODS = new Set([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'MKACTIVITY', 'CHECKOUT', 'MERGE',
  'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PURGE', 'MKCALENDAR', 'LINK', 'UNLINK', 'BIND', 'REBIND', 'UNBIND', 'ACL', 'SOURCE',
]);

/** How a message's body is delimited (RFC 9112 §6.3). */
export const BODY = {
  /** No body: no framing field in a request; HEAD, 1xx, 204 and 304 responses. */
  NONE: 0,
  /** Content-Length bytes. */
  LENGTH: 1,
  /** Transfer-Encoding: chunked. */
  CHUNKED: 2,
  /** A response without either: the body runs until the connection closes. */
  UNTIL_CLOSE: 3,
} as const;

/** One of {@link BODY}. */
export type BodyFraming = (typeof BODY)[keyof typeof BODY];

/** Most digits of a Content-Length: 15 keeps it below 2^53. */
const MAX_LENGTH_DIGITS = 15;

/** A parsed head, reused message after message (its arrays are overwritten, never shared). */
export class Http1Head {
  /** The request's method (requests only). */
  method = '';
  /** The request-target as sent (requests only). */
  target = '';
  /** The status code (responses only). */
  status = 0;
  /** The reason phrase (responses only). */
  reason = '';
  /** 0 for HTTP/1.0, 1 (or more) for HTTP/1.1. */
  minor = 1;
  /** Field names as sent. */
  readonly names: string[] = [];
  /** Field names in lower case. */
  readonly lowers: string[] = [];
  /** Field values, without surrounding whitespace. */
  readonly values: string[] = [];
  /** Fields in use in the arrays above. */
  count = 0;
  /** How the body is delimited. */
  framing: BodyFraming = BODY.NONE;
  /** The Content-Length when {@link framing} is LENGTH. */
  length = 0;
  /** The Host field's value (requests), when there is exactly one. */
  host: string | undefined;
  /** Connection: close, or HTTP/1.0 without Connection: keep-alive. */
  close = false;
  /** Expect: 100-continue. */
  expectContinue = false;
  /** TE names `trailers`. */
  teTrailers = false;
  /** Other field names the Connection field nominates (hop-by-hop), lower case; usually empty. */
  readonly nominated: string[] = [];

  private reset(): void {
    this.method = '';
    this.target = '';
    this.status = 0;
    this.reason = '';
    this.minor = 1;
    this.count = 0;
    this.framing = BODY.NONE;
    this.length = 0;
    this.host = undefined;
    this.close = false;
    this.expectContinue = false;
    this.teTrailers = false;
    this.nominated.length = 0;
  }

  /** @internal Clears the head before a parse. */
  begin(): void {
    this.reset();
  }
}

const problem = (status: number, why: string): HttpProblem => ({ status, why, close: true });

/**
 * Where the head starting at `start` ends: the index just past its empty line (CRLF CRLF),
 * or -1 when it is not all there yet.
 */
export function findHeadEnd(bytes: Buffer, start: number): number {
  const at = bytes.indexOf('\r\n\r\n', start, 'latin1');
  return at < 0 ? -1 : at + 4;
}

/**
 * Whether `bytes[from, to)` holds an LF not preceded by CR (RFC 9112 §2.2: refused here),
 * for heads that are not complete yet (a head with bare LFs never shows CRLF CRLF).
 */
export function hasBareLf(bytes: Buffer, from: number, to: number): boolean {
  let at = bytes.indexOf(LF, from);
  while (at >= 0 && at < to) {
    if (at === 0 || bytes[at - 1] !== CR) return true;
    at = bytes.indexOf(LF, at + 1);
  }
  return false;
}

// The end (index of CR) of the line starting at `at`, or a problem for a bare LF.
function lineEnd(bytes: Buffer, at: number, end: number): number {
  const lf = bytes.indexOf(LF, at);
  if (lf < 0 || lf >= end) return -1;
  if (lf === at || bytes[lf - 1] !== CR) return -2;
  return lf - 1;
}

/**
 * Reads the request head in `bytes[start, end)` (`end` just past CRLF CRLF, see
 * {@link findHeadEnd}) into `head`.
 * @returns undefined, or the problem to answer (400, 501, 505; 405 for CONNECT), which closes the connection.
 */
export function parseRequestHead(bytes: Buffer, start: number, end: number, head: Http1Head): HttpProblem | undefined {
  head.begin();
  const eol = lineEnd(bytes, start, end);
  if (eol < 0) return problem(400, 'invalid request line: bare LF line ending (RFC 9112 §2.2)');
  // RFC 9112 §3: method SP request-target SP HTTP-version.
  let at = start;
  while (at < eol && TCHAR[bytes[at] as number] === 1) at += 1;
  if (at === start || bytes[at] !== SP) return problem(400, 'invalid method in the request line (RFC 9110 §9.1: a token)');
  head.method = bytes.toString('latin1', start, at);
  while (bytes[at] === SP) at += 1;
  const targetStart = at;
  while (at < eol && bytes[at] !== SP) {
    if (TARGET_BYTE[bytes[at] as number] !== 1) return problem(400, `invalid byte 0x${(bytes[at] as number).toString(16).padStart(2, '0')} in the request target (RFC 9112 §3.2)`);
    at += 1;
  }
  if (at === targetStart) return problem(400, 'request line without a request target (RFC 9112 §3)');
  head.target = bytes.toString('latin1', targetStart, at);
  // RFC 9112 Appendix C.1: no version is an HTTP/0.9 simple request.
  if (at === eol) return problem(505, 'HTTP/0.9 is not supported (request line without a version)');
  while (bytes[at] === SP) at += 1;
  const version = parseVersion(bytes, at, eol);
  if (version === undefined) return problem(400, 'invalid HTTP version in the request line (RFC 9112 §2.3: HTTP/d.d)');
  if (version.major !== 1) return problem(505, `HTTP/${version.major}.${version.minor} is not supported`);
  head.minor = version.minor;
  if (!KNOWN_METHODS.has(head.method)) return problem(501, `method ${head.method} is not implemented`);

  const fieldProblem = parseFields(bytes, eol + 2, end, head, 'request');
  if (fieldProblem !== undefined) return fieldProblem;
  return checkRequest(head);
}

/**
 * Reads a response head (status line and fields) from `bytes[start, end)` into `head`.
 * @param requestMethod the request's method: a HEAD request's response has no body.
 * @returns undefined, or what is wrong with it (the status is 502 for the client).
 */
export function parseResponseHead(bytes: Buffer, start: number, end: number, head: Http1Head, requestMethod: string): HttpProblem | undefined {
  head.begin();
  const eol = lineEnd(bytes, start, end);
  if (eol < 0) return problem(502, 'invalid status line: bare LF line ending');
  // RFC 9112 §4: HTTP-version SP 3DIGIT SP [reason-phrase].
  const version = parseVersion(bytes, start, start + 8);
  if (version === undefined || version.major !== 1 || bytes[start + 8] !== SP) return problem(502, 'invalid status line (RFC 9112 §4)');
  head.minor = version.minor;
  let status = 0;
  for (let i = start + 9; i < start + 12; i += 1) {
    const d = (bytes[i] as number) - 0x30;
    if (i >= eol || d < 0 || d > 9) return problem(502, 'invalid status code in the status line (RFC 9112 §4: 3DIGIT)');
    status = status * 10 + d;
  }
  if (status < 100) return problem(502, `invalid status code ${status}`);
  head.status = status;
  if (start + 12 < eol) {
    if (bytes[start + 12] !== SP) return problem(502, 'invalid status line (RFC 9112 §4)');
    for (let i = start + 13; i < eol; i += 1) if (VALUE_BYTE[bytes[i] as number] !== 1) return problem(502, 'invalid byte in the reason phrase');
    head.reason = bytes.toString('latin1', start + 13, eol);
  }
  const fieldProblem = parseFields(bytes, eol + 2, end, head, 'response');
  if (fieldProblem !== undefined) return fieldProblem;
  // RFC 9112 §6.3 (1): HEAD, 1xx, 204 and 304 responses end with their head.
  if (requestMethod === 'HEAD' || status < 200 || status === 204 || status === 304) head.framing = BODY.NONE;
  else if (head.framing === BODY.NONE) head.framing = BODY.UNTIL_CLOSE;
  return undefined;
}

function parseVersion(bytes: Buffer, at: number, eol: number): { major: number; minor: number } | undefined {
  // "HTTP/" DIGIT "." DIGIT
  if (eol - at !== 8 || bytes[at] !== 0x48 || bytes[at + 1] !== 0x54 || bytes[at + 2] !== 0x54 || bytes[at + 3] !== 0x50 || bytes[at + 4] !== 0x2f || bytes[at + 6] !== 0x2e) return undefined;
  const major = (bytes[at + 5] as number) - 0x30;
  const minor = (bytes[at + 7] as number) - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return undefined;
  return { major, minor };
}

// The header fields from `at` to `end` (which is just past the empty line), with the
// framing and connection fields interpreted (RFC 9112 §5, §6, §9.3).
function parseFields(bytes: Buffer, at: number, end: number, head: Http1Head, kind: 'request' | 'response'): HttpProblem | undefined {
  const status = kind === 'request' ? 400 : 502;
  const last = end - 2; // the empty line's CR
  let line = 1;
  let hosts = 0;
  let codings = '';
  let lengthSeen = false;
  let keepAlive = false;
  let connectionClose = false;
  while (at < last) {
    line += 1;
    const eol = lineEnd(bytes, at, end);
    if (eol < 0) return problem(status, `bare LF line ending in header line ${line} (RFC 9112 §2.2)`);
    // RFC 9112 §5.2: obs-fold is refused.
    if (bytes[at] === SP || bytes[at] === HTAB) return problem(status, `obsolete line folding in header line ${line} (RFC 9112 §5.2)`);
    let colon = at;
    while (colon < eol && TCHAR[bytes[colon] as number] === 1) colon += 1;
    // RFC 9112 §5.1: no whitespace between the name and the colon.
    if (colon === at || colon === eol || bytes[colon] !== COLON) return problem(status, `invalid header field name in header line ${line} (RFC 9110 §5.1: a token, then ":")`);
    let from = colon + 1;
    while (from < eol && (bytes[from] === SP || bytes[from] === HTAB)) from += 1;
    let to = eol;
    while (to > from && (bytes[to - 1] === SP || bytes[to - 1] === HTAB)) to -= 1;
    for (let i = from; i < to; i += 1) {
      if (VALUE_BYTE[bytes[i] as number] !== 1) return problem(status, `invalid byte 0x${(bytes[i] as number).toString(16).padStart(2, '0')} in the value of header line ${line} (RFC 9110 §5.5)`);
    }
    const name = bytes.toString('latin1', at, colon);
    const lower = name.toLowerCase();
    const value = bytes.toString('latin1', from, to);
    const n = head.count;
    head.names[n] = name;
    head.lowers[n] = lower;
    head.values[n] = value;
    head.count = n + 1;
    at = eol + 2;
    switch (lower) {
      case 'content-length': {
        // RFC 9112 §6.3 (5): one value, digits only; a list or a second field is refused.
        if (lengthSeen) return problem(status, 'more than one Content-Length');
        lengthSeen = true;
        if (value.length === 0 || value.length > MAX_LENGTH_DIGITS || !/^[0-9]+$/.test(value)) return problem(status, `invalid Content-Length ${JSON.stringify(value)}`);
        head.length = Number(value);
        break;
      }
      case 'transfer-encoding':
        codings = codings === '' ? value : `${codings},${value}`;
        break;
      case 'host':
        hosts += 1;
        head.host = value;
        break;
      case 'connection':
        for (const token of value.split(',')) {
          const t = token.trim().toLowerCase();
          if (t === 'close') connectionClose = true;
          else if (t === 'keep-alive') keepAlive = true;
          else if (t !== '') head.nominated.push(t);
        }
        break;
      case 'expect':
        if (value.toLowerCase() === '100-continue') head.expectContinue = true;
        break;
      case 'te':
        if (value.toLowerCase().split(',').some((t) => t.trim().split(';')[0] === 'trailers')) head.teTrailers = true;
        break;
      default:
    }
  }
  head.close = connectionClose || (head.minor === 0 && !keepAlive);
  if (lengthSeen) head.framing = BODY.LENGTH;
  if (codings !== '') {
    // RFC 9112 §6.1: Content-Length with Transfer-Encoding may be smuggling: refused.
    if (lengthSeen) return problem(status, 'Content-Length with Transfer-Encoding (RFC 9112 §6.1)');
    const list = codings.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '');
    if (list[list.length - 1] !== 'chunked') {
      if (kind === 'response') {
        // RFC 9112 §6.3 (4): a response without chunked last runs until the close.
        head.framing = BODY.UNTIL_CLOSE;
        return undefined;
      }
      // RFC 9112 §6.3 (4): the length of the request cannot be known.
      return problem(400, 'Transfer-Encoding without chunked last (RFC 9112 §6.3)');
    }
    // RFC 9112 §6.1: a coding the proxy does not decode.
    if (list.length > 1) return problem(kind === 'request' ? 501 : 502, `Transfer-Encoding ${list.join(', ')} is not implemented`);
    if (kind === 'request' && head.minor === 0) return problem(400, 'Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)');
    head.framing = BODY.CHUNKED;
  }
  if (kind === 'request') {
    // RFC 9112 §3.2: one Host line; none is an error from HTTP/1.1 on.
    if (hosts > 1) return problem(400, 'more than one Host header');
    if (hosts === 0 && head.minor >= 1) return problem(400, 'HTTP/1.1 request without Host');
  }
  return undefined;
}

// RFC 9110 §9.3.6 and RFC 9112 §3.2: what an origin-facing proxy accepts as a target.
function checkRequest(head: Http1Head): HttpProblem | undefined {
  if (head.method === 'CONNECT') return problem(405, 'CONNECT tunnels are not allowed through the L7 proxy');
  const target = head.target;
  if (target.charCodeAt(0) === 0x2f || (target === '*' && head.method === 'OPTIONS')) return undefined;
  if (/^http:\/\/[^/?#]+/i.test(target)) return undefined;
  return problem(400, 'request target is neither origin-form nor http absolute-form');
}
