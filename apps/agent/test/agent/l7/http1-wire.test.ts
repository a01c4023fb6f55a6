// The proxy's HTTP/1.x codec without sockets: request and response heads (RFC 9112 §2-§6)
// and the chunked coding (§7.1), split at every byte and at random.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ChunkedDecoder } from '../../../src/agent/l7/http1-chunked.js';
import { BODY, FIELD, findHeadEnd, hasBareLf, Http1Head, parseRequestHead, parseResponseHead } from '../../../src/agent/l7/http1-head.js';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

function request(text: string): { head: Http1Head; problem: ReturnType<typeof parseRequestHead> } {
  const bytes = latin1(text);
  const end = findHeadEnd(bytes, 0);
  expect(end, 'a complete head').toBeGreaterThan(0);
  const head = new Http1Head();
  return { head, problem: parseRequestHead(bytes, 0, end, head) };
}

function response(text: string, method = 'GET'): { head: Http1Head; problem: ReturnType<typeof parseResponseHead> } {
  const bytes = latin1(text);
  const head = new Http1Head();
  return { head, problem: parseResponseHead(bytes, 0, findHeadEnd(bytes, 0), head, method) };
}

describe('request heads', () => {
  it('reads the request line, the fields as sent and their lower-case names, and the framing', () => {
    const { head, problem } = request('POST /api/v1/users?x=1 HTTP/1.1\r\nHost: api:8080\r\nX-Trace:  a b \t\r\nContent-Length: 12\r\nConnection: keep-alive, X-Trace\r\n\r\n');
    expect(problem).toBeUndefined();
    expect({ method: head.method, target: head.target, minor: head.minor, host: head.host, framing: head.framing, length: head.length, close: head.close })
      .toEqual({ method: 'POST', target: '/api/v1/users?x=1', minor: 1, host: 'api:8080', framing: BODY.LENGTH, length: 12, close: false });
    const fields = Array.from({ length: head.count }, (_, i) => [head.name(i), head.lower(i), head.value(i), head.kind(i)]);
    expect(fields).toEqual([
      ['Host', 'host', 'api:8080', FIELD.HOST],
      ['X-Trace', 'x-trace', 'a b', FIELD.NOMINATED],
      ['Content-Length', 'content-length', '12', FIELD.CONTENT_LENGTH],
      ['Connection', 'connection', 'keep-alive, X-Trace', FIELD.CONNECTION],
    ]);
    expect(head.nominated).toEqual(['x-trace']);
    expect(head.record()).toEqual({ host: 'api:8080', 'x-trace': 'a b', 'content-length': '12', connection: 'keep-alive, X-Trace' });
    expect(head.plainLine).toBe(true);
  });

  it('classifies hop-by-hop fields by name in any case, and keeps repeated fields as arrays', () => {
    const { head } = request('GET / HTTP/1.1\r\nhost: a\r\nKEEP-ALIVE: 1\r\nUpgrade: ws\r\nProxy-Connection: x\r\nHTTP2-Settings: y\r\nte: trailers\r\nExpect: 100-continue\r\nX-A: 1\r\nx-a: 2\r\n\r\n');
    expect(Array.from({ length: head.count }, (_, i) => head.kind(i))).toEqual([FIELD.HOST, FIELD.HOP, FIELD.UPGRADE, FIELD.HOP, FIELD.HOP, FIELD.TE, FIELD.EXPECT, FIELD.PLAIN, FIELD.PLAIN]);
    expect(head.record()['x-a']).toEqual(['1', '2']);
    // Upgrade without Connection: upgrade is no upgrade (RFC 9110 §7.8).
    expect(head.upgrade).toBe('');
    expect(request('GET  / HTTP/1.1\r\nHost: a\r\n\r\n').head.plainLine).toBe(false);
  });

  it('reads an upgrade only when Connection names it: the Upgrade fields\' protocols, joined', () => {
    expect(request('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n').head.upgrade).toBe('websocket');
    expect(request('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\nUpgrade: foo/2\r\n\r\n').head.upgrade).toBe('h2c, foo/2');
    expect(request('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n').head.upgrade).toBe('');
    expect(response('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n').head.upgrade).toBe('websocket');
  });

  it('reuses one head: a second parse leaves nothing of the first', () => {
    const head = new Http1Head();
    const first = latin1('GET / HTTP/1.1\r\nHost: a\r\nConnection: close, x\r\nExpect: 100-continue\r\nTE: trailers\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(parseRequestHead(first, 0, first.length, head)).toBeUndefined();
    expect([head.close, head.expectContinue, head.teTrailers, head.framing, head.nominated]).toEqual([true, true, true, BODY.CHUNKED, ['x']]);
    const second = latin1('GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    expect(parseRequestHead(second, 0, second.length, head)).toBeUndefined();
    expect([head.target, head.count, head.host, head.close, head.expectContinue, head.teTrailers, head.framing, head.nominated])
      .toEqual(['/b', 1, undefined, false, false, false, BODY.NONE, []]);
  });

  it('closes after an HTTP/1.0 request unless it asks for keep-alive (RFC 9112 §9.3)', () => {
    expect(request('GET / HTTP/1.0\r\n\r\n').head.close).toBe(true);
    expect(request('GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n').head.close).toBe(true);
  });

  it.each([
    ['GET /x\r\nHost: a\r\n\r\n', 505, 'HTTP/0.9 is not supported (request line without a version)'],
    ['G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'invalid method in the request line (RFC 9110 §9.1: a token)'],
    ['FROB / HTTP/1.1\r\nHost: a\r\n\r\n', 501, 'method FROB is not implemented'],
    ['GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505, 'HTTP/2.0 is not supported'],
    ['GET / HTTP/1.10\r\nHost: a\r\n\r\n', 400, 'invalid HTTP version in the request line (RFC 9112 §2.3: HTTP/d.d)'],
    ['GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'invalid byte 0x7f in the request target (RFC 9112 §3.2)'],
    ['GET / HTTP/1.1\r\nHost : a\r\n\r\n', 400, 'invalid header field name in header line 2 (RFC 9110 §5.1: a token, then ":")'],
    ['GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n', 400, 'invalid header field name in header line 3 (RFC 9110 §5.1: a token, then ":")'],
    ['GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n', 400, 'obsolete line folding in header line 4 (RFC 9112 §5.2)'],
    ['GET / HTTP/1.1\r\nHost: a\r\nX: 1\0\r\n\r\n', 400, 'invalid byte 0x00 in the value of header line 3 (RFC 9110 §5.5)'],
    ['GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n', 400, 'bare LF line ending in header line 2 (RFC 9112 §2.2)'],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n', 400, 'more than one Content-Length'],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n', 400, 'invalid Content-Length "+1"'],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456\r\n\r\n', 400, 'invalid Content-Length "1234567890123456"'],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n', 400, 'invalid Content-Length ""'],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n', 400, 'Content-Length with Transfer-Encoding (RFC 9112 §6.1)'],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 400, 'Transfer-Encoding without chunked last (RFC 9112 §6.3)'],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n', 501, 'Transfer-Encoding gzip, chunked is not implemented'],
    ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)'],
    ['GET / HTTP/1.1\r\n\r\n', 400, 'HTTP/1.1 request without Host'],
    ['GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n', 400, 'more than one Host header'],
    ['CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n', 405, 'CONNECT tunnels are not allowed through the L7 proxy'],
    ['GET https://a/ HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'request target is neither origin-form nor http absolute-form'],
    ['GET * HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'request target is neither origin-form nor http absolute-form'],
  ])('%j → %i %s', (text, status, why) => {
    expect(request(text).problem).toEqual({ status, why, close: true });
  });

  it('accepts OPTIONS *, absolute-form http targets, several spaces in the request line and obs-text in values', () => {
    for (const text of ['OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n', 'GET http://a:1/x HTTP/1.1\r\nHost: b\r\n\r\n', 'GET  /x  HTTP/1.1\r\nHost: a\r\n\r\n', 'GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\r\n\r\n']) {
      expect(request(text).problem, text).toBeUndefined();
    }
  });

  it('finds the end of a head and bare LFs in an incomplete one', () => {
    expect(findHeadEnd(latin1('GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY'), 0)).toBe(27);
    expect(findHeadEnd(latin1('GET / HTTP/1.1\r\nHost: a\r\n\r'), 0)).toBe(-1);
    expect(hasBareLf(latin1('GET / HTTP/1.1\nHost'), 0, 19)).toBe(true);
    expect(hasBareLf(latin1('GET / HTTP/1.1\r\nHost'), 0, 20)).toBe(false);
  });
});

describe('response heads', () => {
  it.each([
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', 'GET', 200, 'OK', BODY.LENGTH],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'GET', 200, 'OK', BODY.CHUNKED],
    // RFC 9112 §6.3 (7): no framing: the body runs until the close.
    ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n', 'GET', 200, 'OK', BODY.UNTIL_CLOSE],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', 'GET', 200, 'OK', BODY.UNTIL_CLOSE],
    // RFC 9112 §6.3 (1): HEAD, 1xx, 204 and 304 have none, whatever their fields say.
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', 'HEAD', 200, 'OK', BODY.NONE],
    ['HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n', 'GET', 304, 'Not Modified', BODY.NONE],
    ['HTTP/1.1 204 No Content\r\n\r\n', 'GET', 204, 'No Content', BODY.NONE],
    ['HTTP/1.1 100 Continue\r\n\r\n', 'POST', 100, 'Continue', BODY.NONE],
    ['HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n', 'GET', 103, 'Early Hints', BODY.NONE],
    ['HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n', 'GET', 200, '', BODY.LENGTH],
  ])('%j after %s → %i %j framing %i', (text, method, status, reason, framing) => {
    const { head, problem } = response(text, method);
    expect(problem).toBeUndefined();
    expect([head.status, head.bytes.toString('latin1', head.start + 13, head.lineEnd), head.framing]).toEqual([status, reason, framing]);
  });

  it('keeps the connection unless the destination closes it', () => {
    expect(response('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').head.close).toBe(false);
    expect(response('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').head.close).toBe(true);
    expect(response('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').head.close).toBe(true);
    expect(response('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').head.close).toBe(false);
  });

  it.each([
    ['HTTP/1.1 2000 OK\r\n\r\n', 'invalid status line (RFC 9112 §4)'],
    ['HTTP/1.1 20 OK\r\n\r\n', 'invalid status code in the status line (RFC 9112 §4: 3DIGIT)'],
    ['HTTP/1.1 099 Odd\r\n\r\n', 'invalid status code 99'],
    ['HTTP/2 200 OK\r\n\r\n', 'invalid status line (RFC 9112 §4)'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'more than one Content-Length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 'Content-Length with Transfer-Encoding (RFC 9112 §6.1)'],
    ['HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n', 'invalid header field name in header line 2 (RFC 9110 §5.1: a token, then ":")'],
  ])('refuses %j: %s', (text, why) => {
    expect(response(text).problem).toEqual({ status: 502, why, close: true });
  });
});

// Reads `bytes` given in `pieces` through one decoder; the data runs and where the body ended (in the whole).
function decode(bytes: Buffer, cuts: readonly number[]): { data: string; end: number; error: string } {
  const decoder = new ChunkedDecoder(1024);
  let data = '';
  const sink = (b: Buffer, s: number, e: number): void => { data += b.toString('latin1', s, e); };
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    const piece = bytes.subarray(from, cut);
    const at = decoder.feed(piece, 0, piece.length, sink);
    if (at < 0) return { data, end: -1, error: decoder.error };
    if (decoder.done) return { data, end: from + at, error: '' };
    from = cut;
  }
  return { data, end: -1, error: 'incomplete' };
}

const CHUNKED = '5;name=value;quoted="a b"\r\nhello\r\n6 ; ext\r\n world\r\nA\r\n0123456789\r\n000\r\nX-Checksum: abc\r\nX-Empty:\r\n\r\n';

describe('the chunked coding', () => {
  it('passes chunk extensions and trailers, and ends right after the final CRLF', () => {
    const bytes = latin1(`${CHUNKED}GET /next`);
    expect(decode(bytes, [])).toEqual({ data: 'hello world0123456789', end: CHUNKED.length, error: '' });
  });

  it('finds the same end and data when split at every byte boundary', () => {
    const bytes = latin1(`${CHUNKED}GET /next`);
    for (let cut = 1; cut < bytes.length; cut += 1) {
      expect(decode(bytes, [cut]), `split at ${cut}`).toEqual({ data: 'hello world0123456789', end: CHUNKED.length, error: '' });
    }
  });

  it('reads any chunked body split anywhere (fast-check)', () => {
    const chunk = fc.record({
      data: fc.string({ minLength: 1, maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x') || 'x'),
      ext: fc.constantFrom('', ';a', ';a=b', ' ;q="x;y"'),
      upper: fc.boolean(),
    });
    fc.assert(fc.property(
      fc.array(chunk, { maxLength: 6 }), fc.array(fc.constantFrom('X-A: 1', 'x-b:', 'Trailer-C: a b c'), { maxLength: 3 }), fc.array(fc.nat(), { maxLength: 8 }),
      (chunks, trailers, rawCuts) => {
        let text = '';
        for (const c of chunks) {
          const size = c.data.length.toString(16);
          text += `${c.upper ? size.toUpperCase() : size}${c.ext}\r\n${c.data}\r\n`;
        }
        text += `0\r\n${trailers.map((t) => `${t}\r\n`).join('')}\r\n`;
        const bytes = latin1(`${text}NEXT`);
        const cuts = [...new Set(rawCuts.map((n) => n % bytes.length))].filter((n) => n > 0).sort((a, b) => a - b);
        expect(decode(bytes, cuts)).toEqual({ data: chunks.map((c) => c.data).join(''), end: text.length, error: '' });
      },
    ));
  });

  it.each([
    ['zz\r\n', 'invalid chunk size (RFC 9112 §7.1: 1*HEXDIG)'],
    ['\r\n', 'invalid chunk size (RFC 9112 §7.1: 1*HEXDIG)'],
    ['-1\r\n', 'invalid chunk size (RFC 9112 §7.1: 1*HEXDIG)'],
    ['ffffffffffffffffffff\r\n', 'chunk size too large (RFC 9112 §7.1: overflow)'],
    ['20000000000000\r\n', 'chunk size too large (RFC 9112 §7.1: overflow)'],
    ['5\nhello\r\n', 'chunk size line not ended by CRLF'],
    ['5\r\nhello!\r\n', 'chunk data longer than its size (no CRLF after it)'],
    ['5\r\nhello\rX', 'chunk data not followed by CRLF'],
    ['5;a\0\r\n', 'invalid byte in a chunk extension'],
    ['0\r\n folded: 1\r\n\r\n', 'obsolete line folding in the trailer section (RFC 9112 §5.2)'],
    ['0\r\nBad Name: 1\r\n\r\n', 'invalid trailer field name (RFC 9110 §5.1: a token, then ":")'],
    ['0\r\nX: a\0\r\n\r\n', 'invalid byte in a trailer field value'],
    ['0\r\nX: 1\n\r\n', 'trailer line not ended by CRLF'],
    ['0\r\n\rX', 'chunked body not ended by CRLF'],
    [`0\r\nX: ${'a'.repeat(2000)}\r\n\r\n`, 'trailer section too large'],
  ])('refuses %j: %s', (text, why) => {
    expect(decode(latin1(text), [])).toMatchObject({ end: -1, error: why });
  });

  it('accepts the largest safe chunk size digit by digit, and leading zeros', () => {
    const decoder = new ChunkedDecoder(1024);
    expect(decoder.feed(latin1('1fffffffffffff\r\n'), 0, 16)).toBe(16);
    decoder.reset();
    const zeros = latin1('00000000000000000000001\r\na\r\n0\r\n\r\n');
    expect(decoder.feed(zeros, 0, zeros.length)).toBe(zeros.length);
    expect(decoder.done).toBe(true);
  });
});
