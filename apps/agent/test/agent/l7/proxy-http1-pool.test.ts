// The proxy's HTTP/1.1 upstream pool with real sockets: connections reused across client
// connections, requests beyond maxUpstreamSocketsPerDestination waiting their turn, and a
// bodiless request sent again when a kept-alive connection turns out closed (RFC 9112 §9.3.1).
import http from 'node:http';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { type L7Proxy } from '../../../src/agent/l7/index.js';
import { get, L4_POLICY, policySource, raw, startProxy } from './harness.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

async function proxyTo(port: number, limits: Parameters<typeof startProxy>[0]['limits'] = {}): Promise<{ proxy: L7Proxy; port: number }> {
  const started = await startProxy({ upstreamPort: port, policy: policySource(L4_POLICY), limits });
  closers.push(() => started.proxy.close());
  return started;
}

describe('the HTTP/1.1 upstream pool', () => {
  it('serves requests beyond maxUpstreamSocketsPerDestination over the one connection, in turn', async () => {
    let connections = 0;
    let concurrent = 0;
    let most = 0;
    const upstream = http.createServer((req, res) => {
      concurrent += 1;
      most = Math.max(most, concurrent);
      setTimeout(() => { concurrent -= 1; res.end(`answer ${req.url}\n`); }, 20);
    });
    upstream.on('connection', (socket: net.Socket) => {
      connections += 1;
      closers.push(async () => { socket.destroy(); });
    });
    const { port } = await proxyTo(await listen(upstream), { maxUpstreamSocketsPerDestination: 1 });
    const agents = [0, 1, 2, 3].map(() => new http.Agent({ keepAlive: true }));
    try {
      const answers = await Promise.all(agents.map((agent, i) => get(port, `/api/v1/${i}`, agent)));
      expect(answers.map((a) => a.body)).toEqual(['answer /api/v1/0\n', 'answer /api/v1/1\n', 'answer /api/v1/2\n', 'answer /api/v1/3\n']);
      expect({ connections, most }).toEqual({ connections: 1, most: 1 });
    } finally {
      agents.forEach((agent) => agent.destroy());
    }
  });

  it('sends a bodiless request again on a new connection when the reused one was closed by the destination', async () => {
    // The destination closes a connection, unanswered, at its second request (as when its keep-alive timeout races the proxy's reuse).
    const seen: string[] = [];
    const upstream = net.createServer((socket) => {
      let requests = 0;
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        while (text.includes('\r\n\r\n')) {
          const at = text.indexOf('\r\n\r\n');
          seen.push(text.slice(0, text.indexOf(' HTTP/')));
          text = text.slice(at + 4);
          requests += 1;
          if (requests === 2) { socket.destroy(); return; }
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n');
        }
      });
      closers.push(async () => { socket.destroy(); });
    });
    const { port } = await proxyTo(await listen(upstream));
    const first = await raw(port, 'GET /api/v1/a HTTP/1.1\r\nHost: a\r\n\r\n');
    const second = await raw(port, 'GET /api/v1/b HTTP/1.1\r\nHost: a\r\n\r\n');
    expect([first.text, second.text]).toEqual(['HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n']);
    expect(seen).toEqual(['GET /api/v1/a', 'GET /api/v1/b', 'GET /api/v1/b']);
  });

  it('does not send a request with a body again: 502 naming the failure', async () => {
    const upstream = net.createServer((socket) => {
      let requests = 0;
      socket.on('data', (chunk: Buffer) => {
        if (!chunk.includes('\r\n\r\n')) return;
        requests += 1;
        if (requests === 2) socket.destroy();
        else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n');
      });
      closers.push(async () => { socket.destroy(); });
    });
    const { port } = await proxyTo(await listen(upstream));
    await raw(port, 'GET /api/v1/a HTTP/1.1\r\nHost: a\r\n\r\n');
    const post = await raw(port, 'POST /api/v1/b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi');
    expect(post.text).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n[\s\S]*Connection: close\r\n[\s\S]*failed: closed the connection before the response ended\n$/);
    expect(post.closed).toBe(true);
  });
});
