// The composition root with fake controllers and dataplane, and the real datastore
// (over memory), socket server and HTTP server: what /healthz, /readyz, /metrics and
// /v1/status answer while the agent starts, runs and stops, and the order it stops in.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MemoryStore } from '@twill/ipam';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { type AgentPorts, type RunningAgent, startAgent } from '../../src/agent/agent.js';
import { type AgentConfig, resolveAgentConfig } from '../../src/agent/config.js';
import { resourceDatastoreOver } from '../../src/agent/datastore/index.js';
import { instrumentPluginHandlers } from '../../src/agent/metrics.js';
import { type AgentController, type AgentLogger } from '../../src/agent/ports.js';
import { listenApi } from '../../src/agent/sys/api-server.js';
import { type HealthServer, listenHealth } from '../../src/agent/sys/http.js';
import { type Dataplane } from '../../src/dataplane/port.js';
import { StoreEndpointRegistry } from '../../src/plugin/endpoints.js';
import { installTwill } from '../../src/plugin/sys/install.js';
import { serveTwill } from '../../src/plugin/sys/serve.js';

const quiet: AgentLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

class FakeController implements AgentController {
  isReady = false;
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => undefined;
  failure: Error | undefined;

  constructor(
    readonly name: string,
    private readonly events: string[],
  ) {}

  /** start() waits until {@link release}. */
  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#open();
  }

  async start(): Promise<void> {
    this.events.push(`start ${this.name}`);
    await this.#gate;
    if (this.failure !== undefined) throw this.failure;
  }

  ready(): boolean {
    return this.isReady;
  }

  async stop(): Promise<void> {
    this.events.push(`stop ${this.name}`);
  }
}

function fakeDataplane(events: string[]): Dataplane {
  return {
    driver: 'nftables',
    apply: () => Promise.reject(new Error('not used')),
    status: async () => ({ driver: 'nftables', endpoints: [{ key: 'default/web', hostInterface: 'tw0123456789a', programmed: true }], drift: [] }),
    cleanup: async () => {
      events.push('dataplane cleanup');
    },
  };
}

async function get(server: HealthServer, path: string): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`http://127.0.0.1:${server.address.port}${path}`);
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

describe('startAgent', () => {
  let dir: string;
  let config: AgentConfig;
  let events: string[];
  let controllers: FakeController[];
  let store: MemoryStore;
  let health: HealthServer | undefined;
  let agents: RunningAgent[];

  function ports(overrides: Partial<AgentPorts> = {}): AgentPorts {
    return {
      logger: quiet,
      openDatastore: async () => {
        const datastore = resourceDatastoreOver(store);
        return {
          ...datastore,
          store,
          close: async () => {
            await datastore.close();
            events.push('datastore closed');
          },
        };
      },
      openDataplane: async () => fakeDataplane(events),
      controllers: () => ({
        controllers,
        status: () => ({ policy: { policies: 2 } }),
        release: () => {
          events.push('released');
        },
      }),
      serve: async ({ metrics, ...options }) => {
        const server = await serveTwill({ ...options, wrapHandlers: (handlers) => instrumentPluginHandlers(handlers, metrics) });
        return {
          socketPath: server.socketPath,
          get inFlight() {
            return server.inFlight;
          },
          close: async () => {
            await server.close();
            events.push('cni socket closed');
          },
        };
      },
      listenHealth: async (listen, source) => {
        const server = await listenHealth(listen, source);
        health = server;
        return {
          address: server.address,
          close: async () => {
            await server.close();
            events.push('health closed');
          },
        };
      },
      listenApi: async (socketPath, source) => {
        const server = await listenApi(socketPath, source);
        return {
          socketPath,
          close: async () => {
            await server.close();
            events.push('api closed');
          },
        };
      },
      ...overrides,
    };
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twt-agent-'));
    config = resolveAgentConfig({
      hostname: 'node-a',
      flags: { routing: 'none', dataDir: join(dir, 'data'), agentSocket: join(dir, 'run', 'agent.sock'), apiSocket: join(dir, 'run', 'api.sock'), httpListen: '127.0.0.1:0', network: 'pods' },
    });
    events = [];
    controllers = ['nodes', 'policy', 'routes'].map((name) => new FakeController(name, events));
    store = new MemoryStore();
    health = undefined;
    agents = [];
  });

  afterEach(async () => {
    for (const agent of agents) await agent.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('answers /healthz while it starts, and /readyz 503 naming what is not ready until every part is', async () => {
    const [nodes, policy, routes] = controllers as [FakeController, FakeController, FakeController];
    nodes.isReady = true;
    policy.hold();
    const starting = startAgent(config, ports());
    await vi.waitFor(() => expect(events).toContain('start policy'));

    expect(await get(health!, '/healthz')).toEqual({ status: 200, type: 'text/plain; charset=utf-8', text: 'ok\n' });
    let readyz = await get(health!, '/readyz');
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.text)).toMatchObject({
      ready: false,
      notReady: ['policy', 'routes', 'api', 'cni-socket'],
      parts: [
        { name: 'datastore', ready: true },
        { name: 'nodes', ready: true },
        { name: 'policy', ready: false, detail: 'not started' },
        { name: 'routes', ready: false, detail: 'not started' },
        { name: 'api', ready: false, detail: `${config.api.socket} is not served` },
        { name: 'cni-socket', ready: false, detail: `${config.agentSocket} is not served` },
      ],
    });

    policy.release();
    const agent = await starting;
    agents.push(agent);
    expect(events).toEqual(['start nodes', 'start policy', 'start routes']);
    expect((await stat(config.agentSocket)).isSocket()).toBe(true);
    readyz = await get(health!, '/readyz');
    expect({ status: readyz.status, notReady: (JSON.parse(readyz.text) as { notReady: string[] }).notReady }).toEqual({ status: 503, notReady: ['policy', 'routes'] });
    expect(agent.ready()).toBe(false);

    policy.isReady = true;
    routes.isReady = true;
    readyz = await get(health!, '/readyz');
    expect(readyz.status).toBe(200);
    expect(JSON.parse(readyz.text)).toMatchObject({ ready: true, notReady: [] });
    expect(agent.ready()).toBe(true);
    expect(await get(health!, '/nope')).toMatchObject({ status: 404 });
  });

  it('serves /metrics with the CNI requests the socket answered, and /v1/status with this node\'s endpoints', async () => {
    for (const controller of controllers) controller.isReady = true;
    const agent = await startAgent(config, ports());
    agents.push(agent);
    agent.metrics.setEndpoints(1);
    const registry = new StoreEndpointRegistry(store);
    await registry.register({ network: 'pods', containerId: 'c1', ifName: 'eth0', hostInterface: 'tw0123456789a', addresses: ['10.244.0.5/32'], since: 1, node: 'node-a' });
    await registry.register({ network: 'pods', containerId: 'c2', ifName: 'eth0', hostInterface: 'tw0000000000b', addresses: ['10.244.1.5/32'], since: 2, node: 'node-b' });

    // A STATUS call through the installed forwarder, as a runtime would make it.
    const binaries = await installTwill(join(dir, 'bin'), { standalone: '#!/bin/sh\necho standalone must not run >&2\nexit 1\n' });
    const conflist = JSON.stringify({ cniVersion: '1.1.0', name: 'pods', type: 'twill', dataDir: join(dir, 'plugin-data'), ipam: { type: 'twill-ipam', pools: [{ cidr: '10.244.0.0/16' }] } });
    const exitCode = await new Promise<number | null>((resolve) => {
      const child = execFile(binaries.plugin, [], { env: { ...process.env, TWILL_AGENT_SOCKET: config.agentSocket, CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' } }, () => undefined);
      child.stdin?.end(conflist);
      child.on('exit', (code) => resolve(code));
    });
    expect(exitCode).toBe(0);

    const metrics = await get(health!, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/u);
    expect(metrics.text).toContain('twill_cni_request_duration_seconds_count{command="STATUS",outcome="success"} 1\n');
    expect(metrics.text).toContain('twill_endpoints 1\n');
    expect(metrics.text).toContain('# TYPE process_resident_memory_bytes gauge');

    const status = await get(health!, '/v1/status');
    expect(status.status).toBe(200);
    expect(JSON.parse(status.text)).toEqual({
      node: 'node-a',
      network: 'pods',
      ready: true,
      notReady: [],
      datastore: { type: 'sqlite', location: join(dir, 'data', 'twill.db'), path: join(dir, 'data', 'twill.db'), open: true },
      cniSocket: { path: config.agentSocket, listening: true, inFlight: 0 },
      apiSocket: { path: config.api.socket, listening: true },
      dataplane: { driver: 'nftables', endpoints: [{ key: 'default/web', hostInterface: 'tw0123456789a', programmed: true }], drift: [] },
      endpoints: [{ network: 'pods', containerId: 'c1', ifName: 'eth0', hostInterface: 'tw0123456789a', addresses: ['10.244.0.5/32'], since: 1, node: 'node-a' }],
      controllers: { policy: { policies: 2 } },
      flows: { enabled: false, reason: 'not served by these agent ports' },
      ui: { enabled: false, reason: 'not served by these agent ports' },
      l7: { enabled: false, reason: 'not run by these agent ports' },
    });
  });

  it('without L7 (--no-l7), removes the redirect an earlier run kept before its controllers start, and starts even when that fails', async () => {
    for (const controller of controllers) controller.isReady = true;
    const noL7 = resolveAgentConfig({ hostname: 'node-a', flags: { routing: 'none', dataDir: join(dir, 'data'), agentSocket: join(dir, 'run', 'agent.sock'), apiSocket: join(dir, 'run', 'api.sock'), httpListen: '127.0.0.1:0', network: 'pods', noL7: 'true' } });
    const removed: unknown[] = [];
    const agent = await startAgent(noL7, ports({
      removeL7Redirect: async (l7) => {
        removed.push(l7);
        events.push('l7 redirect removed');
        throw new Error('nft: Operation not permitted');
      },
      startL7: () => Promise.reject(new Error('startL7 must not run without L7')),
    }));
    agents.push(agent);
    expect(removed).toEqual([noL7.l7]);
    expect(events.indexOf('l7 redirect removed')).toBeLessThan(events.indexOf('start nodes'));
    const status = JSON.parse((await get(health!, '/v1/status')).text) as { ready: boolean; l7: unknown };
    expect(status).toMatchObject({ ready: true, l7: { enabled: false, reason: 'l7.enabled is false (--no-l7)' } });
  });

  it('on the Kubernetes datastore, serves the plugin on its own store, refuses ADD for a Pod it does not have, and says where the datastore is', async () => {
    for (const controller of controllers) controller.isReady = true;
    const kubernetes = { ...config, datastore: { type: 'kubernetes', namespace: 'twill-system' } } as const;
    const agent = await startAgent(
      kubernetes,
      ports({
        openDatastore: async () => {
          // The embedded datastore's methods (on its prototype), at an API server's location.
          return Object.assign(resourceDatastoreOver(store), { location: 'https://10.96.0.1:443' });
        },
      }),
    );
    agents.push(agent);
    expect((JSON.parse((await get(health!, '/v1/status')).text) as { datastore: unknown }).datastore).toEqual({
      type: 'kubernetes',
      location: 'https://10.96.0.1:443',
      path: 'https://10.96.0.1:443',
      open: true,
    });

    const binaries = await installTwill(join(dir, 'bin'), { standalone: '#!/bin/sh\necho standalone must not run >&2\nexit 1\n' });
    const conflist = { cniVersion: '1.1.0', name: 'pods', type: 'twill', datastore: 'kubernetes', dataDir: join(dir, 'plugin-data'), ipam: { type: 'twill-ipam', pools: [{ cidr: '10.244.0.0/16' }] } };
    const twill = (env: Record<string, string>): Promise<{ code: number | null; stdout: string }> =>
      new Promise((resolve) => {
        const child = execFile(binaries.plugin, [], { env: { ...process.env, TWILL_AGENT_SOCKET: config.agentSocket, CNI_PATH: '/usr/lib/cni', ...env } }, (_error, stdout) =>
          resolve({ code: child.exitCode, stdout }),
        );
        child.stdin?.end(JSON.stringify(conflist));
      });
    // STATUS writes its probe through the agent's store: no SQLite file is made.
    expect(await twill({ CNI_COMMAND: 'STATUS' })).toEqual({ code: 0, stdout: '' });
    await expect(stat(join(dir, 'plugin-data'))).rejects.toMatchObject({ code: 'ENOENT' });

    const add = await twill({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0' });
    expect(add.code).toBe(1);
    expect(JSON.parse(add.stdout)).toEqual({ cniVersion: '1.1.0', code: 123, msg: 'twill: pod shop/web-0 does not exist in the Kubernetes API', details: 'a stale request for a deleted pod: nothing was attached' });
    expect(await store.list('')).toEqual([]);
  });

  it('stops in order: the API socket, the CNI socket, the controllers in reverse, their shared resources, the datastore, the health server; kernel state stays', async () => {
    const agent = await startAgent(config, ports());
    events.length = 0;
    await agent.stop();
    await agent.stop();
    expect(events).toEqual(['api closed', 'cni socket closed', 'stop routes', 'stop policy', 'stop nodes', 'released', 'datastore closed', 'health closed']);
    await expect(stat(config.agentSocket)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(config.api.socket)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fetch(`http://127.0.0.1:${health!.address.port}/healthz`)).rejects.toThrow();
  });

  it('answers a CNI call in flight when asked to stop, before any controller stops', async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const agent = await startAgent(
      config,
      ports({
        serve: async ({ metrics: _metrics, ...options }) => {
          // STATUS held until the socket is asked to close.
          const server = await serveTwill({
            ...options,
            wrapHandlers: (handlers) => ({
              ...handlers,
              status: async (request) => {
                entered();
                await gate;
                await handlers.status?.(request);
                events.push('STATUS answered');
              },
            }),
          });
          return {
            socketPath: server.socketPath,
            get inFlight() {
              return server.inFlight;
            },
            close: async () => {
              events.push('cni socket closing');
              release();
              await server.close();
              events.push('cni socket closed');
            },
          };
        },
      }),
    );
    const binaries = await installTwill(join(dir, 'bin'), { standalone: '#!/bin/sh\nexit 9\n' });
    const conflist = JSON.stringify({ cniVersion: '1.1.0', name: 'pods', type: 'twill', dataDir: join(dir, 'plugin-data'), ipam: { type: 'twill-ipam', pools: [{ cidr: '10.244.0.0/16' }] } });
    const answered = new Promise<number | null>((resolve) => {
      const child = execFile(binaries.plugin, [], { env: { ...process.env, TWILL_AGENT_SOCKET: config.agentSocket, CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' } }, () => undefined);
      child.stdin?.end(conflist);
      child.on('exit', (code) => resolve(code));
    });
    await inHandler;
    events.length = 0;
    await agent.stop();
    expect(await answered).toBe(0);
    expect(events).toEqual(['api closed', 'cni socket closing', 'STATUS answered', 'cni socket closed', 'stop routes', 'stop policy', 'stop nodes', 'released', 'datastore closed', 'health closed']);
  });

  it('undoes a failed start: what started is stopped, the datastore closed, no socket left, and the error is the controller\'s', async () => {
    const routes = controllers[2]!;
    routes.failure = new Error('routes: the kernel refused 10.244.0.0/26');
    await expect(startAgent(config, ports())).rejects.toThrow('routes: the kernel refused 10.244.0.0/26');
    expect(events).toEqual(['start nodes', 'start policy', 'start routes', 'stop policy', 'stop nodes', 'released', 'datastore closed', 'health closed']);
    await expect(stat(config.agentSocket)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('replaces the socket a killed agent left, and refuses one a live agent serves', async () => {
    // A "killed agent": a process listening on the socket, SIGKILLed (its socket file stays).
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'run'), { recursive: true });
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(config.agentSocket)}, () => console.log('listening'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect((await stat(config.agentSocket)).isSocket()).toBe(true);

    const agent = await startAgent(config, ports());
    agents.push(agent);
    await new Promise<void>((resolve, reject) => {
      const probe = connect(config.agentSocket, () => {
        probe.destroy();
        resolve();
      });
      probe.once('error', reject);
    });

    const second = resolveAgentConfig({
      hostname: 'node-a',
      flags: { routing: 'none', dataDir: join(dir, 'data2'), agentSocket: config.agentSocket, apiSocket: join(dir, 'run', 'api2.sock'), httpListen: '127.0.0.1:0' },
    });
    await expect(startAgent(second, ports())).rejects.toThrow(`another process serves ${config.agentSocket}`);
    expect(agent.readiness().find((part) => part.name === 'cni-socket')).toEqual({ name: 'cni-socket', ready: true });
    expect((await stat(config.agentSocket)).isSocket()).toBe(true);
  });
});
