// The flow observer inside startAgent, without root: a memory datastore with a policy,
// the real policy controller, a dataplane whose readFlows hands the test the observer,
// and the real observer server on a temporary socket read with a @twill/flows client.
// What a user sees: readiness `flows`, `/v1/status` flows, flows served with their
// deciding rule, lost events in the stream, and a stop that ends streams and the reader.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connectObserver, type GetFlowsResponse, type ObserverClient } from '@twill/flows';
import { MemoryStore } from '@twill/ipam';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type AgentPorts, type AgentStatus, type RunningAgent, startAgent } from '../../src/agent/agent.js';
import { type AgentConfig, parseAgentConfigText, resolveAgentConfig } from '../../src/agent/config.js';
import { PolicyController } from '../../src/agent/controllers/policy.js';
import { resourceDatastoreOver } from '../../src/agent/datastore/index.js';
import { type AgentLogger } from '../../src/agent/ports.js';
import { listenApi } from '../../src/agent/sys/api-server.js';
import { serveFlows } from '../../src/agent/sys/flows-server.js';
import { listenHealth } from '../../src/agent/sys/http.js';
import { type Dataplane, type DataplaneFlowEvent, type DataplaneFlowHandler } from '../../src/dataplane/port.js';
import { StoreEndpointRegistry } from '../../src/plugin/endpoints.js';

const quiet: AgentLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe('startAgent with flows', () => {
  let dir: string;
  let config: AgentConfig;
  let store: MemoryStore;
  let handler: DataplaneFlowHandler | undefined;
  let events: string[];
  let agents: RunningAgent[];
  let clients: ObserverClient[];

  const dataplane = (): Dataplane => ({
    driver: 'nftables',
    apply: async () => ({ endpoints: 0, operations: 0, durationMs: 0 }),
    status: async () => ({ driver: 'nftables', endpoints: [], drift: [] }),
    cleanup: async () => undefined,
    readFlows: (h) => {
      handler = h;
      events.push('reading');
      return { close: () => void events.push('reader closed') };
    },
  });

  const ports = (overrides: Partial<AgentPorts> = {}): AgentPorts => ({
    logger: quiet,
    openDatastore: async () => resourceDatastoreOver(store, { pollMs: 5 }),
    openDataplane: async () => dataplane(),
    controllers: ({ config: c, datastore, dataplane: d }) => {
      const policy = new PolicyController({ datastore, dataplane: d, nodeName: c.nodeName, network: c.network });
      return { controllers: [policy], flows: policy.flowView(), endpoints: { enforce: (r) => policy.enforce(r), forget: (n, id) => policy.forget(n, id) } };
    },
    serve: async () => ({ socketPath: config.agentSocket, inFlight: 0, close: async () => undefined }),
    listenHealth,
    listenApi,
    serveFlows: async (options) => {
      const server = await serveFlows(options);
      return {
        ...(server.socket === undefined ? {} : { socket: server.socket }),
        ...(server.address === undefined ? {} : { address: server.address }),
        close: async () => {
          await server.close();
          events.push('flows closed');
        },
      };
    },
    ...overrides,
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twt-flows-agent-'));
    const file = join(dir, 'agent.yaml');
    config = resolveAgentConfig({
      hostname: 'node-a',
      file: { path: file, settings: parseAgentConfigText(file, `flows: {socket: ${join(dir, 'run', 'flows', 'observer.sock')}, capacity: 64, budgetPerSecond: 1000}\n`) },
      flags: { routing: 'none', dataDir: join(dir, 'data'), agentSocket: join(dir, 'agent.sock'), apiSocket: join(dir, 'api.sock'), httpListen: '127.0.0.1:0', network: 'pods' },
    });
    store = new MemoryStore();
    const datastore = resourceDatastoreOver(store);
    await datastore.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } });
    await datastore.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'x', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    await datastore.apply({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-in', namespace: 'x' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
    await datastore.close();
    await new StoreEndpointRegistry(store).register({
      network: 'pods', containerId: 'c1', ifName: 'eth0', hostInterface: 'twc1', addresses: ['10.0.0.5/32'], netns: '/run/netns/c1', namespace: 'x', pod: 'web', since: 1, node: 'node-a',
    });
    handler = undefined;
    events = [];
    agents = [];
    clients = [];
  });

  afterEach(async () => {
    for (const client of clients) client.close();
    for (const agent of agents) await agent.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  const collect = async (client: ObserverClient): Promise<GetFlowsResponse[]> => {
    const responses: GetFlowsResponse[] = [];
    for await (const response of client.getFlows({ number: 64 })) responses.push(response);
    return responses;
  };

  it('reads the dataplane once the policy is loaded, serves its flows on the configured socket, and says so in readiness and /v1/status', async () => {
    const agent = await startAgent(config, ports());
    agents.push(agent);
    expect(events).toEqual(['reading']);
    expect((await stat(config.flows.socket)).isSocket()).toBe(true);
    expect(agent.readiness().find((p) => p.name === 'flows')).toEqual({ name: 'flows', ready: true });

    const drop: DataplaneFlowEvent = {
      timeMs: 1_700_000_000_000, ifindex: 9, endpoint: 'x/web', direction: 'ingress', verdict: 'deny', reason: 'policy', dropKind: 'isolated',
      protocol: 6, source: '203.0.113.7', destination: '10.0.0.5', sourcePort: 5555, destinationPort: 80, tcpFlags: 0x02,
    };
    handler!.events([drop]);
    handler!.lost(3, 'nflog');

    const client = connectObserver(`unix://${config.flows.socket}`, { timeoutMs: 5000 });
    clients.push(client);
    const responses = await collect(client);
    const flows = responses.flatMap((r) => ('flow' in r ? [r.flow] : []));
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({
      verdict: 'DROPPED',
      dropReasonDesc: 'POLICY_DENIED',
      nodeName: 'node-a',
      source: { labels: ['reserved:world'] },
      destination: { namespace: 'x', podName: 'web', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=x'] },
      interface: { index: 9, name: 'twc1' },
      decidedBy: { reason: 'isolated', attribution: 'evaluated', isolatedBy: [{ name: 'deny-in', namespace: 'x' }] },
    });
    expect(responses.flatMap((r) => ('lostEvents' in r ? [r.lostEvents] : []))).toEqual([{ source: 'nflog', numEventsLost: 3 }]);
    expect(await client.serverStatus()).toMatchObject({ numFlows: 1, maxFlows: 64, seenFlows: 1, nodeName: 'node-a' });

    const status: AgentStatus = await agent.status();
    expect(status.flows).toEqual({ enabled: true, socket: config.flows.socket, listening: true, reading: true, seen: 1, lost: 3, capacity: 64 });
    expect(await agent.metrics.exposition()).toContain('twill_policy_drops_total{reason="POLICY_DENIED",policy=""} 1\n');

    await agent.stop();
    // Streams end and the reader stops before the controllers the observer reads.
    expect(events).toEqual(['reading', 'flows closed', 'reader closed']);
    await expect(stat(config.flows.socket)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says reading: false with the last error once the dataplane\'s reader fails (the eBPF reader closes itself), and reading again when events come', async () => {
    const agent = await startAgent(config, ports());
    agents.push(agent);
    expect((await agent.status()).flows).toMatchObject({ reading: true });
    handler!.error(new Error('epoll watch of the flow ring buffer: EBADF'));
    const flows = (await agent.status()).flows;
    expect(flows).toMatchObject({ enabled: true, listening: true, reading: false, readError: { message: 'epoll watch of the flow ring buffer: EBADF' } });
    expect(flows.enabled && Date.parse(flows.readError!.time)).toBeGreaterThan(0);
    expect(agent.ready()).toBe(true);
    expect(agent.readiness().find((p) => p.name === 'flows')?.detail).toBe('degraded: reading flows: epoll watch of the flow ring buffer: EBADF');

    handler!.lost(1, 'nflog');
    expect((await agent.status()).flows).toMatchObject({ reading: true, readError: { message: 'epoll watch of the flow ring buffer: EBADF' } });
    expect(agent.readiness().find((p) => p.name === 'flows')).toEqual({ name: 'flows', ready: true });
  });

  it('serves no flows with --no-flows or without a dataplane, and says why', async () => {
    const off = { ...config, flows: { ...config.flows, enabled: false } };
    const agent = await startAgent(off, ports());
    agents.push(agent);
    expect(handler).toBeUndefined();
    expect(agent.readiness().map((p) => p.name)).not.toContain('flows');
    expect((await agent.status()).flows).toEqual({ enabled: false, reason: 'flows.enabled is false (--no-flows)' });
    await agent.stop();

    const none = await startAgent({ ...config, dataplane: 'none' }, ports({ openDataplane: async () => undefined }));
    agents.push(none);
    expect((await none.status()).flows).toEqual({ enabled: false, reason: 'dataplane "none" gives no verdicts' });
  });

  it('starts without the observer when another live one serves the socket: the CNI socket is served, /readyz ready, /v1/status says why', async () => {
    const first = await startAgent(config, ports());
    agents.push(first);
    const served: string[] = [];
    const errors: string[] = [];
    const logger: AgentLogger = { ...quiet, error: (_fields, message) => void errors.push(String(message)) };
    const second = { ...config, agentSocket: join(dir, 'agent2.sock'), api: { socket: join(dir, 'api2.sock') }, dataDir: join(dir, 'data2') };
    const agent = await startAgent(second, ports({ logger, serve: async (options) => {
      served.push(String(options.socketPath));
      return { socketPath: String(options.socketPath), inFlight: 0, close: async () => undefined };
    } }));
    agents.push(agent);
    expect(served).toEqual([second.agentSocket]);
    expect(agent.ready()).toBe(true);
    const part = agent.readiness().find((p) => p.name === 'flows');
    expect(part).toMatchObject({ name: 'flows', ready: true });
    expect(part?.detail).toContain(`degraded: serving flows on ${config.flows.socket} failed`);
    const flows = (await agent.status()).flows;
    expect(flows).toMatchObject({ enabled: true, listening: false, reading: true });
    expect(flows.enabled && flows.serveError).toContain(config.flows.socket);
    expect(errors).toContain('flows: serving the flow observer failed; the agent runs without it');
    // The first agent's observer is untouched.
    expect((await stat(config.flows.socket)).isSocket()).toBe(true);
    await agent.stop();
    expect((await stat(config.flows.socket)).isSocket()).toBe(true);
  });

  it('starts without flows from the kernel when the dataplane\'s reader cannot start (an eBPF ring that cannot be mapped)', async () => {
    const broken = (): Dataplane => ({ ...dataplane(), readFlows: () => { throw new Error('mmap of the flow ring buffer: EPERM'); } });
    const agent = await startAgent(config, ports({ openDataplane: async () => broken() }));
    agents.push(agent);
    expect(agent.ready()).toBe(true);
    expect(agent.readiness().find((p) => p.name === 'flows')?.detail).toBe("degraded: reading the dataplane's verdicts failed: mmap of the flow ring buffer: EPERM");
    const flows = (await agent.status()).flows;
    expect(flows).toMatchObject({ enabled: true, listening: true, reading: false, readError: { message: "reading the dataplane's verdicts failed: mmap of the flow ring buffer: EPERM" } });
    expect((await stat(config.flows.socket)).isSocket()).toBe(true);
  });
});
