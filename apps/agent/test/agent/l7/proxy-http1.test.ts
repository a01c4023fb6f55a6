// HTTP/1.1 through the L7 proxy, with real clients (Node's, curl) and a real upstream:
// allowed requests reach the destination, denied ones get 403 naming the rule's policy,
// the connection stays usable, bodies stream, and every request yields a flow record.
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { promisify } from 'node:util';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type L7Proxy, type L7FlowRecord } from '../../../src/agent/l7/index.js';
import { get, L4_POLICY, policySource, raw, SEED_POLICY, startProxy, startUpstream } from './harness.js';

const run = promisify(execFile);

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let proxy: L7Proxy;
let port: number;
let flows: L7FlowRecord[];
let agent: http.Agent;

beforeEach(async () => {
  upstream = await startUpstream();
  ({ proxy, port, flows } = await startProxy({ upstreamPort: upstream.port }));
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
});

afterEach(async () => {
  agent.destroy();
  await proxy.close();
  await upstream.close();
});

describe('the seed l7-api-policy over HTTP/1.1', () => {
  it('forwards GET /api/v1/users and denies POST /api/v1/users and GET /admin with 403 on the same connection', async () => {
    const allowed = await get(port, '/api/v1/users', agent);
    expect(allowed.status).toBe(200);
    expect(allowed.body).toBe('upstream saw GET /api/v1/users host=api.default:8080\n');

    const post = await get(port, '/api/v1/users', agent, 'POST', '{"name":"x"}');
    expect(post.status).toBe(403);
    expect(post.body).toBe('denied by policy: no HTTP rule of CiliumNetworkPolicy default/l7-api-policy (ingress) allows POST /api/v1/users\n');
    const admin = await get(port, '/admin', agent);
    expect(admin.status).toBe(403);
    expect(admin.body).toContain('allows GET /admin');

    // One connection served all three (keep-alive), and the upstream saw only the allowed one.
    expect(admin.socket).toBe(allowed.socket);
    const again = await get(port, '/api/v1/users?page=2', agent);
    expect(again.status).toBe(200);
    expect(again.socket).toBe(allowed.socket);
    expect(upstream.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /api/v1/users', 'GET /api/v1/users?page=2']);
  });

  it('records a flow per request: method, path, host, status, latency in ns, verdict and rule', async () => {
    await get(port, '/api/v1/users', agent);
    await get(port, '/admin', agent);
    expect(flows).toHaveLength(2);
    expect(flows[0]).toMatchObject({
      client: { address: '127.0.0.1' }, destination: { address: '127.0.0.1', port: upstream.port }, protocol: 'HTTP/1.1',
      method: 'GET', path: '/api/v1/users', host: 'api.default:8080', status: 200, verdict: 'forwarded',
      rules: ['CiliumNetworkPolicy default/l7-api-policy spec.ingress[0].toPorts[0] http[0]'],
    });
    expect(flows[0]?.latencyNs).toBeGreaterThan(0);
    expect(flows[1]).toMatchObject({ method: 'GET', path: '/admin', status: 403, verdict: 'denied', rules: [] });
  });

  it('serves curl: allowed, denied with the reason, and the keep-alive connection reused', async () => {
    const base = `http://127.0.0.1:${port}`;
    const { stdout } = await run('curl', ['-sS', '-w', '\\n%{http_code} %{num_connects}\\n',
      `${base}/api/v1/users`, '-X', 'GET', '--next', '-sS', '-w', '\\n%{http_code} %{num_connects}\\n', '-X', 'POST', '-d', 'x=1', `${base}/api/v1/users`,
      '--next', '-sS', '-w', '\\n%{http_code} %{num_connects}\\n', `${base}/admin`]);
    expect(stdout).toBe([
      'upstream saw GET /api/v1/users host=127.0.0.1:' + port, '', '200 1',
      'denied by policy: no HTTP rule of CiliumNetworkPolicy default/l7-api-policy (ingress) allows POST /api/v1/users', '', '403 0',
      'denied by policy: no HTTP rule of CiliumNetworkPolicy default/l7-api-policy (ingress) allows GET /admin', '', '403 0',
    ].join('\n') + '\n');
  });
});

describe('HTTP/1.1 framing through the proxy', () => {
  it('streams a chunked upload and forwards chunked response trailers', async () => {
    const upload = await raw(port, [
      'POST /api/v1/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n',
      '5\r\nhello\r\n', '6\r\n world\r\n', '0\r\n\r\n',
    ], { gapMs: 20 });
    // The seed rule allows only GET: the upload is denied, its body read and dropped.
    expect(upload.text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(upload.closed).toBe(false);

    const { proxy: anyProxy, port: anyPort } = await startProxy({ upstreamPort: upstream.port, policy: policySource(L4_POLICY) });
    try {
      const ok = await raw(anyPort, [
        'POST /api/v1/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n',
        '5\r\nhello\r\n', '6\r\n world\r\n', '0\r\n\r\n',
      ], { gapMs: 20 });
      expect(ok.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nreceived 11 bytes\n$/);
      const trailers = await raw(anyPort, 'GET /api/v1/trailers HTTP/1.1\r\nHost: a\r\n\r\n');
      expect(trailers.text).toMatch(/Transfer-Encoding: chunked\r\n/i);
      expect(trailers.text).toMatch(/\r\n0\r\nx-checksum: abc123\r\n\r\n$/i);
    } finally {
      await anyProxy.close();
    }
  });

  it('never lets a request body reach the destination as another request (chunked bodies on any method, Connection: content-length)', async () => {
    const { proxy: anyProxy, port: anyPort } = await startProxy({ upstreamPort: upstream.port, policy: policySource(L4_POLICY) });
    const smuggled = 'DELETE /admin HTTP/1.1\r\nHost: x\r\n\r\n';
    const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    try {
      for (const method of ['GET', 'DELETE', 'OPTIONS']) {
        await raw(anyPort, `${method} /api/v1/users HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk}`);
      }
      await raw(anyPort, `POST /api/v1/users HTTP/1.1\r\nHost: a\r\nContent-Length: ${smuggled.length}\r\nConnection: content-length, close\r\n\r\n${smuggled}`);
      // Upstream connections are pooled: a smuggled request would show up as one more, to /admin.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(upstream.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /api/v1/users', 'DELETE /api/v1/users', 'OPTIONS /api/v1/users', 'POST /api/v1/users']);
    } finally {
      await anyProxy.close();
    }
  });

  it('refuses pipelining: answers the first request with Connection: close, never forwards the second, and closes', async () => {
    const exchange = await raw(port, 'GET /api/v1/a HTTP/1.1\r\nHost: a\r\n\r\nGET /api/v1/b HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(exchange.closed).toBe(true);
    expect(exchange.text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(exchange.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(exchange.text).toMatch(/\r\nConnection: close\r\n/i);
    expect(upstream.requests.map((r) => r.url)).toEqual(['/api/v1/a']);
    expect(flows.map((f) => [f.path, f.verdict])).toEqual(expect.arrayContaining([['/api/v1/b', 'invalid'], ['/api/v1/a', 'forwarded']]));
  });

  it('answers a client that half-closes right after its request, then closes', async () => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.end('GET /api/v1/users HTTP/1.1\r\nHost: a\r\n\r\n');
    await closed;
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\nConnection: close\r\n/);
    expect(flows).toMatchObject([{ path: '/api/v1/users', status: 200, verdict: 'forwarded' }]);
    expect(flows[0]?.why).toBeUndefined();
  });

  it('keeps an HTTP/1.0 keep-alive client after a 403, telling it so, and serves its next request', async () => {
    const exchange = await raw(port, ['POST /api/v1/users HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi', 'GET /api/v1/users HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'], { gapMs: 100 });
    expect(exchange.text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n(?:[^\r]+\r\n)*Connection: keep-alive\r\n\r\n[^]*HTTP\/1\.1 200 OK\r\n(?:[^\r]+\r\n)*Connection: keep-alive\r\n/);
    expect(exchange.closed).toBe(false);
    expect(upstream.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /api/v1/users']);
  });

  it('decides before 100 Continue: a denied upload never gets to send its body', async () => {
    const denied = await raw(port, 'PUT /api/v1/users HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    expect(denied.text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(denied.text).not.toContain('100 Continue');
  });

  it('answers 503 when the destination refuses connections, and keeps serving', async () => {
    const { proxy: deadProxy, port: deadPort, flows: deadFlows } = await startProxy({ upstreamPort: 1, policy: policySource(L4_POLICY) });
    try {
      const first = await raw(deadPort, 'GET /api/v1/users HTTP/1.1\r\nHost: a\r\n\r\n');
      expect(first.text).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*upstream 127\.0\.0\.1:1 refused the connection\n$/);
      expect(deadFlows[0]).toMatchObject({ status: 503, verdict: 'upstream-error' });
    } finally {
      await deadProxy.close();
    }
  });
});

describe('connection-level policy', () => {
  it('closes a connection L3/L4 policy denies before reading a byte, and one whose policy source fails', async () => {
    const { proxy: denyProxy, port: denyPort, denied } = await startProxy({ upstreamPort: upstream.port, policy: policySource(SEED_POLICY, 'other') });
    // A hand-written source: no policy makes the real one fail, and the agent's can (datastore down).
    const { proxy: brokenProxy, port: brokenPort } = await startProxy({ upstreamPort: upstream.port, policy: { decide: () => Promise.reject(new Error('datastore down')) } });
    try {
      for (const p of [denyPort, brokenPort]) {
        const exchange = await raw(p, 'GET /api/v1/users HTTP/1.1\r\nHost: a\r\n\r\n');
        expect(exchange).toEqual({ text: '', closed: true });
      }
      expect(denyProxy.stats.deniedConnections).toBe(1);
      // The agent is told, for its flows (the kernel handed the connection to the proxy, so no drop of its own says so).
      expect(denied).toEqual([{ client: { address: '127.0.0.1', port: expect.any(Number) }, destination: { address: '127.0.0.1', port: upstream.port }, why: expect.stringMatching(/.+/u) }]);
      expect(brokenProxy.stats.deniedConnections).toBe(1);
      expect(upstream.requests).toEqual([]);
    } finally {
      await denyProxy.close();
      await brokenProxy.close();
    }
  });

  it('refuses connections beyond maxConnections with 503 and serves again when they close', async () => {
    const { proxy: small, port: smallPort } = await startProxy({ upstreamPort: upstream.port, limits: { maxConnections: 2 } });
    const held = await Promise.all([0, 1].map(() => new Promise<net.Socket>((resolve) => {
      const s = net.connect(smallPort, '127.0.0.1', () => resolve(s));
    })));
    try {
      await new Promise((r) => setTimeout(r, 50));
      const refused = await raw(smallPort, 'GET /api/v1/users HTTP/1.1\r\nHost: a\r\n\r\n');
      expect(refused.text).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*Connection: close[\s\S]*too many connections/);
      expect(refused.closed).toBe(true);
      expect(small.stats.refusedConnections).toBe(1);
      held.forEach((s) => s.destroy());
      await new Promise((r) => setTimeout(r, 50));
      const served = await raw(smallPort, 'GET /api/v1/users HTTP/1.1\r\nHost: a\r\n\r\n');
      expect(served.text).toMatch(/^HTTP\/1\.1 200 OK/);
    } finally {
      held.forEach((s) => s.destroy());
      await small.close();
    }
  });
});

describe('idle keep-alive', () => {
  it('closes an idle keep-alive connection after idleTimeoutMs, after answering on it', async () => {
    const { proxy: quick, port: quickPort } = await startProxy({ upstreamPort: upstream.port, limits: { idleTimeoutMs: 300 } });
    try {
      // raw() waits up to 2 s for more data: the close comes first.
      const exchange = await raw(quickPort, 'GET /api/v1/users HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 2000 });
      expect(exchange.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(exchange.closed).toBe(true);
    } finally {
      await quick.close();
    }
  });
});
