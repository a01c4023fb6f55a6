// twill status on states a test agent does not reach (dataplane none and routing none
// keep it simple): a node with endpoints, nftables drift, established BGP peers, and an
// agent that is not ready. The status document comes through the transport port as the
// agent's API would send it; the real agent's own status is in resources.test.ts.

import { describe, expect, it } from 'vitest';

import { type AgentTransport } from '@twill/cli';

import { twill } from '../helpers.js';

const HOUR = 3_600_000;

const FLOWS_SERVING = { enabled: true, socket: '/run/twill/observer.sock', listening: true, reading: true, seen: 1234, lost: 0, capacity: 4096 };

function statusDocument(now: number, ready: boolean, datastore: object = { path: '/var/lib/twill/twill.db', open: true }, flows: object = FLOWS_SERVING): unknown {
  return {
    node: 'worker-1',
    network: 'k8s-pod-network',
    ready,
    notReady: ready ? [] : ['policy'],
    datastore,
    cniSocket: { path: '/run/twill/agent.sock', listening: true, inFlight: 0 },
    apiSocket: { path: '/run/twill/api.sock', listening: true },
    dataplane: {
      driver: 'nftables',
      endpoints: [{ key: 'k8s-pod-network/c1', hostInterface: 'tw5f2c0a1b3d4e6', programmed: true }, { key: 'k8s-pod-network/c2', hostInterface: 'tw0c9e4d2a7b1f8', programmed: ready }],
      drift: ready ? [] : ['set twill/ep-0c9e4d2a missing'],
    },
    flows,
    endpoints: [
      { network: 'k8s-pod-network', containerId: 'c1a2b3c4d5e6f7a8', ifName: 'eth0', hostInterface: 'tw5f2c0a1b3d4e6', addresses: ['10.244.0.5/32'], namespace: 'shop', pod: 'api-7d9f', since: now - 3 * HOUR, node: 'worker-1' },
      { network: 'k8s-pod-network', containerId: 'd4e5f6a7b8c9d0e1', ifName: 'eth0', hostInterface: 'tw0c9e4d2a7b1f8', addresses: ['10.244.0.6/32'], namespace: 'shop', pod: 'db-0', since: now - 3 * HOUR, node: 'worker-1' },
    ],
    controllers: {
      policy: { ready, endpoints: [{}, {}], policies: 5, problems: [], ...(ready ? {} : { lastApplyError: 'nft: Could not process rule: No such file or directory' }) },
      routes: { routes: [{ dst: '10.244.0.0/26' }], problems: [] },
      bgp: {
        localAs: 64512,
        routerId: '10.0.0.1',
        peers: [
          { address: '192.0.2.1', asn: 64513, state: 'Established', uptimeSeconds: 10_740, receivedPrefixes: 4, advertisedPrefixes: 1 },
          { address: '192.0.2.2', asn: 64513, state: 'Active', receivedPrefixes: 0, advertisedPrefixes: 0, lastError: 'no answer from peer 192.0.2.2 port 179 within 2 s (3 attempts)' },
        ],
        problems: [],
        originated: ['10.244.0.0/26'],
        fibProblems: [],
      },
    },
  };
}

// Answers GET /v1/status with the document, anything else with the API's 404.
const transport = (ready: boolean, datastore?: object, flows?: object): AgentTransport => ({
  request: async (request) =>
    request.method === 'GET' && request.path === '/v1/status'
      ? { status: 200, body: `${JSON.stringify(statusDocument(Date.now(), ready, datastore, flows))}\n` }
      : { status: 404, body: '{"error":{"code":"NoSuchPath","message":"no such path"}}\n' },
});

const sockets: string[] = [];
const agentTransport = (ready: boolean) => (socketPath: string): AgentTransport => {
  sockets.push(socketPath);
  return transport(ready);
};

describe('twill status screen', () => {
  it('a ready node: endpoints and BGP peers as tables (golden), exit 0; the default socket', async () => {
    const run = await twill(['status'], { agentTransport: agentTransport(true) });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(sockets.at(-1)).toBe('/run/twill/api.sock');
    await expect(run.stdout.replace(/(?<=\s)\d+[smhd](\d+[smhd])?$/gm, '3h')).toMatchFileSnapshot('../golden/resources/status-node.txt');
  });

  it('names the Kubernetes API server as the datastore of an agent on Kubernetes', async () => {
    const datastore = { type: 'kubernetes', location: 'https://10.96.0.1:443', path: 'https://10.96.0.1:443', open: true };
    const run = await twill(['status'], { agentTransport: () => transport(true, datastore) });
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[1]).toBe('Datastore   Kubernetes API https://10.96.0.1:443: open');
  });

  it('says why flows are not served or read, what was lost, and when flows are off', async () => {
    const failing = {
      ...FLOWS_SERVING,
      listen: { host: '::1', port: 4245 },
      listening: false,
      serveError: 'the socket /run/twill/observer.sock is held by a live process',
      reading: false,
      readError: { message: 'the conntrack event socket closed', time: '2026-11-28T10:00:00.000Z' },
      lost: 17,
    };
    const run = await twill(['status'], { agentTransport: () => transport(true, undefined, failing) });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'Flows       /run/twill/observer.sock and [::1]:4245: not serving (the socket /run/twill/observer.sock is held by a live process), ' +
        'not reading the dataplane (the conntrack event socket closed, at 2026-11-28T10:00:00.000Z); 1234 flows seen, 17 lost, ring of 4096\n',
    );
    const off = await twill(['status'], { agentTransport: () => transport(true, undefined, { enabled: false, reason: 'disabled by --no-flows' }) });
    expect(off.stdout).toContain('Flows       off (disabled by --no-flows)\n');
  });

  it('not ready: the screen says what, stderr one line, exit 1; -o json too', async () => {
    const run = await twill(['status'], { agentTransport: agentTransport(false) });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('twill: status: the agent at /run/twill/api.sock is not ready: policy\n');
    expect(run.stdout.split('\n')[0]).toBe('Agent       NOT READY (policy): node worker-1, network k8s-pod-network');
    expect(run.stdout).toContain('Dataplane   nftables: 2 endpoints, 1 programmed, 1 drift: set twill/ep-0c9e4d2a missing\n');
    expect(run.stdout).toContain('Policy      5 policies, 2 endpoints known; last apply failed: nft: Could not process rule: No such file or directory\n');
    const json = await twill(['status', '-o', 'json'], { agentTransport: agentTransport(false) });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ready: false, notReady: ['policy'] });
  });
});
