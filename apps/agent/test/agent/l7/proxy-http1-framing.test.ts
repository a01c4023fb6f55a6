// HTTP/1.1 message framing through the proxy, against destinations that answer with raw
// bytes: responses delimited by the close, 1xx before the final answer, HEAD and 304
// without a body, chunked answers to an HTTP/1.0 client, and a request and a response
// split at every byte boundary on one keep-alive connection each.
import net from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type L7FlowRecord, type L7Proxy } from '../../../src/agent/l7/index.js';
import { L4_POLICY, policySource, raw, startProxy, startUpstream } from './harness.js';

/** A destination that reads request heads (no bodies) and answers each with `answer`. */
async function rawUpstream(): Promise<{ port: number; heads: string[]; answer: (socket: net.Socket, head: string) => void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const state = {
    heads: [] as string[],
    answer: (socket: net.Socket, _head: string): void => void socket.end(),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      let end = text.indexOf('\r\n\r\n');
      while (end >= 0) {
        const head = text.slice(0, end + 4);
        text = text.slice(end + 4);
        state.heads.push(head);
        state.answer(socket, head);
        end = text.indexOf('\r\n\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get heads() { return state.heads; },
    set answer(fn: (socket: net.Socket, head: string) => void) { state.answer = fn; },
    get answer() { return state.answer; },
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

/** One client connection: write bytes, wait until what came back satisfies a test. */
async function client(port: number): Promise<{ write(s: string): void; until(done: (text: string) => boolean): Promise<string>; closed(): boolean; destroy(): void }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  let text = '';
  let closed = false;
  let waiter: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); waiter?.(); });
  socket.on('close', () => { closed = true; waiter?.(); });
  socket.on('error', () => undefined);
  return {
    write: (s) => void socket.write(s, 'latin1'),
    until: (done) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(text)}`)), 3000);
      const check = (): void => {
        if (!done(text) && !closed) return;
        clearTimeout(timer);
        waiter = undefined;
        const got = text;
        text = '';
        resolve(got);
      };
      waiter = check;
      check();
    }),
    closed: () => closed,
    destroy: () => socket.destroy(),
  };
}

const tick = (ms = 1): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let upstream: Awaited<ReturnType<typeof rawUpstream>>;
let proxy: L7Proxy;
let port: number;
let flows: L7FlowRecord[];

beforeAll(async () => {
  upstream = await rawUpstream();
  ({ proxy, port, flows } = await startProxy({ upstreamPort: upstream.port, policy: policySource(L4_POLICY) }));
});

afterAll(async () => {
  await proxy.close();
  await upstream.close();
});

afterEach(() => {
  flows.length = 0;
  upstream.heads.length = 0;
});

/** Blocks this thread (the proxy's too: it runs in this process) for `ms`, so what the kernel delivers meanwhile reaches the proxy in one turn. */
function block(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('request bodies', () => {
  it('drops the rest of a body the destination answered early: the next request reaches it alone (no smuggling)', async () => {
    const smuggled = 'GET /admin/secret HTTP/1.1\r\nHost: a\r\n\r\n';
    const c = await client(port);
    upstream.answer = (socket, head) => {
      if (head.startsWith('GET /api/v1/early ')) {
        // The body's rest and the early answer reach the proxy in the same turn of its event loop, the body first.
        c.write(smuggled);
        socket.write('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
        block(50);
      } else if (!head.startsWith('GET /admin/')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    };
    c.write(`GET /api/v1/early HTTP/1.1\r\nHost: a\r\nContent-Length: ${smuggled.length}\r\n\r\n`);
    expect(await c.until((t) => t.includes('\r\n\r\n'))).toMatch(/^HTTP\/1\.1 401 /);
    c.write('GET /api/v1/next HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(await c.until((t) => t.endsWith('ok'))).toBe('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    c.destroy();
    expect(upstream.heads.map((h) => h.split('\r\n', 1)[0])).toEqual(['GET /api/v1/early HTTP/1.1', 'GET /api/v1/next HTTP/1.1']);
    expect(flows.map((f) => `${f.path} ${f.status}`)).toEqual(['/api/v1/early 401', '/api/v1/next 200']);
  });
});

describe('responses', () => {
  it('passes a response without a length until the destination closes, then closes the client', async () => {
    upstream.answer = (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc');
      setTimeout(() => socket.end('def'), 30);
    };
    const exchange = await raw(port, 'GET /api/v1/stream HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 1000 });
    expect(exchange).toEqual({ text: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nabcdef', closed: true });
    expect(flows).toMatchObject([{ path: '/api/v1/stream', status: 200, verdict: 'forwarded' }]);
  });

  it('passes 1xx responses before the final one and keeps the connection', async () => {
    upstream.answer = (socket) => {
      socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n');
      setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 20);
    };
    const exchange = await raw(port, 'GET /api/v1/hints HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(exchange).toEqual({
      text: 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      closed: false,
    });
    expect(flows).toMatchObject([{ status: 200 }]);
  });

  it.each([
    ['HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n'],
    ['GET', 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 100\r\n\r\n'],
    ['GET', 'HTTP/1.1 204 No Content\r\n\r\n'],
  ])('%s answered %j: no body, and the next request on the connection is served', async (method, head) => {
    upstream.answer = (socket, request) => {
      socket.write(request.startsWith('GET /api/v1/next') ? 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext' : head);
    };
    const exchange = await raw(port, [`${method} /api/v1/x HTTP/1.1\r\nHost: a\r\n\r\n`, 'GET /api/v1/next HTTP/1.1\r\nHost: a\r\n\r\n'], { gapMs: 100 });
    expect(exchange).toEqual({ text: `${head}HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext`, closed: false });
    expect(upstream.heads.map((h) => h.split(' ', 2).join(' '))).toEqual([`${method} /api/v1/x`, 'GET /api/v1/next']);
  });

  it('gives an HTTP/1.0 client the data of a chunked response, delimited by the close', async () => {
    upstream.answer = (socket) => socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n');
    const exchange = await raw(port, 'GET /api/v1/old HTTP/1.0\r\n\r\n');
    expect(exchange).toEqual({ text: 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcde', closed: true });
    // The destination was asked in HTTP/1.1, with a Host.
    expect(upstream.heads[0]).toBe(`GET /api/v1/old HTTP/1.1\r\nHost: 127.0.0.1:${upstream.port}\r\n\r\n`);
  });

  it('keeps an HTTP/1.0 client that asks for keep-alive while answers carry their length, telling it so, and closes after a chunked one', async () => {
    upstream.answer = (socket, head) => {
      if (head.startsWith('GET /api/v1/chunked')) socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n');
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    };
    const ask = (path: string): string => `GET ${path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`;
    const exchange = await raw(port, [ask('/api/v1/a'), ask('/api/v1/b'), ask('/api/v1/chunked')], { gapMs: 100 });
    const kept = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok';
    expect(exchange).toEqual({ text: `${kept}${kept}HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nab`, closed: true });
    expect(flows.map((f) => `${f.protocol} ${f.path} ${f.status}`)).toEqual(['HTTP/1.0 /api/v1/a 200', 'HTTP/1.0 /api/v1/b 200', 'HTTP/1.0 /api/v1/chunked 200']);
  });

  it('asks the destination in origin form, the absolute-form authority as Host, hop-by-hop fields removed (RFC 9112 §3.2.2, RFC 9110 §7.6.1)', async () => {
    upstream.answer = (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive, X-Internal\r\nX-Internal: 1\r\nX-Public: 2\r\n\r\n');
    const exchange = await raw(port, 'GET http://api:8080?q=1 HTTP/1.1\r\nHost: other\r\nConnection: X-Hop, keep-alive\r\nX-Hop: 1\r\nProxy-Connection: x\r\nTE: trailers, deflate\r\nX-End: 2\r\n\r\n');
    expect(upstream.heads[0]).toBe('GET /?q=1 HTTP/1.1\r\nHost: api:8080\r\nX-End: 2\r\nTE: trailers\r\n\r\n');
    expect(exchange.text).toBe('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Public: 2\r\n\r\n');
    expect(flows).toMatchObject([{ method: 'GET', path: '/?q=1', host: 'api:8080', status: 200 }]);
  });

  it('answers 502 to a malformed response and closes', async () => {
    upstream.answer = (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
    const exchange = await raw(port, 'GET /api/v1/bad HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(exchange.text).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n[\s\S]*failed: malformed response: more than one Content-Length\n$/);
    expect(exchange.closed).toBe(true);
    expect(flows).toMatchObject([{ status: 502, verdict: 'upstream-error' }]);
  });

  it('splits a chunked response with extensions and trailers at every byte boundary', async () => {
    const body = '4;e=1\r\nabcd\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 9\r\n\r\n';
    const response = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n${body}`;
    let cut = 1;
    upstream.answer = (socket) => {
      socket.write(response.slice(0, cut));
      setTimeout(() => socket.write(response.slice(cut)), 2);
    };
    const c = await client(port);
    try {
      for (; cut < response.length; cut += 1) {
        c.write('GET /api/v1/split HTTP/1.1\r\nHost: a\r\n\r\n');
        const got = await c.until((text) => text.endsWith('\r\n0\r\nX-T: 9\r\n\r\n'));
        expect(got, `split at ${cut}`).toBe(`HTTP/1.1 200 OK\r\nTrailer: X-T\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
      }
      expect(c.closed()).toBe(false);
      expect(flows.filter((f) => f.status === 200)).toHaveLength(response.length - 1);
    } finally {
      c.destroy();
    }
  }, 30_000);
});

describe('requests', () => {
  let echo: Awaited<ReturnType<typeof startUpstream>>;
  let echoProxy: L7Proxy;
  let echoPort: number;
  beforeAll(async () => {
    echo = await startUpstream();
    ({ proxy: echoProxy, port: echoPort } = await startProxy({ upstreamPort: echo.port, policy: policySource(L4_POLICY) }));
  });
  afterAll(async () => {
    await echoProxy.close();
    await echo.close();
  });

  it('splits a chunked upload with extensions and trailers at every byte boundary', async () => {
    const request = 'POST /api/v1/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n';
    const c = await client(echoPort);
    try {
      for (let cut = 1; cut < request.length; cut += 1) {
        c.write(request.slice(0, cut));
        await tick(2);
        c.write(request.slice(cut));
        const got = await c.until((text) => text.endsWith('received 8 bytes\n'));
        expect(got, `split at ${cut}`).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nreceived 8 bytes\n$/);
      }
      expect(c.closed()).toBe(false);
      expect(echo.requests).toHaveLength(request.length - 1);
      expect(echo.requests.every((r) => r.headers['transfer-encoding'] === 'chunked' && r.headers.host === 'a')).toBe(true);
    } finally {
      c.destroy();
    }
  }, 30_000);
});
