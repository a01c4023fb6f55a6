// L7 policy end to end, as root, for both dataplanes: the real `twill-agent` (from the
// sources) in a scratch node namespace, pods added through the installed conflist, the
// seed tutorial's l7-api-policy and a gRPC policy from the datastore, then real clients
// inside the pods' namespaces: curl from `frontend` (GET /api/v1/users allowed; POST and
// GET /admin answered 403 by the agent's proxy), curl from `other` (nothing on 8080 at
// all), a @grpc/grpc-js client with one allowed and one denied method; the API pod's
// server sees the frontend's own address; the flows carry method, path and status; with
// the proxy down the traffic is refused, and (nftables) also with its redirect gone.
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';

import { loadNetworkConfigListFromDir } from '@twill/cni-core';
import { connectObserver, type Flow, type ObserverClient } from '@twill/flows';
import { rootSkipReason, type ScratchNetns } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { type AgentResource } from '../../src/agent/ports.js';
import { NodeLab, podIp, tcpConnect } from '../plugin/node-lab.js';
import { RealAgent, run, seedResources } from './real-agent.js';

const reason = rootSkipReason();
const GRPC = createRequire(import.meta.url).resolve('@grpc/grpc-js');

/** gRPC's Greeter on 50051: SayHello from frontend, nothing else (a gRPC call is a POST to /package.Service/Method). */
const GRPC_POLICY: AgentResource = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'greeter', namespace: 'default' },
  spec: {
    endpointSelector: { matchLabels: { app: 'api' } },
    ingress: [{ fromEndpoints: [{ matchLabels: { app: 'frontend' } }], toPorts: [{ ports: [{ port: '50051', protocol: 'TCP' }], rules: { http: [{ method: 'POST', path: '/test\\.Greeter/SayHello' }] } }] }],
  },
};

// The API pod's servers: HTTP on 8080 answering every request with what it saw (so a 403
// can only come from the proxy), gRPC's Greeter on 50051; each request's peer address logged.
const SERVERS = `
const http = require('http'); const grpc = require(process.argv[1]);
http.createServer((req, res) => { console.log(JSON.stringify({ http: req.method + ' ' + req.url, from: req.socket.remoteAddress.replace(/^::ffff:/, '') })); res.end('api ' + req.method + ' ' + req.url); }).listen(8080, '::');
const unary = (name) => ({ path: '/test.Greeter/' + name, requestStream: false, responseStream: false, requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b });
const server = new grpc.Server();
const answer = (name) => (call, callback) => { console.log(JSON.stringify({ grpc: name, from: call.getPeer() })); callback(null, Buffer.from(name + ' ' + call.request)); };
server.addService({ SayHello: unary('SayHello'), SayGoodbye: unary('SayGoodbye') }, { SayHello: answer('SayHello'), SayGoodbye: answer('SayGoodbye') });
server.bindAsync('[::]:50051', grpc.ServerCredentials.createInsecure(), (error) => { if (error) throw error; console.log('ready'); });
`;

// A gRPC client: calls each method named after the address once and prints what it got.
const GRPC_CLIENT = `
const grpc = require(process.argv[1]);
const unary = (name) => ({ path: '/test.Greeter/' + name, requestStream: false, responseStream: false, requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b });
const Client = grpc.makeGenericClientConstructor({ SayHello: unary('SayHello'), SayGoodbye: unary('SayGoodbye') }, 'Greeter');
const client = new Client(process.argv[2], grpc.credentials.createInsecure());
const call = (name) => new Promise((resolve) => client[name](Buffer.from('frontend'), { deadline: Date.now() + 5000 }, (error, reply) => resolve(error ? { name, code: error.code, details: error.details } : { name, reply: reply.toString() })));
(async () => { const out = []; for (const name of process.argv.slice(3)) out.push(await call(name)); console.log(JSON.stringify(out)); client.close(); })();
`;

describe.skipIf(reason).each(['nftables', 'ebpf'] as const)(`twill-agent L7 policy on a scratch node with the %s dataplane, as root${reason ? ` (skipped: ${reason})` : ''}`, (driver) => {
  let lab: NodeLab;
  let agent: RealAgent;
  let client: ObserverClient | undefined;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    lab = await NodeLab.create();
    agent = new RealAgent(lab, { dataplane: driver, ui: '{enabled: false}' });
    client = undefined;
  });

  afterEach(async () => {
    client?.close();
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await agent.kill();
    // The nft tables, the redirect's rules and routes and (eBPF) the agent's private bpffs go with the namespaces.
    await lab.cleanup();
  });

  /** curl from inside a pod: the status (0 when no HTTP answer came) and the body or curl's error. */
  const curl = async (from: ScratchNetns, method: string, url: string): Promise<{ status: number; body: string }> => {
    const { stdout, stderr } = await run('ip', ['netns', 'exec', from.name, 'curl', '-sS', '-m', '5', '-X', method, '-w', '\n%{http_code}', url]);
    const at = stdout.lastIndexOf('\n');
    const status = Number(stdout.slice(at + 1));
    return { status, body: status === 0 ? stderr.trim() : stdout.slice(0, at) };
  };

  it('enforces the seed l7-api-policy and a gRPC policy with real clients in the pods, the destination sees the client, and flows carry method, path and status', { timeout: 240_000 }, async () => {
    const confDir = agent.confDir;
    const socket = agent.flowsSocket;
    expect((await agent.installCni()).code).toBe(0);
    await agent.apply([...(await seedResources()), GRPC_POLICY]);
    await agent.start();
    const l7Status = (JSON.parse((await agent.http('/v1/status')).body) as { l7: Record<string, unknown> }).l7;
    expect(l7Status, agent.output).toMatchObject({ enabled: true, running: true, failClosed: true, listening: { port: 15001 }, redirect: { installed: true, missing: [] } });

    const list = await loadNetworkConfigListFromDir('twill-test', confDir);
    const runtime = lab.runtime();
    const names = ['frontend', 'api', 'other'];
    const pods = names.map(() => lab.scratch.netns());
    const results = await Promise.all(pods.map((netns, i) => runtime.add(list, { containerId: `l7-${i}`, netns: netns.path, ifName: 'eth0', args: [['K8S_POD_NAMESPACE', 'default'], ['K8S_POD_NAME', names[i]!]] })));
    const [frontendIp, apiIp] = results.map((result) => podIp(result));
    const [frontend, api, other] = pods as [ScratchNetns, ScratchNetns, ScratchNetns];

    const servers = spawn('ip', ['netns', 'exec', api.name, process.execPath, '-e', SERVERS, GRPC], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(servers);
    let seen = '';
    servers.stdout.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    servers.stderr.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    await vi.waitFor(() => expect(seen).toContain('ready'), { timeout: 10_000, interval: 100 });
    const served = (): { http?: string; grpc?: string; from: string }[] => seen.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { http?: string; grpc?: string; from: string });

    // The redirect follows the policy: the API pod's 8080 and 50051 go to the proxy.
    await vi.waitFor(async () => {
      const status = (JSON.parse((await agent.http('/v1/status')).body) as { l7: { redirect: { targets: { ingress4: number } } } }).l7;
      expect(status.redirect.targets.ingress4).toBe(2);
    }, { timeout: 20_000, interval: 250 });

    // The seed tutorial: GET /api/v1/... from frontend is served; POST and /admin get the proxy's 403.
    const api8080 = `http://${apiIp}:8080`;
    let allowed = { status: 0, body: '' };
    await vi.waitFor(async () => {
      allowed = await curl(frontend, 'GET', `${api8080}/api/v1/users`);
      expect(allowed.status).toBe(200);
    }, { timeout: 20_000, interval: 250 });
    expect(allowed.body).toBe('api GET /api/v1/users');
    const post = await curl(frontend, 'POST', `${api8080}/api/v1/users`);
    expect(post.status).toBe(403);
    const admin = await curl(frontend, 'GET', `${api8080}/admin`);
    expect(admin.status).toBe(403);
    // From another pod, nothing on 8080 at all: no HTTP answer.
    const fromOther = await curl(other, 'GET', `${api8080}/api/v1/users`);
    expect(fromOther.status).toBe(0);
    // Not even a handshake: L3/L4 policy applies first, in the kernel, as for any denied
    // connection (the proxy never accepts it; a reset would say something listens there).
    expect(await tcpConnect(other, apiIp!, 8080)).toBe('timeout');
    // The API pod saw only the allowed request, from the frontend's own address (not the node's).
    expect(served().filter((s) => s.http !== undefined)).toEqual([{ http: 'GET /api/v1/users', from: frontendIp }]);

    // gRPC: SayHello allowed, SayGoodbye PERMISSION_DENIED (7) by the proxy.
    const grpc = await run('ip', ['netns', 'exec', frontend.name, process.execPath, '-e', GRPC_CLIENT, GRPC, `${apiIp}:50051`, 'SayHello', 'SayGoodbye']);
    expect(JSON.parse(grpc.stdout.trim() || '[]'), grpc.stderr).toEqual([
      { name: 'SayHello', reply: 'SayHello frontend' },
      { name: 'SayGoodbye', code: 7, details: expect.stringMatching(/.+/u) },
    ]);
    expect(served().filter((s) => s.grpc !== undefined).map((s) => s.grpc)).toEqual(['SayHello']);

    // Flows: each request with its method, path and status; the denied ones dropped by policy.
    client = connectObserver(`unix://${socket}`, { timeoutMs: 10_000 });
    const l7Flows = async (): Promise<Flow[]> => {
      const flows: Flow[] = [];
      for await (const response of client!.getFlows({ number: 4096 })) if ('flow' in response && response.flow.l7 !== undefined) flows.push(response.flow);
      return flows;
    };
    let flows: Flow[] = [];
    await vi.waitFor(async () => {
      flows = await l7Flows();
      expect(flows.length).toBeGreaterThanOrEqual(5);
    }, { timeout: 10_000, interval: 250 });
    const byRequest = (method: string, path: string): Flow | undefined => flows.find((f) => f.l7?.http?.method === method && (f.l7.http.url.endsWith(path)));
    expect(byRequest('GET', '/api/v1/users')).toMatchObject({ verdict: 'FORWARDED', l7: { http: { code: 200 } }, source: { podName: 'frontend' }, destination: { podName: 'api' } });
    expect(byRequest('POST', '/api/v1/users')).toMatchObject({ verdict: 'DROPPED', l7: { http: { code: 403 } }, source: { podName: 'frontend' } });
    expect(byRequest('GET', '/admin')).toMatchObject({ verdict: 'DROPPED', l7: { http: { code: 403 } } });
    expect(byRequest('POST', '/test.Greeter/SayHello')).toMatchObject({ verdict: 'FORWARDED', l7: { http: { code: 200 } } });
    expect(byRequest('POST', '/test.Greeter/SayGoodbye')).toMatchObject({ verdict: 'DROPPED' });
    expect(byRequest('GET', '/api/v1/users')!.l7!.latencyNs).toBeGreaterThan(0);
    client.close();
    client = undefined;

    // The redirect gone while the agent (and its proxy) runs: the request goes straight to
    // the API pod, where the Allow with L7 rules admits only the proxy's marked traffic, so
    // it is denied and the API pod sees nothing new.
    expect((await run('ip', ['netns', 'exec', lab.node.name, 'nft', 'delete', 'table', 'inet', 'twill_l7'])).code).toBe(0);
    expect((await curl(frontend, 'GET', `${api8080}/api/v1/users`)).status).toBe(0);
    expect(served().filter((s) => s.http !== undefined)).toHaveLength(1);

    agent.child.kill('SIGTERM');
    await agent.exited;
    if (driver === 'nftables') {
      // The agent stopped too: its rules stay and still deny. (The eBPF programs here live
      // in the agent's private bpffs, which goes with its mount namespace, unlike a node's
      // /sys/fs/bpf: nothing of theirs outlives the agent in this test.)
      expect((await curl(frontend, 'GET', `${api8080}/api/v1/users`)).status).toBe(0);
      expect(served().filter((s) => s.http !== undefined)).toHaveLength(1);
    }
  });
});
