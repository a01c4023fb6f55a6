// The API end to end: a real startAgent on a temporary embedded (SQLite) store with
// `dataplane: none` and the node controller, its API on a unix socket in a temporary
// folder, called over HTTP as the twill CLI calls it. IPAM allocations are made by a
// pool allocator on a second connection to the same database file, as the plugin's
// process makes them. Nothing here touches the kernel's routes or links.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parsePoolIpamConfig, PoolAllocator, SqliteStore } from '@twill/ipam';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type AgentPorts, type RunningAgent, startAgent } from '../../../src/agent/agent.js';
import { type AgentConfig, resolveAgentConfig } from '../../../src/agent/config.js';
import { NodeController } from '../../../src/agent/controllers/nodes.js';
import { type AgentLogger } from '../../../src/agent/ports.js';
import { listenApi, MAX_API_BODY_BYTES } from '../../../src/agent/sys/api-server.js';
import { agentMain, nodeAgentPorts } from '../../../src/agent/sys/main.js';

const quiet: AgentLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Record<string, unknown> & { error?: { code: string; message: string; field?: string; index?: number } };
}

// One HTTP request on the unix socket, as the CLI makes it.
// With `chunked`, the body goes in 64 KiB chunks without a content-length.
function api(socketPath: string, method: string, path: string, body?: string | Buffer | unknown, chunked = false): Promise<Reply> {
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const length = payload === undefined || chunked ? {} : { 'content-length': Buffer.byteLength(payload) };
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers: payload === undefined ? {} : { 'content-type': 'application/json', ...length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Reply['body'] });
          } catch (error) {
            reject(new Error(`not JSON (${res.statusCode}): ${text}`, { cause: error }));
          }
        });
      },
    );
    req.on('error', reject);
    if (chunked && payload !== undefined) {
      const bytes = Buffer.from(payload);
      for (let at = 0; at < bytes.length; at += 65_536) req.write(bytes.subarray(at, at + 65_536));
      req.end();
    } else req.end(payload);
  });
}

const namespace = (name: string): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const netpol = (name: string, ns: string, port: number): Record<string, unknown> => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: ns },
  spec: { podSelector: {}, ingress: [{ ports: [{ port }] }] },
});

describe('the API of a running agent', () => {
  let dir: string;
  let config: AgentConfig;
  let agents: RunningAgent[];
  let stores: SqliteStore[];

  // The real datastore, plugin socket, health server and API; no dataplane; of the
  // controllers only the node controller (it writes this node's Node resource).
  const ports = (): AgentPorts => {
    const real = nodeAgentPorts();
    return {
      ...real,
      logger: quiet,
      openDataplane: async () => undefined,
      controllers: ({ config: c, datastore, logger }) => ({ controllers: [new NodeController({ datastore, nodeName: c.nodeName, addresses: c.nodeAddresses, logger })] }),
    };
  };

  const configFor = (apiSocket: string, name = 'data'): AgentConfig =>
    resolveAgentConfig({
      hostname: 'node-a',
      file: { path: join(dir, 'agent.yaml'), settings: { cni: { pools: [{ cidr: '10.244.0.0/24', blockSize: 26 }] } } },
      flags: {
        routing: 'none',
        dataplane: 'none',
        nodeIpv4: '192.0.2.10/24',
        dataDir: join(dir, name),
        agentSocket: join(dir, `${name}-agent.sock`),
        apiSocket,
        httpListen: '127.0.0.1:0',
        network: 'pods',
      },
    });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twt-api-'));
    config = configFor(join(dir, 'run', 'twill', 'api.sock'));
    agents = [];
    stores = [];
  });

  afterEach(async () => {
    for (const agent of agents) await agent.stop().catch(() => undefined);
    for (const store of stores) await store.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves resources, status and IPAM on a 0600 socket in a folder it creates, and removes the socket when it stops', { timeout: 60_000 }, async () => {
    const agent = await startAgent(config, ports());
    agents.push(agent);
    const socket = config.api.socket;
    expect((await stat(socket)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'run', 'twill'))).mode & 0o777).toBe(0o755);
    expect(agent.readiness().find((part) => part.name === 'api')).toEqual({ name: 'api', ready: true });

    const status = await api(socket, 'GET', '/v1/status');
    expect(status).toMatchObject({ status: 200, body: { node: 'node-a', network: 'pods', ready: true, apiSocket: { path: socket, listening: true }, dataplane: { driver: 'none' } } });
    expect(await api(socket, 'GET', '/v1/resources/nodes.projectcalico.org/node-a')).toMatchObject({ status: 200, body: { kind: 'Node', spec: { bgp: { ipv4Address: '192.0.2.10/24' } } } });

    // A batch with one invalid item: 422 naming it, nothing written.
    const refused = await api(socket, 'POST', '/v1/resources', { items: [namespace('shop'), netpol('web', 'shop', 80), netpol('api', 'shop', 0)] });
    expect(refused).toMatchObject({ status: 422, body: { error: { code: 'Invalid', index: 2, field: 'spec.ingress[0].ports[0].port' } } });
    expect(refused.body.error?.message).toMatch(/^NetworkPolicy shop\/api: spec\.ingress\[0\]\.ports\[0\]\.port: /u);
    expect(await api(socket, 'GET', '/v1/resources/namespaces')).toMatchObject({ status: 200, body: { items: [] } });
    expect(await api(socket, 'GET', '/v1/resources/netpol')).toMatchObject({ status: 200, body: { items: [] } });

    // The same batch fixed: created; applied again: unchanged.
    const batch = { items: [namespace('shop'), netpol('web', 'shop', 80), netpol('api', 'shop', 8080)] };
    const created = await api(socket, 'POST', '/v1/resources', batch);
    expect(created).toMatchObject({ status: 200, body: { results: [{ kind: 'namespaces', name: 'shop', action: 'created' }, { name: 'web', action: 'created' }, { name: 'api', action: 'created' }] } });
    const again = await api(socket, 'POST', '/v1/resources', batch);
    expect((again.body['results'] as { action: string }[]).map((r) => r.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);

    const list = await api(socket, 'GET', '/v1/resources/networkpolicies.networking.k8s.io?namespace=shop');
    expect((list.body['items'] as { metadata: { name: string } }[]).map((r) => r.metadata.name)).toEqual(['api', 'web']);
    expect(await api(socket, 'GET', '/v1/resources/netpol/web?namespace=shop')).toMatchObject({ status: 200, body: { spec: { ingress: [{ ports: [{ port: 80 }] }] } } });
    expect(await api(socket, 'DELETE', '/v1/resources/netpol/web?namespace=shop')).toMatchObject({ status: 200, body: { deleted: { kind: 'networkpolicies.networking.k8s.io', namespace: 'shop', name: 'web' } } });
    expect(await api(socket, 'GET', '/v1/resources/netpol/web?namespace=shop')).toMatchObject({ status: 404, body: { error: { code: 'NotFound' } } });

    // Allocations by another process's pool allocator on the same database file.
    const store = SqliteStore.open({ path: join(config.dataDir, 'twill.db') });
    stores.push(store);
    const allocator = new PoolAllocator({ config: parsePoolIpamConfig({ pools: [{ cidr: '10.244.0.0/24', blockSize: 26 }] }, { network: 'pods' }), store });
    const one = (await allocator.allocate({ containerId: 'c1', ifName: 'eth0', node: 'node-a', namespace: 'shop', pod: 'web-1' })).addresses[0]!;
    const two = (await allocator.allocate({ containerId: 'c2', ifName: 'eth0', node: 'node-a' })).addresses[0]!;

    const show = await api(socket, 'GET', `/v1/ipam?blocks=true&ip=${one.ip}`);
    expect(show).toMatchObject({
      status: 200,
      body: {
        pools: [{ pool: '10.244.0.0-24', cidr: '10.244.0.0/24', size: '256', allocated: '2', free: '254' }],
        blocks: [{ cidr: one.block, affinity: 'node-a', allocated: 2, free: 62, handles: 2 }],
        address: { state: 'allocated', ip: one.ip, handle: 'pods.c1', pod: 'web-1', namespace: 'shop', node: 'node-a' },
      },
    });
    expect(await api(socket, 'GET', '/v1/ipam/check')).toMatchObject({ status: 200, body: { ok: true, handles: 2, problems: [] } });
    expect(await api(socket, 'GET', `/v1/ipam/why?ip=${two.ip}`)).toMatchObject({ status: 200, body: { state: 'allocated', handle: 'pods.c2' } });
    expect(await api(socket, 'POST', '/v1/ipam/release', { ip: two.ip })).toMatchObject({ status: 200, body: { released: [two.ip] } });
    expect(await api(socket, 'POST', '/v1/ipam/release', { handle: 'pods.c1' })).toMatchObject({ status: 200, body: { released: [one.ip] } });
    expect(await api(socket, 'GET', `/v1/ipam/why?ip=${one.ip}`)).toMatchObject({ status: 200, body: { state: 'cooling' } });
    // What the plugin's process sees after the API released them.
    expect(await allocator.whyHeld(two.ip)).toMatchObject({ state: 'cooling' });

    expect(await api(socket, 'GET', '/v1/bgp/peers')).toMatchObject({
      status: 503,
      body: { error: { code: 'Unavailable', message: 'BGP is not running on this node: routing is "none" (routing "bgp" runs it)' } },
    });
    expect(await api(socket, 'PATCH', '/v1/kinds')).toMatchObject({ status: 405, headers: { allow: 'GET' } });

    await agent.stop();
    await expect(stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('answers 413 to a body over 1 MiB and 400 naming the position of bad JSON', { timeout: 60_000 }, async () => {
    const agent = await startAgent(config, ports());
    agents.push(agent);
    const socket = config.api.socket;
    const big = JSON.stringify({ items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', annotations: { pad: 'x'.repeat(MAX_API_BODY_BYTES) } } }] });
    for (const chunked of [false, true]) {
      expect(await api(socket, 'POST', '/v1/resources', big, chunked)).toMatchObject({
        status: 413,
        body: { error: { code: 'TooLarge', message: 'the request body is larger than 1048576 bytes (1 MiB): send fewer items per request' } },
      });
    }
    // Just under the limit is read (and refused for what it says, not for its size).
    const fits = JSON.stringify({ items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'A', annotations: { pad: 'x'.repeat(MAX_API_BODY_BYTES - 200) } } }] });
    expect(await api(socket, 'POST', '/v1/resources', fits, true)).toMatchObject({ status: 422, body: { error: { field: 'metadata.name', index: 0 } } });
    expect(await api(socket, 'POST', '/v1/resources', '{"items": [\n  {"apiVersion": "v1",}\n]}')).toMatchObject({
      status: 400,
      body: { error: { code: 'BadRequest', message: 'the body is not JSON: expected a property name in double quotes, found "}" at line 2 column 23' } },
    });
    // The server still answers after both.
    expect(await api(socket, 'GET', '/v1/resources/namespaces')).toMatchObject({ status: 200, body: { items: [] } });
  });

  it('replaces the API socket a killed agent left, and refuses one a live agent serves', { timeout: 60_000 }, async () => {
    const socket = config.api.socket;
    await mkdir(join(dir, 'run', 'twill'), { recursive: true });
    // A killed agent: a process listening on the socket, SIGKILLed (its socket file stays).
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => console.log('listening'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect((await stat(socket)).isSocket()).toBe(true);

    const agent = await startAgent(config, ports());
    agents.push(agent);
    expect((await stat(socket)).mode & 0o777).toBe(0o600);
    expect(await api(socket, 'GET', '/v1/status')).toMatchObject({ status: 200, body: { node: 'node-a' } });

    // A second agent on the same API socket (its own data and plugin socket) is refused.
    await expect(startAgent(configFor(socket, 'second'), ports())).rejects.toThrow(`another process serves ${socket}`);
    await expect(stat(join(dir, 'second-agent.sock'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await api(socket, 'GET', '/v1/status')).toMatchObject({ status: 200, body: { node: 'node-a' } });
  });

  it('closes with a request in progress only after answering it', { timeout: 60_000 }, async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const socket = join(dir, 'held.sock');
    const server = await listenApi(socket, {
      datastore: undefined as never,
      status: async () => {
        entered();
        await gate;
        return { held: true };
      },
      endpoints: async () => [],
      pools: undefined as never,
      bgp: { unavailable: 'no' },
    });
    const answered = api(socket, 'GET', '/v1/status');
    await inside;
    const closed = server.close();
    release();
    expect(await answered).toMatchObject({ status: 200, body: { held: true } });
    await closed;
    await expect(stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('`twill-agent run --help` names --api-socket and its default', async () => {
    let out = '';
    const code = await agentMain(['run', '--help'], { stdout: (text) => (out += text), stderr: (text) => (out += text), stopSignal: () => new Promise(() => undefined) });
    expect(code).toBe(0);
    expect(out).toMatch(/--api-socket <path>\s+the API socket the twill CLI calls, mode 0600\s+\(default\s+\/run\/twill\/api\.sock\)/u);
  });
});
