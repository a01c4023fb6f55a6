// The proxy's pure HTTP decisions: protocol sniffing, hop-by-hop headers, HTTP/2 request
// facts, and the wire form of denials and failures (HTTP/1.x heads: http1-wire.test.ts).
import { describe, expect, it } from 'vitest';

import {
  closingResponse, encodeGrpcMessage, endToEndHeaders, grpcTrailersOnly, HTTP2_PREFACE, http2RequestFacts, plainAddress, sniffProtocol, upstreamFailure,
} from '../../../src/agent/l7/http-semantics.js';

const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('sniffProtocol', () => {
  it.each([
    [HTTP2_PREFACE, 'h2'],
    [`${HTTP2_PREFACE}\0\0\0\x04`, 'h2'],
    ['PRI * HTTP/2', 'more'],
    ['P', 'more'],
    ['', 'more'],
    ['POST / HTTP/1.1\r\n', 'http1'],
    ['PRI * HTTP/1.1\r\n', 'http1'],
    ['GET / HTTP/1.1\r\n', 'http1'],
  ])('%j → %s', (input, expected) => {
    expect(sniffProtocol(bytes(input))).toBe(expected);
  });
});

describe('endToEndHeaders', () => {
  it('drops hop-by-hop fields and those Connection names, keeps TE: trailers (RFC 9110 §7.6.1)', () => {
    expect(endToEndHeaders({
      host: 'a', connection: 'keep-alive, X-Secret', 'x-secret': '1', 'keep-alive': 'timeout=5', upgrade: 'websocket', 'transfer-encoding': 'chunked',
      'proxy-connection': 'keep-alive', te: 'trailers, deflate', 'content-type': 'text/plain', ':path': '/x', 'set-cookie': ['a=1', 'b=2'], 'content-length': 3,
    })).toEqual({ host: 'a', te: 'trailers', 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'content-length': '3' });
    expect(endToEndHeaders({ te: 'gzip' })).toEqual({});
  });
});

describe('request facts', () => {
  it('reads HTTP/2 pseudo-headers', () => {
    expect(http2RequestFacts({ ':method': 'POST', ':path': '/svc/M', ':authority': 'api:50051' })).toMatchObject({ method: 'POST', path: '/svc/M', host: 'api:50051' });
  });
});

describe('answers', () => {
  it('percent-encodes grpc-message and builds a trailers-only response', () => {
    expect(encodeGrpcMessage('denied: 100% é\n')).toBe('denied: 100%25 %C3%A9%0A');
    expect(grpcTrailersOnly(7, 'no')).toEqual({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7', 'grpc-message': 'no' });
  });
  it('maps upstream failures to 503 (not reached) or 502 (failed after)', () => {
    const dest = { address: 'fd00::2', port: 80 };
    expect(upstreamFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), dest)).toEqual({ status: 503, grpcStatus: 14, why: 'upstream [fd00::2]:80 refused the connection' });
    expect(upstreamFailure(Object.assign(new Error('x'), { code: 'ECONNRESET' }), dest)).toEqual({ status: 502, grpcStatus: 14, why: 'upstream [fd00::2]:80 failed: ECONNRESET' });
  });
  it('writes a closing answer with its length', () => {
    expect(closingResponse(408, 'Request Timeout', 'late\n')).toBe('HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\nConnection: close\r\n\r\nlate\n');
  });
  it('shows IPv4 peers of dual-stack sockets plainly', () => {
    expect(plainAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(plainAddress('fd00::1')).toBe('fd00::1');
  });
});
