// The proxy's upstream options without privileges: what it refuses, and how it keys its
// pools (per destination from the node's address; per client address and destination
// from the client's, so no connection is shared between two clients).
import { describe, expect, it } from 'vitest';

import { L7_DEFAULT_LIMITS, L7Proxy, type L7UpstreamOptions } from '../../../src/agent/l7/index.js';
import { UpstreamPools } from '../../../src/agent/l7/sys/upstream.js';
import { policySource, SEED_POLICY } from './harness.js';

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
      expect(pools.agent(frontend, api)).toBe(pools.agent(other, api));
      expect(pools.agent(frontend, api)).not.toBe(pools.agent(frontend, { ...api, port: 9090 }));
    } finally {
      pools.close();
    }
  });

  it('keeps a pool per client address and destination when connections come from the client, the least recently used closed first', () => {
    const pools = new UpstreamPools({ ...L7_DEFAULT_LIMITS, maxUpstreamDestinations: 2 }, { source: 'client' });
    try {
      const fromFrontend = pools.agent(frontend, api);
      // Another connection of the same client (another source port) uses the same pool.
      expect(pools.agent({ ...frontend, port: 40003 }, api)).toBe(fromFrontend);
      const fromOther = pools.agent(other, api);
      expect(fromOther).not.toBe(fromFrontend);
      // frontend's pool was used last before this third pair: other's is the least recently used and goes.
      pools.agent(frontend, api);
      pools.agent({ address: '10.0.1.4', port: 1 }, api);
      expect(pools.agent(frontend, api)).toBe(fromFrontend);
      expect(pools.agent(other, api)).not.toBe(fromOther);
    } finally {
      pools.close();
    }
  });
});
