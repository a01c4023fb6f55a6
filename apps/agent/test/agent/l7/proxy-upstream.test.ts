// The proxy's upstream options without privileges: what it refuses, and how it keys its
// pools (per destination from the node's address; per client address and destination
// from the client's, so no connection is shared between two clients).
import { describe, expect, it } from 'vitest';

import http from 'node:http';

import { L7_DEFAULT_LIMITS, type L7FlowRecord, L7Proxy, type L7UpstreamOptions } from '../../../src/agent/l7/index.js';
import { UpstreamPools } from '../../../src/agent/l7/sys/upstream.js';
import { get, policySource, SEED_POLICY, startUpstream } from './harness.js';

const api = { address: '10.0.1.2', port: 8080 };
const frontend = { address: '10.0.1.1', port: 40001 };
const other = { address: '10.0.1.3', port: 40002 };

describe('L7Proxy upstream options', () => {
  it.each([
    [{ source: 'pod' }, /L7Proxy upstream.source "pod" is not 'client' or 'node'/],
    [{ source: 'client', mark: -1 }, /L7Proxy upstream.mark -1 is not an integer within 0..0xffffffff/],
    [{ source: 'node', mark: 2 ** 32 }, /L7Proxy upstream.mark 4294967296 is not an integer/],
    [{ source: 'node', mark: 0.5 }, /L7Proxy upstream.mark 0.5 is not an integer/],
  ])('refuses %j', (upstream, message) => {
    expect(() => new L7Proxy({ policy: policySource(SEED_POLICY), upstream: upstream as unknown as L7UpstreamOptions })).toThrowError(message);
  });
});

describe('upstream pools', () => {
  it('shares one pool per destination between clients when connections come from the node', () => {
    const pools = new UpstreamPools(L7_DEFAULT_LIMITS, { source: 'node' });
    try {
      expect(pools.http1(frontend, api)).toBe(pools.http1(other, api));
      expect(pools.http1(frontend, api)).not.toBe(pools.http1(frontend, { ...api, port: 9090 }));
    } finally {
      pools.close();
    }
  });

  it('keeps a pool per client address and destination when connections come from the client, the least recently used closed first', () => {
    const pools = new UpstreamPools({ ...L7_DEFAULT_LIMITS, maxUpstreamDestinations: 2 }, { source: 'client' });
    try {
      const fromFrontend = pools.http1(frontend, api);
      // Another connection of the same client (another source port) uses the same pool.
      expect(pools.http1({ ...frontend, port: 40003 }, api)).toBe(fromFrontend);
      const fromOther = pools.http1(other, api);
      expect(fromOther).not.toBe(fromFrontend);
      // frontend's pool was used last before this third pair: other's is the least recently used and goes.
      pools.http1(frontend, api);
      pools.http1({ address: '10.0.1.4', port: 1 }, api);
      expect(pools.http1(frontend, api)).toBe(fromFrontend);
      expect(pools.http1(other, api)).not.toBe(fromOther);
    } finally {
      pools.close();
    }
  });
});

describe('an upstream socket that cannot be made', () => {
  it('answers 502 naming the failure, never reaching the destination, and keeps serving', async () => {
    const upstream = await startUpstream();
    const flows: L7FlowRecord[] = [];
    // The namespace does not exist: opening it fails (ENOENT) before any privileged call.
    const proxy = new L7Proxy({
      policy: policySource(SEED_POLICY),
      onFlow: (record) => flows.push(record),
      originalDestination: () => ({ address: '127.0.0.1', port: upstream.port }),
      upstream: { source: 'client', mark: 0xa00, netns: `/run/netns/twt-missing-${process.pid}` },
    });
    const agent = new http.Agent({ keepAlive: true });
    try {
      const { port } = await proxy.listen({ port: 0 });
      const first = await get(port, '/api/v1/users', agent);
      expect(first.status).toBe(502);
      expect(first.body).toMatch(new RegExp(`upstream 127\\.0\\.0\\.1:${upstream.port} failed: ENOENT`));
      // The proxy is still there for the next request.
      expect((await get(port, '/api/v1/users', agent)).status).toBe(502);
      expect(upstream.requests).toEqual([]);
      expect(flows.map((f) => [f.status, f.verdict])).toEqual([[502, 'upstream-error'], [502, 'upstream-error']]);
    } finally {
      agent.destroy();
      await proxy.close();
      await upstream.close();
    }
  });
});
