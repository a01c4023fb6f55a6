// Upgrades through the L7 proxy (RFC 9110 §7.8), with a real WebSocket client and server
// (ws): a WebSocket the rules allow becomes a tunnel (messages both ways, large ones
// streamed, the close passed on, one flow record with the 101, no pool slot held); one they
// deny gets 403 and never reaches the destination; a protocol the proxy does not let
// through (h2c, or any when told so) is left out, and the destination answers the request
// itself; a 101 to a protocol not asked for is refused; a half-close is passed on.
import type http from 'node:http';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

import { type L7FlowRecord, type L7Proxy } from '../../../src/agent/l7/index.js';
import { L4_POLICY, policySource, raw, startProxy, startUpstream } from './harness.js';

interface EchoServer {
  readonly port: number;
  /** The request heads of the WebSocket handshakes the server accepted. */
  readonly handshakes: http.IncomingHttpHeaders[];
  /** Connections it has open. */
  readonly open: () => number;
  close(): Promise<void>;
}

/** A WebSocket server echoing every message, on loopback. */
async function echoServer(): Promise<EchoServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 20 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const handshakes: http.IncomingHttpHeaders[] = [];
  server.on('connection', (socket, request) => {
    handshakes.push(request.headers);
    socket.on('message', (data, binary) => socket.send(data, { binary }));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    handshakes,
    open: () => server.clients.size,
    close: () => new Promise<void>((resolve) => {
      for (const client of server.clients) client.terminate();
      server.close(() => resolve());
    }),
  };
}

/** Opens a WebSocket through the proxy; resolves once open, or with the HTTP status the handshake got instead. */
function connect(port: number, path: string): Promise<{ socket: WebSocket } | { status: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

function nextMessage(socket: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) => socket.once('message', (data, binary) => resolve({ data: data as Buffer, binary })));
}

const closeAll: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closeAll.splice(0).reverse()) await close();
});

async function setup(upgrades?: readonly string[]): Promise<{ server: EchoServer; proxy: L7Proxy; port: number; flows: L7FlowRecord[] }> {
  const server = await echoServer();
  closeAll.push(() => server.close());
  const started = await startProxy({ upstreamPort: server.port, ...(upgrades === undefined ? {} : { upgrades }) });
  closeAll.push(() => started.proxy.close());
  return { server, ...started };
}

describe('WebSocket through the proxy, under the seed l7-api-policy (GET /api/v1/.*)', () => {
  it('tunnels a WebSocket the rules allow: messages both ways, a 256 KiB one streamed, the close passed on, one flow with the 101', async () => {
    const { server, proxy, port, flows } = await setup();
    const opened = await connect(port, '/api/v1/stream');
    if (!('socket' in opened)) throw new Error(`the handshake got ${opened.status}`);
    const { socket } = opened;
    expect(server.handshakes).toHaveLength(1);
    expect(server.handshakes[0]).toMatchObject({ upgrade: 'websocket', connection: 'Upgrade' });
    expect(server.handshakes[0]?.['sec-websocket-key']).toBeTruthy();

    for (const text of ['hello', 'again']) {
      const echoed = nextMessage(socket);
      socket.send(text);
      expect((await echoed).data.toString()).toBe(text);
    }
    const big = Buffer.alloc(256 * 1024, 7);
    const echoed = nextMessage(socket);
    socket.send(big);
    const back = await echoed;
    expect(back.binary).toBe(true);
    expect(back.data.equals(big)).toBe(true);

    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.close(1000, 'done');
    expect(await closed).toBe(1000);
    // The destination's side is gone too, and the proxy holds no connection.
    for (let i = 0; i < 200 && (server.open() > 0 || proxy.stats.connections > 0); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(server.open()).toBe(0);
    expect(proxy.stats.connections).toBe(0);
    expect(flows).toMatchObject([{ method: 'GET', path: '/api/v1/stream', status: 101, verdict: 'forwarded' }]);
    expect(flows).toHaveLength(1);
  });

  it('answers 403 to a WebSocket the rules deny, and the destination never sees it', async () => {
    const { server, port, flows } = await setup();
    expect(await connect(port, '/admin/stream')).toEqual({ status: 403 });
    expect(server.handshakes).toEqual([]);
    expect(flows).toMatchObject([{ method: 'GET', path: '/admin/stream', status: 403, verdict: 'denied' }]);
  });

  it('lets no upgrade through when told none: the destination answers the request itself', async () => {
    const { server, port } = await setup([]);
    // The ws server answers a plain GET (no Upgrade reached it) with 426 Upgrade Required.
    expect(await connect(port, '/api/v1/stream')).toEqual({ status: 426 });
    expect(server.handshakes).toEqual([]);
  });
});

describe('upgrades the proxy does not let through', () => {
  it('leaves h2c out (HTTP/2 is served with prior knowledge): the destination answers over HTTP/1.1, and the connection stays usable', async () => {
    const upstream = await startUpstream();
    closeAll.push(() => upstream.close());
    const { proxy, port } = await startProxy({ upstreamPort: upstream.port, upgrades: ['websocket', 'h2c'] });
    closeAll.push(() => proxy.close());
    const exchange = await raw(port, [
      'GET /api/v1/a HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
      'GET /api/v1/b HTTP/1.1\r\nHost: a\r\n\r\n',
    ], { gapMs: 100 });
    expect(exchange.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*HTTP\/1\.1 200 OK\r\n/);
    expect(exchange.closed).toBe(false);
    expect(upstream.requests.map((r) => r.url)).toEqual(['/api/v1/a', '/api/v1/b']);
    expect(upstream.requests[0]?.headers.upgrade).toBeUndefined();
    expect(upstream.requests[0]?.headers['http2-settings']).toBeUndefined();
  });
});

/** A destination that answers an upgrade request with `answer`, then records the tunnel's bytes; on the client's FIN it answers `pong` and ends. */
async function rawTunnelServer(answer: string): Promise<{ port: number; heads: string[]; received: () => string; close(): Promise<void> }> {
  const heads: string[] = [];
  let received = '';
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let text = '';
    let tunnel = false;
    socket.on('data', (chunk: Buffer) => {
      if (tunnel) {
        received += chunk.toString('latin1');
        return;
      }
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      heads.push(text.slice(0, end + 4));
      received += text.slice(end + 4);
      tunnel = true;
      socket.write(answer);
    });
    socket.on('end', () => socket.end('pong'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    heads,
    received: () => received,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';

describe('tunnels', () => {
  it('passes the client\'s half-close on: the destination, answering after the FIN, is still heard', async () => {
    const server = await rawTunnelServer(SWITCH);
    closeAll.push(() => server.close());
    const { proxy, port } = await startProxy({ upstreamPort: server.port, policy: policySource(L4_POLICY) });
    closeAll.push(() => proxy.close());
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n') && !socket.writableEnded) socket.end('ping');
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /api/v1/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    await closed;
    expect(text).toBe('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\npong');
    expect(server.received()).toBe('ping');
  });

  it('refuses a 101 to a protocol the request did not ask for (only the allowed ones go on): 502', async () => {
    const server = await rawTunnelServer('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n');
    closeAll.push(() => server.close());
    const { proxy, port, flows } = await startProxy({ upstreamPort: server.port, policy: policySource(L4_POLICY) });
    closeAll.push(() => proxy.close());
    const exchange = await raw(port, 'GET /api/v1/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket, foo\r\n\r\n');
    expect(server.heads[0]).toContain('\r\nUpgrade: websocket\r\n');
    expect(exchange.text).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n[^]*did not ask for/);
    expect(exchange.closed).toBe(true);
    expect(flows).toMatchObject([{ status: 502, verdict: 'upstream-error' }]);
  });

  it('holds no slot of the destination\'s pool: with one socket allowed, a plain request is answered while a WebSocket is open', async () => {
    const server = await echoServer();
    closeAll.push(() => server.close());
    const { proxy, port } = await startProxy({ upstreamPort: server.port, limits: { maxUpstreamSocketsPerDestination: 1 } });
    closeAll.push(() => proxy.close());
    const opened = await connect(port, '/api/v1/stream');
    if (!('socket' in opened)) throw new Error(`the handshake got ${opened.status}`);
    // The ws server answers a plain GET with 426 Upgrade Required: an answer, not a wait.
    const exchange = await raw(port, 'GET /api/v1/plain HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(exchange.text).toMatch(/^HTTP\/1\.1 426 /);
    const echoed = nextMessage(opened.socket);
    opened.socket.send('still here');
    expect((await echoed).data.toString()).toBe('still here');
    opened.socket.close();
  });
});
