// The bad-input corpus over raw TCP: each request is answered or closed as RFC 9110/9112
// require, none reaches the destination unless it is valid, and after each one the proxy
// still serves a good request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type L7FlowRecord, type L7Proxy } from '../../../src/agent/l7/index.js';
import { BAD_REQUESTS } from './bad-requests.js';
import { raw, startProxy, startUpstream } from './harness.js';

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let proxy: L7Proxy;
let port: number;
let flows: L7FlowRecord[];

beforeAll(async () => {
  upstream = await startUpstream();
  ({ proxy, port, flows } = await startProxy({ upstreamPort: upstream.port, limits: { headersTimeoutMs: 1000 } }));
});

afterAll(async () => {
  await proxy.close();
  await upstream.close();
});

describe('malformed HTTP/1.1 requests', () => {
  it('has at least 20 malformed requests', () => {
    expect(BAD_REQUESTS.filter((r) => r.status >= 400 && r.status !== 403).length).toBeGreaterThanOrEqual(20);
  });

  it.each(BAD_REQUESTS.map((r) => [r.name, r] as const))('%s', async (_name, request) => {
    const before = upstream.requests.length;
    const exchange = await raw(port, request.bytes, { ...(request.gapMs === undefined ? {} : { gapMs: request.gapMs }), idleMs: 2500 });
    const statusLine = /^HTTP\/1\.1 (\d{3}) /.exec(exchange.text);
    expect({ status: statusLine === null ? 0 : Number(statusLine[1]), closed: exchange.closed }, `${request.rfc}\n${exchange.text.slice(0, 300)}`)
      .toEqual({ status: request.status, closed: request.closed });
    // Only accepted requests reach the destination.
    if (request.status !== 200) expect(upstream.requests.length).toBe(before);

    const good = await raw(port, 'GET /api/v1/health HTTP/1.1\r\nHost: api\r\n\r\n');
    expect(good.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*upstream saw GET \/api\/v1\/health host=api\n$/);
  });

  it('forwards an absolute-form request to the original destination with its authority as Host', () => {
    expect(upstream.requests.find((r) => r.url === '/api/v1/x' && r.headers.host === 'evil.example')).toBeDefined();
  });

  it('recorded the refusals as invalid flows with the reason', () => {
    expect(flows.some((f) => f.verdict === 'invalid' && f.status === 431 && f.why === 'request header fields too large')).toBe(true);
    expect(flows.some((f) => f.verdict === 'invalid' && f.status === 400 && f.why === 'more than one Host header')).toBe(true);
  });
});
