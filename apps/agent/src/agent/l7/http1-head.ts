// HTTP/1.x message heads (RFC 9112 §2-§6) read straight from the bytes a socket gave:
// the request line or status line, the header fields, and what they say about framing
// and the connection. No I/O: `parseRequestHead` and `parseResponseHead` fill a reused
// `Http1Head` and return a problem (status, why) for anything RFC 9112 makes a
// recipient refuse. Strict where the RFCs allow it (bare LF, obs-fold, bad
// Content-Length all refused); tolerant only where the proxy always was (several spaces
// between the parts of the request line).
//
// Pure code; it sits under sys/ beside the socket code that is its only user.

import { type HttpProblem } from './http-semantics.js';

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

/**
 * What a field is to the proxy, by its name (RFC 9110 §7.6.1 hop-by-hop fields, and the
 * ones it reads or rewrites itself).
 */
export const FIELD = {
  /** Anything else: passed on as it is. */
  PLAIN: 0,
  /** Keep-Alive, Proxy-Connection, HTTP2-Settings: hop-by-hop. */
  HOP: 1,
  /** Connection: hop-by-hop, read for close / keep-alive and the fields it nominates. */
  CONNECTION: 2,
  /** Transfer-Encoding: hop-by-hop, read for the framing (written again when chunked). */
  TRANSFER_ENCODING: 3,
  /** TE: hop-by-hop (`TE: trailers` written again). */
  TE: 4,
  /** Expect (requests: answered by the proxy). */
  EXPECT: 5,
  /** Host. */
  HOST: 6,
  /** Content-Length. */
  CONTENT_LENGTH: 7,
  /** Nominated by the Connection field: hop-by-hop. */
  NOMINATED: 8,
  /** Upgrade: hop-by-hop, read for the protocols asked for (written again when the proxy lets an upgrade through). */
  UPGRADE: 9,
} as const;

/** One of {@link FIELD}. */
export type FieldKind = (typeof FIELD)[keyof typeof FIELD];

// Per field in `Http1Head.offsets`: line start, colon, value start, value end, line end (its CR).
const STRIDE = 5;
const EMPTY = Buffer.alloc(0);

/**
 * A parsed head, reused message after message. Field names and values stay bytes in
 * {@link bytes} (no string per field) until {@link name}, {@link lower} or {@link value}
 * asks; they are valid until the next parse.
 */
export class Http1Head {
  /** The request's method (requests only). */
  method = '';
  /** The request-target as sent (requests only). */
  target = '';
  /** The status code (responses only). */
  status = 0;
  /** 0 for HTTP/1.0, 1 (or more) for HTTP/1.1. */
  minor = 1;
  /** Whether the request line is `method SP target SP HTTP/1.1` with single spaces (it can be passed on as it is). */
  plainLine = false;
  /** The bytes of the head, as given to the parse (not copied). */
  bytes: Buffer = EMPTY;
  /** Where the head starts in {@link bytes}. */
  start = 0;
  /** Where the request or status line ends in {@link bytes} (its CR). */
  lineEnd = 0;
  /** Just past the head's empty line in {@link bytes}. */
  end = 0;
  /** Fields in the head. */
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
  /**
   * The Upgrade field's value (`websocket`, `h2c`, ...) when Connection names `upgrade`
   * too (RFC 9110 §7.8: one without the other is not an upgrade); empty otherwise.
   */
  upgrade = '';
  /** Other field names the Connection field nominates (hop-by-hop), lower case; usually empty. */
  readonly nominated: string[] = [];
  private offsets = new Int32Array(64 * STRIDE);
  private kinds = new Uint8Array(64);

  /** @internal Clears the head before a parse of `bytes[start, end)`. */
  begin(bytes: Buffer, start: number, end: number): void {
    this.method = '';
    this.target = '';
    this.status = 0;
    this.minor = 1;
    this.plainLine = false;
    this.bytes = bytes;
    this.start = start;
    this.lineEnd = start;
    this.end = end;
    this.count = 0;
    this.framing = BODY.NONE;
    this.length = 0;
    this.host = undefined;
    this.close = false;
    this.expectContinue = false;
    this.teTrailers = false;
    this.upgrade = '';
    this.nominated.length = 0;
  }

  /** @internal Records a field; returns its index. */
  add(lineStart: number, colon: number, valueStart: number, valueEnd: number, lineEnd: number, kind: FieldKind): number {
    const n = this.count;
    if ((n + 1) * STRIDE > this.offsets.length) {
      const offsets = new Int32Array(this.offsets.length * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
      const kinds = new Uint8Array(this.kinds.length * 2);
      kinds.set(this.kinds);
      this.kinds = kinds;
    }
    const at = n * STRIDE;
    this.offsets[at] = lineStart;
    this.offsets[at + 1] = colon;
    this.offsets[at + 2] = valueStart;
    this.offsets[at + 3] = valueEnd;
    this.offsets[at + 4] = lineEnd;
    this.kinds[n] = kind;
    this.count = n + 1;
    return n;
  }

  /** What field `i` is to the proxy. */
  kind(i: number): FieldKind {
    return this.kinds[i] as FieldKind;
  }

  /** @internal */
  setKind(i: number, kind: FieldKind): void {
    this.kinds[i] = kind;
  }

  /** Field `i`'s name as sent. */
  name(i: number): string {
    return this.bytes.toString('latin1', this.offsets[i * STRIDE] as number, this.offsets[i * STRIDE + 1] as number);
  }

  /** Field `i`'s name in lower case. */
  lower(i: number): string {
    return this.name(i).toLowerCase();
  }

  /** Field `i`'s value, without surrounding whitespace. */
  value(i: number): string {
    return this.bytes.toString('latin1', this.offsets[i * STRIDE + 2] as number, this.offsets[i * STRIDE + 3] as number);
  }

  /** Where field `i`'s line starts in {@link bytes}. */
  lineStartOf(i: number): number {
    return this.offsets[i * STRIDE] as number;
  }

  /** Just past field `i`'s line (its CRLF) in {@link bytes}. */
  lineStopOf(i: number): number {
    return (this.offsets[i * STRIDE + 4] as number) + 2;
  }

  /** The fields as Node gives them: lower-case names, repeated ones as arrays. */
  record(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (let i = 0; i < this.count; i += 1) {
      const lower = this.lower(i);
      const value = this.value(i);
      const seen = out[lower];
      if (seen === undefined) out[lower] = value;
      else if (typeof seen === 'string') out[lower] = [seen, value];
      else seen.push(value);
    }
    return out;
  }
}

// Whether bytes[at, at + lower.length) spell `lower` in any case (names are tokens already).
function named(bytes: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i += 1) if (((bytes[at + i] as number) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

function kindOf(bytes: Buffer, at: number, length: number): FieldKind {
  switch (length) {
    case 2: return named(bytes, at, 'te') ? FIELD.TE : FIELD.PLAIN;
    case 4: return named(bytes, at, 'host') ? FIELD.HOST : FIELD.PLAIN;
    case 6: return named(bytes, at, 'expect') ? FIELD.EXPECT : FIELD.PLAIN;
    case 7: return named(bytes, at, 'upgrade') ? FIELD.UPGRADE : FIELD.PLAIN;
    case 10: return named(bytes, at, 'connection') ? FIELD.CONNECTION : named(bytes, at, 'keep-alive') ? FIELD.HOP : FIELD.PLAIN;
    case 14: return named(bytes, at, 'content-length') ? FIELD.CONTENT_LENGTH : named(bytes, at, 'http2-settings') ? FIELD.HOP : FIELD.PLAIN;
    case 16: return named(bytes, at, 'proxy-connection') ? FIELD.HOP : FIELD.PLAIN;
    case 17: return named(bytes, at, 'transfer-encoding') ? FIELD.TRANSFER_ENCODING : FIELD.PLAIN;
    default: return FIELD.PLAIN;
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
 * The method token as a string: GET and POST are constants, so that most requests' method
 * (kept in their flow record, in the observer's ring) is not one more string to allocate.
 */
function methodName(bytes: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === 3 && bytes[start] === 0x47 && bytes[start + 1] === 0x45 && bytes[start + 2] === 0x54) return 'GET';
  if (n === 4 && bytes[start] === 0x50 && bytes[start + 1] === 0x4f && bytes[start + 2] === 0x53 && bytes[start + 3] === 0x54) return 'POST';
  return bytes.toString('latin1', start, end);
}

/**
 * Reads the request head in `bytes[start, end)` (`end` just past CRLF CRLF, see
 * {@link findHeadEnd}) into `head`.
 * @returns undefined, or the problem to answer (400, 501, 505; 405 for CONNECT), which closes the connection.
 */
export function parseRequestHead(bytes: Buffer, start: number, end: number, head: Http1Head): HttpProblem | undefined {
  head.begin(bytes, start, end);
  const eol = lineEnd(bytes, start, end);
  if (eol < 0) return problem(400, 'invalid request line: bare LF line ending (RFC 9112 §2.2)');
  // RFC 9112 §3: method SP request-target SP HTTP-version.
  let at = start;
  while (at < eol && TCHAR[bytes[at] as number] === 1) at += 1;
  if (at === start || bytes[at] !== SP) return problem(400, 'invalid method in the request line (RFC 9110 §9.1: a token)');
  head.method = methodName(bytes, start, at);
  const methodEnd = at;
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
  const targetEnd = at;
  while (bytes[at] === SP) at += 1;
  const version = parseVersion(bytes, at, eol);
  if (version < 0) return problem(400, 'invalid HTTP version in the request line (RFC 9112 §2.3: HTTP/d.d)');
  if (version >> 4 !== 1) return problem(505, `HTTP/${version >> 4}.${version & 15} is not supported`);
  head.minor = version & 15;
  head.lineEnd = eol;
  head.plainLine = methodEnd + 1 === targetStart && targetEnd + 1 === at && head.minor === 1;
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
  head.begin(bytes, start, end);
  const eol = lineEnd(bytes, start, end);
  if (eol < 0) return problem(502, 'invalid status line: bare LF line ending');
  // RFC 9112 §4: HTTP-version SP 3DIGIT SP [reason-phrase].
  const version = parseVersion(bytes, start, start + 8);
  if (version < 0 || version >> 4 !== 1 || bytes[start + 8] !== SP) return problem(502, 'invalid status line (RFC 9112 §4)');
  head.minor = version & 15;
  head.lineEnd = eol;
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
  }
  const fieldProblem = parseFields(bytes, eol + 2, end, head, 'response');
  if (fieldProblem !== undefined) return fieldProblem;
  // RFC 9112 §6.3 (1): HEAD, 1xx, 204 and 304 responses end with their head.
  if (requestMethod === 'HEAD' || status < 200 || status === 204 || status === 304) head.framing = BODY.NONE;
  else if (head.framing === BODY.NONE) head.framing = BODY.UNTIL_CLOSE;
  return undefined;
}

// "HTTP/" DIGIT "." DIGIT: major << 4 | minor, or -1.
function parseVersion(bytes: Buffer, at: number, eol: number): number {
  if (eol - at !== 8 || bytes[at] !== 0x48 || bytes[at + 1] !== 0x54 || bytes[at + 2] !== 0x54 || bytes[at + 3] !== 0x50 || bytes[at + 4] !== 0x2f || bytes[at + 6] !== 0x2e) return -1;
  const major = (bytes[at + 5] as number) - 0x30;
  const minor = (bytes[at + 7] as number) - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return -1;
  return (major << 4) | minor;
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
  let connectionUpgrade = false;
  let upgrade = '';
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
    const kind = kindOf(bytes, at, colon - at);
    head.add(at, colon, from, to, eol, kind);
    at = eol + 2;
    if (kind === FIELD.PLAIN || kind === FIELD.HOP) continue;
    switch (kind) {
      case FIELD.CONTENT_LENGTH: {
        // RFC 9112 §6.3 (5): one value, digits only; a list or a second field is refused.
        if (lengthSeen) return problem(status, 'more than one Content-Length');
        lengthSeen = true;
        let length = 0;
        let ok = to > from && to - from <= MAX_LENGTH_DIGITS;
        for (let i = from; ok && i < to; i += 1) {
          const d = (bytes[i] as number) - 0x30;
          if (d < 0 || d > 9) ok = false;
          else length = length * 10 + d;
        }
        if (!ok) return problem(status, `invalid Content-Length ${JSON.stringify(bytes.toString('latin1', from, to))}`);
        head.length = length;
        break;
      }
      case FIELD.TRANSFER_ENCODING: {
        const value = bytes.toString('latin1', from, to);
        codings = codings === '' ? value : `${codings},${value}`;
        break;
      }
      case FIELD.HOST:
        hosts += 1;
        head.host = bytes.toString('latin1', from, to);
        break;
      case FIELD.CONNECTION:
        for (const token of bytes.toString('latin1', from, to).split(',')) {
          const t = token.trim().toLowerCase();
          if (t === 'close') connectionClose = true;
          else if (t === 'keep-alive') keepAlive = true;
          else if (t === 'upgrade') connectionUpgrade = true;
          else if (t !== '') head.nominated.push(t);
        }
        break;
      case FIELD.UPGRADE:
        upgrade = upgrade === '' ? bytes.toString('latin1', from, to) : `${upgrade}, ${bytes.toString('latin1', from, to)}`;
        break;
      case FIELD.EXPECT:
        if (bytes.toString('latin1', from, to).toLowerCase() === '100-continue') head.expectContinue = true;
        break;
      case FIELD.TE:
        if (bytes.toString('latin1', from, to).toLowerCase().split(',').some((t) => t.trim().split(';')[0] === 'trailers')) head.teTrailers = true;
        break;
      default:
    }
  }
  // RFC 9110 §7.6.1: the fields Connection names are hop-by-hop too (never the framing or the target).
  if (head.nominated.length > 0) {
    for (let i = 0; i < head.count; i += 1) {
      if (head.kind(i) === FIELD.PLAIN && head.nominated.includes(head.lower(i))) head.setKind(i, FIELD.NOMINATED);
    }
  }
  head.close = connectionClose || (head.minor === 0 && !keepAlive);
  if (connectionUpgrade) head.upgrade = upgrade;
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
