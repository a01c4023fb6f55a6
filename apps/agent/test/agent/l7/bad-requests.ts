// Malformed and borderline HTTP/1.1 requests, each with what RFC 9110/9112 make the
// proxy do: the status it answers (0: none, the connection is just closed) and whether
// it must close the connection afterwards.

/** One corpus entry. */
export interface BadRequest {
  readonly name: string;
  /** Sent as is (latin1); several strings are sent `gapMs` apart. */
  readonly bytes: string | readonly string[];
  readonly gapMs?: number;
  /** The status line's code; 0 when the proxy must close without an answer. */
  readonly status: number;
  /** Whether the proxy closes the connection after it. */
  readonly closed: boolean;
  /** Where the rule comes from. */
  readonly rfc: string;
}

const GOOD_HEAD = 'Host: api\r\n';

/** The corpus; the proxy under test allows GET /api/v1/.* (the seed rule) and forwards to a real upstream. */
export const BAD_REQUESTS: readonly BadRequest[] = [
  { name: 'request line without a version (an HTTP/0.9 simple request)', bytes: 'GET /api/v1/x\r\nHost: a\r\n\r\n', status: 505, closed: true, rfc: 'RFC 9112 Appendix C.1, RFC 9110 §15.6.6: HTTP/0.9 not supported: 505' },
  { name: 'method with a non-token character', bytes: 'G(T /api/v1/x HTTP/1.1\r\nHost: a\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9110 §9.1: method = token' },
  { name: 'unknown but well-formed method', bytes: 'FROB /api/v1/x HTTP/1.1\r\nHost: a\r\n\r\n', status: 501, closed: true, rfc: 'RFC 9110 §9.1: SHOULD 501 for an unrecognized method' },
  { name: 'HTTP/2.0 in an HTTP/1 request line', bytes: 'GET /api/v1/x HTTP/2.0\r\nHost: a\r\n\r\n', status: 505, closed: true, rfc: 'RFC 9110 §15.6.6: 505 for a major version not supported' },
  { name: 'whitespace between header name and colon', bytes: 'GET /api/v1/x HTTP/1.1\r\nHost : a\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9112 §5.1: MUST 400' },
  { name: 'header name with a non-token character', bytes: 'GET /api/v1/x HTTP/1.1\r\nHost: a\r\nX@Y: 1\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9110 §5.1: field-name = token' },
  { name: 'obs-fold (line folding)', bytes: 'GET /api/v1/x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  2\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9112 §5.2: MUST 400 or replace with SP' },
  { name: 'bare LF line endings', bytes: 'GET /api/v1/x HTTP/1.1\nHost: a\n\n', status: 400, closed: true, rfc: 'RFC 9112 §2.2: a bare LF MAY be accepted; refused here' },
  { name: 'bare CR inside a header value', bytes: 'GET /api/v1/x HTTP/1.1\r\nHost: a\r\nX-A: 1\r2\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9112 §2.2: a bare CR MUST be rejected or replaced' },
  { name: 'NUL in the request target', bytes: 'GET /api/v1/\0 HTTP/1.1\r\nHost: a\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9112 §3.2: invalid request-target: 400' },
  { name: 'two different Content-Length values', bytes: 'POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', status: 400, closed: true, rfc: 'RFC 9112 §6.3 (5): unrecoverable framing error: 400 and close' },
  { name: 'Content-Length list of equal values', bytes: 'POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\na', status: 400, closed: true, rfc: 'RFC 9112 §6.3 (5): MAY accept; refused here' },
  { name: 'negative Content-Length', bytes: 'POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9112 §6.3 (5): invalid Content-Length: 400 and close' },
  { name: 'non-numeric Content-Length', bytes: 'POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: ten\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9112 §6.3 (5)' },
  { name: 'Content-Length with Transfer-Encoding', bytes: 'POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9112 §6.1: MAY reject as smuggling, MUST close' },
  { name: 'Transfer-Encoding without chunked last', bytes: 'POST /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc', status: 400, closed: true, rfc: 'RFC 9112 §6.3 (4): MUST 400 and close' },
  { name: 'Transfer-Encoding with a coding not understood', bytes: 'POST /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', status: 501, closed: true, rfc: 'RFC 9112 §6.1: SHOULD 501' },
  { name: 'Transfer-Encoding in HTTP/1.0', bytes: 'POST /api/v1/x HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9112 §6.1: faulty framing in HTTP/1.0: MUST close' },
  { name: 'chunk size that is not hex', bytes: 'GET /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', status: 400, closed: true, rfc: 'RFC 9112 §7.1: chunk-size = 1*HEXDIG' },
  { name: 'chunk size that overflows', bytes: 'GET /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n', status: 400, closed: true, rfc: 'RFC 9112 §7.1: MUST anticipate overflow' },
  { name: 'header section over 16 KiB', bytes: `GET /api/v1/x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`, status: 431, closed: true, rfc: 'RFC 6585 §5: 431 Request Header Fields Too Large' },
  { name: 'request target over 16 KiB', bytes: `GET /api/v1/${'a'.repeat(17_000)} HTTP/1.1\r\nHost: a\r\n\r\n`, status: 431, closed: true, rfc: 'RFC 9112 §3: over the limit; 431 (Node counts the request line in the header size)' },
  { name: 'headers trickled past the headers timeout (slowloris)', bytes: ['GET /api/v1/x HTTP/1.1\r\n', 'Host: a\r\n', 'X-1: 1\r\n', 'X-2: 2\r\n', 'X-3: 3\r\n', 'X-4: 4\r\n', 'X-5: 5\r\n', 'X-6: 6\r\n'], gapMs: 300, status: 408, closed: true, rfc: 'RFC 9110 §15.5.9: 408 and close' },
  { name: 'HTTP/1.1 without Host', bytes: 'GET /api/v1/x HTTP/1.1\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9112 §3.2: MUST 400' },
  { name: 'two Host headers', bytes: 'GET /api/v1/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9112 §3.2: MUST 400' },
  { name: 'absolute-form with a scheme other than http', bytes: 'GET ftp://evil.example/api/v1/x HTTP/1.1\r\nHost: a\r\n\r\n', status: 400, closed: true, rfc: 'RFC 9112 §3.2.2: an origin server handles http targets only' },
  { name: 'CONNECT tunnel', bytes: 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n', status: 405, closed: true, rfc: 'RFC 9110 §9.3.6: a server may refuse; 405 and close' },
  // Accepted as the RFCs require, after the malformed ones.
  // Node's parser tolerates the extra space; the request forwarded is well formed (SHOULD 400, not MUST).
  { name: 'request line with two spaces', bytes: 'GET  /api/v1/x HTTP/1.1\r\nHost: a\r\n\r\n', status: 200, closed: false, rfc: 'RFC 9112 §3: SHOULD 400 or 301; Node tolerates it, the upstream gets a clean request line' },
  { name: 'HTTP/1.0 without Host (allowed in 1.0)', bytes: 'GET /api/v1/x HTTP/1.0\r\n\r\n', status: 200, closed: true, rfc: 'RFC 9112 §3.2: Host is required from HTTP/1.1; 1.0 closes by default (§9.3)' },
  { name: 'absolute-form naming another host', bytes: 'GET http://evil.example/api/v1/x HTTP/1.1\r\nHost: a\r\n\r\n', status: 200, closed: false, rfc: 'RFC 9112 §3.2.2: MUST accept; the original destination answers, never evil.example' },
  { name: 'denied method keeps the connection', bytes: `DELETE /api/v1/x HTTP/1.1\r\n${GOOD_HEAD}\r\n`, status: 403, closed: false, rfc: 'policy: 403, keep-alive' },
];
