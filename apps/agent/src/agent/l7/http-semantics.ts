// The proxy's HTTP decisions that need no socket: which protocol a connection speaks,
// which requests RFC 9110/9112 make us refuse before policy, which headers are
// hop-by-hop, and what a denial or an upstream failure looks like on the wire.

import { type HttpRequestFacts } from '@twill/policy-engine';

import { type L7Endpoint } from './ports.js';

/** The HTTP/2 client connection preface (RFC 9113 §3.4), sent first by h2c prior-knowledge clients such as gRPC. */
export const HTTP2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const PREFACE_BYTES = Uint8Array.from(HTTP2_PREFACE, (c) => c.charCodeAt(0));

/**
 * Which protocol the first bytes of a connection speak: `h2` once the whole preface is
 * there, `http1` as soon as a byte differs from it, `more` while they are a prefix of it.
 */
export function sniffProtocol(bytes: Uint8Array): 'h2' | 'http1' | 'more' {
  const n = Math.min(bytes.length, PREFACE_BYTES.length);
  for (let i = 0; i < n; i += 1) if (bytes[i] !== PREFACE_BYTES[i]) return 'http1';
  return bytes.length >= PREFACE_BYTES.length ? 'h2' : 'more';
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`; other addresses unchanged. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** `10.0.1.2:8080`, `[fd00::2]:8080`. */
export function formatEndpoint(endpoint: L7Endpoint): string {
  return endpoint.address.includes(':') ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
}

// RFC 9110 §7.6.1: hop-by-hop fields, never forwarded; plus those the Connection field names.
// Proxy-Connection and Keep-Alive are pre-standard but still sent (RFC 9112 Appendix C.2.2).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'http2-settings']);
// Fields a Connection header may not take away: the message's framing and its target
// (dropping Content-Length would send the body upstream unframed, as the next request).
const NEVER_NOMINATED = new Set(['content-length', 'host']);

/**
 * The headers to send upstream for a request or to the client for a response: the
 * incoming ones without hop-by-hop fields (RFC 9110 §7.6.1) and without HTTP/2
 * pseudo-headers; `TE: trailers` kept (gRPC needs it, RFC 9113 §8.2.2).
 */
export function endToEndHeaders(headers: Readonly<Record<string, string | string[] | number | undefined>>): Record<string, string | string[]> {
  const connection = headers.connection;
  const named = new Set(
    (Array.isArray(connection) ? connection.join(',') : String(connection ?? ''))
      .split(',').map((token) => token.trim().toLowerCase()).filter((token) => token !== ''),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    const lower = name.toLowerCase();
    if (lower === 'te') {
      if (String(value).toLowerCase().split(',').some((t) => t.trim() === 'trailers')) out.te = 'trailers';
      continue;
    }
    if (HOP_BY_HOP.has(lower) || (named.has(lower) && !NEVER_NOMINATED.has(lower))) continue;
    out[lower] = typeof value === 'number' ? String(value) : value;
  }
  return out;
}

/** A request the proxy must refuse before asking the policy, with the RFC's status. */
export interface HttpProblem {
  /** 400, 405, 501 or 505. */
  readonly status: number;
  /** Short text for the body and the flow record. */
  readonly why: string;
  /** Whether the connection must close after the answer (RFC 9112 §6.3, §9.6). */
  readonly close: boolean;
}

/** What {@link checkHttp1Request} reads of a parsed HTTP/1.x request. */
export interface Http1RequestHead {
  readonly method: string;
  readonly url: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** Name, value, name, value... as received. */
  readonly rawHeaders: readonly string[];
}

/**
 * The problems RFC 9112 makes a server answer itself, beyond those Node's parser already
 * refuses (bad request line, bad header names, obs-fold, bare CR, conflicting or
 * duplicated Content-Length, Content-Length with Transfer-Encoding: all 400 and close).
 */
export function checkHttp1Request(head: Http1RequestHead): HttpProblem | undefined {
  if (head.httpVersionMajor !== 1) {
    return { status: 505, why: `HTTP/${head.httpVersionMajor}.${head.httpVersionMinor} is not supported`, close: true };
  }
  const values = (name: string): string[] => {
    const out: string[] = [];
    for (let i = 0; i + 1 < head.rawHeaders.length; i += 2) if ((head.rawHeaders[i] as string).toLowerCase() === name) out.push(head.rawHeaders[i + 1] as string);
    return out;
  };
  // RFC 9112 §3.2: 400 for more than one Host line, or none in HTTP/1.1 (Node checks the latter).
  const hosts = values('host');
  if (hosts.length > 1) return { status: 400, why: 'more than one Host header', close: true };
  if (head.httpVersionMinor >= 1 && hosts.length === 0) return { status: 400, why: 'HTTP/1.1 request without Host', close: true };
  const codings = values('transfer-encoding').join(',').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '');
  if (codings.length > 0) {
    // RFC 9112 §6.3 (4): chunked not last: the length cannot be known: 400 and close.
    if (codings[codings.length - 1] !== 'chunked') return { status: 400, why: 'Transfer-Encoding without chunked last', close: true };
    // RFC 9112 §6.1: a coding we do not understand: 501.
    if (codings.length > 1) return { status: 501, why: `Transfer-Encoding ${codings.join(', ')} is not implemented`, close: true };
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing: close after answering.
    if (head.httpVersionMinor === 0) return { status: 400, why: 'Transfer-Encoding in an HTTP/1.0 request', close: true };
  }
  if (head.method === 'CONNECT') return { status: 405, why: 'CONNECT tunnels are not allowed through the L7 proxy', close: true };
  if (!head.url.startsWith('/') && head.url !== '*' && !/^http:\/\/[^/?#]+/i.test(head.url)) {
    return { status: 400, why: 'request target is neither origin-form nor http absolute-form', close: true };
  }
  return undefined;
}

/**
 * What a rule matcher sees of an HTTP/1.x request: an absolute-form target
 * (`GET http://api:8080/x`) reduced to its origin form, its authority replacing Host
 * (RFC 9112 §3.2.2). The request still goes to the original destination, never to
 * the authority it names.
 */
export function http1RequestFacts(method: string, url: string, headers: HttpRequestFacts['headers']): HttpRequestFacts {
  const absolute = /^http:\/\/([^/?#]+)([^#]*)/i.exec(url);
  if (absolute !== null) {
    const rest = absolute[2] as string;
    return { method, path: rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest, host: absolute[1] as string, headers };
  }
  const host = headers.host;
  return { method, path: url, ...(typeof host === 'string' ? { host } : {}), headers };
}

/** What an HTTP/2 request's pseudo-headers and headers give a rule matcher. */
export function http2RequestFacts(headers: Readonly<Record<string, string | string[] | undefined>>): HttpRequestFacts {
  const authority = headers[':authority'] ?? headers.host;
  return {
    method: String(headers[':method'] ?? ''),
    path: String(headers[':path'] ?? ''),
    ...(typeof authority === 'string' ? { host: authority } : {}),
    headers,
  };
}

/** The body of a 403: `denied by policy: no HTTP rule of ... allows POST /api/v1/users`. */
export function deniedText(why: string): string {
  return `denied by policy: ${why}\n`;
}

/** gRPC status codes the proxy sends (grpc/doc/statuscodes.md). */
export const GRPC_STATUS = { PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNAVAILABLE: 14 } as const;

/** Whether a request is a gRPC call: content-type `application/grpc` or `application/grpc+proto` etc. */
export function isGrpc(contentType: unknown): boolean {
  return typeof contentType === 'string' && /^application\/grpc($|[+;])/i.test(contentType);
}

/** `grpc-message` percent-encoding (gRPC over HTTP/2 spec): every byte outside 0x20-0x7E, and `%`. */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(message)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A trailers-only gRPC response (HTTP 200, status in the one HEADERS frame that ends the stream). */
export function grpcTrailersOnly(status: number, message: string): Record<string, string | number> {
  return { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(status), 'grpc-message': encodeGrpcMessage(message) };
}

/** How an upstream failure is answered: 503 when the destination could not be reached, 502 when it failed after. */
export function upstreamFailure(error: unknown, destination: L7Endpoint): { status: 502 | 503; grpcStatus: number; why: string } {
  // A pending HTTP/2 stream fails with ERR_HTTP2_STREAM_CANCEL caused by the session's connect error.
  const cause = (error as { code?: unknown; cause?: unknown } | null)?.code === 'ERR_HTTP2_STREAM_CANCEL' ? (error as { cause?: unknown }).cause : undefined;
  const code = ((cause ?? error) as { code?: unknown } | null)?.code;
  const where = formatEndpoint(destination);
  const reach: Readonly<Record<string, string>> = {
    ECONNREFUSED: `${where} refused the connection`,
    EHOSTUNREACH: `${where} is unreachable`,
    ENETUNREACH: `${where} is unreachable`,
    ETIMEDOUT: `${where} did not answer in time`,
    TWILL_CONNECT_TIMEOUT: `${where} did not accept the connection in time`,
  };
  const unreachable = typeof code === 'string' ? reach[code] : undefined;
  if (unreachable !== undefined) return { status: 503, grpcStatus: GRPC_STATUS.UNAVAILABLE, why: `upstream ${unreachable}` };
  const detail = typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
  return { status: 502, grpcStatus: GRPC_STATUS.UNAVAILABLE, why: `upstream ${where} failed: ${detail}` };
}

/** The answer to a request Node's parser refused (its `clientError`), by the parser's error code. */
export function clientErrorAnswer(code: unknown, rawPacket?: unknown): { status: number; why: string } {
  // A well-formed token the parser does not know is an unrecognized method: 501 (RFC 9110 §9.1).
  if (code === 'HPE_INVALID_METHOD' && rawPacket instanceof Uint8Array) {
    const method = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) /.exec(Buffer.from(rawPacket).toString('latin1', 0, 64));
    if (method !== null) return { status: 501, why: `method ${method[1]} is not implemented` };
  }
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, why: 'request header fields too large' };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADER_TIMEOUT') return { status: 408, why: 'request not received in time' };
  if (code === 'HPE_INVALID_METHOD') return { status: 400, why: 'invalid method' };
  if (code === 'HPE_INVALID_VERSION') return { status: 400, why: 'invalid HTTP version or line ending' };
  if (code === 'HPE_INVALID_HEADER_TOKEN') return { status: 400, why: 'invalid header field (name, value or line folding)' };
  if (code === 'HPE_UNEXPECTED_CONTENT_LENGTH' || code === 'HPE_INVALID_CONTENT_LENGTH') return { status: 400, why: 'invalid or conflicting Content-Length' };
  if (code === 'HPE_INVALID_TRANSFER_ENCODING') return { status: 400, why: 'invalid Transfer-Encoding (or with Content-Length)' };
  if (code === 'HPE_INVALID_CHUNK_SIZE') return { status: 400, why: 'invalid chunk size' };
  return { status: 400, why: `malformed request (${typeof code === 'string' ? code : 'unknown error'})` };
}

/** A complete HTTP/1.1 response that closes the connection, for answers written to a raw socket. */
export function closingResponse(status: number, reason: string, text: string): string {
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}
