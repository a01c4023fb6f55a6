// The proxy's pure HTTP decisions: protocol sniffing, hop-by-hop headers, the RFC 9112
// checks made before policy, request facts, and the wire form of denials and failures.
import { describe, expect, it } from 'vitest';

import {
  checkHttp1Request, clientErrorAnswer, encodeGrpcMessage, endToEndHeaders, grpcTrailersOnly, HTTP2_PREFACE, http1RequestFacts, http2RequestFacts, plainAddress, sniffProtocol, upstreamFailure,
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

describe('checkHttp1Request', () => {
  const head = (over: Partial<Parameters<typeof checkHttp1Request>[0]> = {}) =>
    checkHttp1Request({ method: 'GET', url: '/', httpVersionMajor: 1, httpVersionMinor: 1, rawHeaders: ['Host', 'a'], ...over });
  it.each([
    [{}, undefined],
    [{ httpVersionMinor: 0, rawHeaders: [] }, undefined],
    [{ rawHeaders: [] }, { status: 400, why: 'HTTP/1.1 request without Host', close: true }],
    [{ rawHeaders: ['Host', 'a', 'host', 'b'] }, { status: 400, why: 'more than one Host header', close: true }],
    [{ httpVersionMajor: 0, httpVersionMinor: 9 }, { status: 505, why: 'HTTP/0.9 is not supported', close: true }],
    [{ rawHeaders: ['Host', 'a', 'Transfer-Encoding', 'gzip'] }, { status: 400, why: 'Transfer-Encoding without chunked last', close: true }],
    [{ rawHeaders: ['Host', 'a', 'Transfer-Encoding', 'gzip', 'Transfer-Encoding', 'chunked'] }, { status: 501, why: 'Transfer-Encoding gzip, chunked is not implemented', close: true }],
    [{ httpVersionMinor: 0, rawHeaders: ['Transfer-Encoding', 'chunked'] }, { status: 400, why: 'Transfer-Encoding in an HTTP/1.0 request', close: true }],
    [{ method: 'CONNECT', url: 'a:443' }, { status: 405, why: 'CONNECT tunnels are not allowed through the L7 proxy', close: true }],
    [{ url: 'https://a/' }, { status: 400, why: 'request target is neither origin-form nor http absolute-form', close: true }],
    [{ method: 'OPTIONS', url: '*' }, undefined],
    [{ url: 'http://a:8080/x' }, undefined],
  ])('%j → %j', (over, expected) => {
    expect(head(over)).toEqual(expected);
  });
});

describe('request facts', () => {
  it('reduces an absolute-form target to origin form, its authority as host (RFC 9112 §3.2.2)', () => {
    expect(http1RequestFacts('GET', 'http://api:8080/v1?x=1', { host: 'other' })).toEqual({ method: 'GET', path: '/v1?x=1', host: 'api:8080', headers: { host: 'other' } });
    expect(http1RequestFacts('GET', 'http://api', {})).toMatchObject({ path: '/', host: 'api' });
    expect(http1RequestFacts('GET', 'http://api?q', {})).toMatchObject({ path: '/?q', host: 'api' });
    expect(http1RequestFacts('GET', '/x', { host: 'h' })).toEqual({ method: 'GET', path: '/x', host: 'h', headers: { host: 'h' } });
  });
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
  it('answers parser errors with 431, 408, 501 or 400', () => {
    expect(clientErrorAnswer('HPE_HEADER_OVERFLOW').status).toBe(431);
    expect(clientErrorAnswer('ERR_HTTP_REQUEST_TIMEOUT').status).toBe(408);
    expect(clientErrorAnswer('HPE_INVALID_METHOD', bytes('FROB / HTTP/1.1\r\n'))).toEqual({ status: 501, why: 'method FROB is not implemented' });
    expect(clientErrorAnswer('HPE_INVALID_METHOD', bytes('G(T / HTTP/1.1\r\n')).status).toBe(400);
  });
  it('shows IPv4 peers of dual-stack sockets plainly', () => {
    expect(plainAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(plainAddress('fd00::1')).toBe('fd00::1');
  });
});
