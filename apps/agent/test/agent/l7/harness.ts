// Shared by the L7 proxy tests: a real upstream HTTP/1.1 server on 127.0.0.1, the proxy
// told that upstream is every connection's original destination (what a tproxy redirect
// gives it in the agent), raw TCP clients, and a rule matcher for the seed policy.
import http from 'node:http';
import net from 'node:net';

import { L7Proxy, type L7FlowRecord, type L7ProxyLimits, type L7RequestFacts, type L7RequestMatcher, type L7ConnectionDecision } from '../../../src/agent/l7/index.js';

/**
 * The seed's l7-api-policy (`GET /api/v1/.*`) as a matcher. @twill/policy-engine's
 * compileHttpMatcher builds exactly this (its own tests cover the rule semantics); it is
 * not exported from the package index yet, and the agent may only import the package by
 * name, so the proxy tests use this stand-in of the same port.
 */
export const SEED_MATCHER: L7RequestMatcher = {
  match(request: L7RequestFacts) {
    const pathOnly = request.path;
    if (request.method === 'GET' && pathOnly.startsWith('/api/v1/')) {
      return { allowed: true, by: [{ label: 'CiliumNetworkPolicy default/l7-api-policy spec.ingress[0].toPorts[0] http[0]' }] };
    }
    return { allowed: false, why: `no HTTP rule of CiliumNetworkPolicy default/l7-api-policy (ingress) allows ${request.method} ${request.path}` };
  },
};

/** A matcher allowing every request with any method on `/api/v1/` paths, and gRPC's Greeter/SayHello only. */
export const GRPC_MATCHER: L7RequestMatcher = {
  match(request: L7RequestFacts) {
    if (request.method === 'POST' && request.path === '/test.Greeter/SayHello') return { allowed: true, by: [{ label: 'p http[0]' }] };
    if (request.path.startsWith('/api/v1/')) return { allowed: true, by: [{ label: 'p http[1]' }] };
    return { allowed: false, why: `no HTTP rule of CiliumNetworkPolicy default/grpc allows ${request.method} ${request.path}` };
  },
};

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

/** A proxy on 127.0.0.1 whose connections all have `upstreamPort` as original destination. */
export async function startProxy(options: {
  upstreamPort: number;
  matcher?: L7RequestMatcher | 'any';
  decide?: () => L7ConnectionDecision | Promise<L7ConnectionDecision>;
  limits?: Partial<L7ProxyLimits>;
}): Promise<{ proxy: L7Proxy; port: number; flows: L7FlowRecord[] }> {
  const flows: L7FlowRecord[] = [];
  const proxy = new L7Proxy({
    policy: { decide: options.decide ?? (() => ({ allowed: true, http: options.matcher ?? SEED_MATCHER })) },
    onFlow: (record) => flows.push(record),
    originalDestination: () => ({ address: '127.0.0.1', port: options.upstreamPort }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  const { port } = await proxy.listen({ port: 0 });
  return { proxy, port, flows };
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
