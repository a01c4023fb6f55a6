// The proxy's HTTP decisions that need no socket: which protocol a connection speaks,
// which headers are hop-by-hop (HTTP/2), and what a denial or an upstream failure looks
// like on the wire. HTTP/1.x heads are read by http1-head.ts.

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

/** A request the proxy must refuse before asking the policy (or a response it cannot pass on), with the RFC's status. */
export interface HttpProblem {
  /** 400, 405, 408, 431, 501 or 505 for a request; 502 for a response. */
  readonly status: number;
  /** Short text for the body and the flow record. */
  readonly why: string;
  /** Whether the connection must close after the answer (RFC 9112 §6.3, §9.6). */
  readonly close: boolean;
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

/** A complete HTTP/1.1 response that closes the connection, for answers written to a raw socket. */
export function closingResponse(status: number, reason: string, text: string): string {
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}
