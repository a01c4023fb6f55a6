// Shared by the L7 proxy tests: a real upstream HTTP/1.1 server on 127.0.0.1, the proxy
// told that upstream is every connection's original destination (what a tproxy redirect
// gives it in the agent), raw TCP clients, and a policy source that decides from policy
// YAML through @twill/policy-engine, as the agent does.
import http from 'node:http';
import net from 'node:net';

import { compileCiliumPolicy, compileHttpMatcher, createSnapshot, evaluate, l7RuleSetsOf, parseCiliumPolicy, type Endpoint, type Policy } from '@twill/policy-engine';
import { parseAllDocuments } from 'yaml';

import { L7Proxy, type L7Endpoint, type L7FlowRecord, type L7PolicySource, type L7ProxyLimits } from '../../../src/agent/l7/index.js';
import { ciliumAllow, PODS, SEED_L7_POLICY } from './seed-fixtures.js';

/** The seed tutorial's l7-api-policy: `GET /api/v1/.*` from frontend to api on 8080. */
export const SEED_POLICY = SEED_L7_POLICY;

/** gRPC's Greeter/SayHello (a POST), and any method on `/api/v1/` paths, from frontend to api on 8080. */
export const GRPC_POLICY = ciliumAllow({
  name: 'grpc', app: 'api', direction: 'ingress', peer: 'frontend', port: 8080,
  rules: { http: [{ method: 'POST', path: '/test\\.Greeter/SayHello' }, { path: '/api/v1/.*' }] },
});

/** Plain L3/L4: frontend may reach api on 8080, with no L7 rule. */
export const L4_POLICY = ciliumAllow({ name: 'l4-only', app: 'api', direction: 'ingress', peer: 'frontend', port: 8080 });

// The tests' pods (the seed's, in `default`). Every test connection is loopback to
// loopback, so the source below names the two sides instead of looking their addresses
// up, as the agent does.
const ENDPOINTS: readonly Endpoint[] = (['frontend', 'api', 'other'] as const).map((name): Endpoint => {
  const { namespace, app, ip, node } = PODS[name];
  return { kind: 'workload', namespace, name, labels: { app }, ips: [ip], node };
});

/**
 * An L7PolicySource deciding as the agent does: the policies of `yaml` through
 * @twill/policy-engine (parse, compile, `evaluate` the flow from `client` to `default/api`
 * on TCP 8080 — the upstream's ephemeral port stands for the api pod's 8080), then
 * `compileHttpMatcher(l7RuleSetsOf(verdict))`; an L3/L4 denial closes the connection, an
 * allow without L7 rules is `'any'`.
 * @param client the client pod's name in `default`: `frontend` (allowed by the test policies) or `other`.
 */
export function policySource(yaml: string, client = 'frontend'): L7PolicySource {
  const policies: Policy[] = [];
  for (const document of parseAllDocuments(yaml)) policies.push(...compileCiliumPolicy(parseCiliumPolicy(document.toJS())));
  const snapshot = createSnapshot({ endpoints: ENDPOINTS, policies });
  return {
    decide() {
      const verdict = evaluate({
        source: { endpoint: { namespace: 'default', name: client } },
        destination: { endpoint: { namespace: 'default', name: 'api' } },
        protocol: 'TCP',
        destinationPort: 8080,
      }, snapshot);
      if (!verdict.allowed) {
        const denied = [verdict.egress, verdict.ingress].find((v) => v !== undefined && !v.allowed);
        return { allowed: false, why: denied?.message ?? 'denied' };
      }
      const matcher = compileHttpMatcher(l7RuleSetsOf(verdict));
      return { allowed: true, http: matcher.restricts ? matcher : 'any' };
    },
  };
}

/** An upstream that echoes what it got; `/api/v1/upload` counts the body's bytes; `/api/v1/trailers` sends trailers. */
export async function startUpstream(): Promise<{ port: number; server: http.Server; requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[]; close(): Promise<void> }> {
  const requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (req.url === '/api/v1/upload') {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      req.on('end', () => res.end(`received ${bytes} bytes\n`));
      return;
    }
    if (req.url === '/api/v1/trailers') {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('part one\n');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end('part two\n');
      return;
    }
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      res.end(`upstream saw ${req.method} ${req.url} host=${req.headers.host ?? ''}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port, server, requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A proxy on 127.0.0.1 whose connections all have `upstreamPort` as original destination; policy: the seed's by default. */
export async function startProxy(options: {
  upstreamPort: number;
  policy?: L7PolicySource;
  limits?: Partial<L7ProxyLimits>;
  upgrades?: readonly string[];
}): Promise<{ proxy: L7Proxy; port: number; flows: L7FlowRecord[]; denied: { client: L7Endpoint; destination: L7Endpoint; why: string }[] }> {
  const flows: L7FlowRecord[] = [];
  const denied: { client: L7Endpoint; destination: L7Endpoint; why: string }[] = [];
  const proxy = new L7Proxy({
    policy: options.policy ?? policySource(SEED_POLICY),
    onFlow: (record) => flows.push(record),
    onConnectionDenied: (client, destination, why) => denied.push({ client, destination, why }),
    originalDestination: () => ({ address: '127.0.0.1', port: options.upstreamPort }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.upgrades === undefined ? {} : { upgrades: options.upgrades }),
  });
  const { port } = await proxy.listen({ port: 0 });
  return { proxy, port, flows, denied };
}

/** What a raw client saw: everything the server sent, and whether it closed the connection. */
export interface RawExchange {
  readonly text: string;
  readonly closed: boolean;
}

/**
 * Writes `bytes` (a string, or chunks written `gapMs` apart) and reads until the server closes
 * or `idleMs` pass without data.
 */
export function raw(port: number, bytes: string | readonly string[], options: { idleMs?: number; gapMs?: number } = {}): Promise<RawExchange> {
  const idleMs = options.idleMs ?? 400;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const arm = (): void => { clearTimeout(timer); timer = setTimeout(() => finish(false), idleMs); };
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); arm(); });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      const chunks = typeof bytes === 'string' ? [bytes] : bytes;
      let i = 0;
      const next = (): void => {
        if (i >= chunks.length || socket.destroyed) { arm(); return; }
        socket.write(chunks[i] as string, 'latin1');
        i += 1;
        if (options.gapMs === undefined) next();
        else setTimeout(next, options.gapMs);
      };
      next();
    });
  });
}

/** A GET over Node's client with a keep-alive agent; resolves status, body and the socket used. */
export function get(port: number, path: string, agent: http.Agent, method = 'GET', body?: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent, headers: { host: 'api.default:8080' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers, socket: req.socket as net.Socket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
