// HTTP/1.1 through the L7 proxy, with real clients (Node's, curl) and a real upstream:
// allowed requests reach the destination, denied ones get 403 naming the rule's policy,
// the connection stays usable, bodies stream, and every request yields a flow record.
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type L7Proxy, type L7FlowRecord } from '../../../src/agent/l7/index.js';
import { get, raw, startProxy, startUpstream } from './harness.js';

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
