// HTTP/2 and gRPC through the L7 proxy, on the same port as HTTP/1.1: real @grpc/grpc-js
// client and server (one allowed method, one denied), and Node's http2 client against an
// http2 upstream. Every stream is decided on its own.
import http2 from 'node:http2';
import { type AddressInfo } from 'node:net';

import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { HTTP2_PREFACE, type L7FlowRecord, type L7Proxy } from '../../../src/agent/l7/index.js';
import { GRPC_POLICY, policySource, raw, startProxy } from './harness.js';

const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const unary = (name: string) => ({
  path: `/test.Greeter/${name}`, requestStream: false, responseStream: false,
  requestSerialize: bytes.serialize, requestDeserialize: bytes.deserialize, responseSerialize: bytes.serialize, responseDeserialize: bytes.deserialize,
});
const GREETER: grpc.ServiceDefinition = { SayHello: unary('SayHello'), SayGoodbye: unary('SayGoodbye') };
const GreeterClient = grpc.makeGenericClientConstructor(GREETER, 'Greeter');

type Unary = (request: Buffer, callback: (error: grpc.ServiceError | null, response?: Buffer) => void) => void;

function call(client: grpc.Client, method: string, payload: string): Promise<{ error?: grpc.ServiceError; reply?: string; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined;
    const c = (client as unknown as Record<string, Unary>)[method]?.bind(client) as Unary;
    const pending = c(Buffer.from(payload), (error, response) => {
      setImmediate(() => resolve({ ...(error === null ? {} : { error }), ...(response === undefined ? {} : { reply: response.toString() }), ...(trailers === undefined ? {} : { trailers }) }));
    }) as unknown as grpc.ClientUnaryCall;
    pending.on('status', (status: grpc.StatusObject) => { trailers = status.metadata; });
  });
}

let server: grpc.Server;
let grpcPort: number;
let proxy: L7Proxy;
let port: number;
let flows: L7FlowRecord[];
let client: grpc.Client;

beforeEach(async () => {
  server = new grpc.Server();
  server.addService(GREETER, {
    SayHello: (callObj: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const trailer = new grpc.Metadata();
      trailer.set('x-served-by', 'upstream');
      callback(null, Buffer.from(`hello ${callObj.request.toString()}`), trailer);
    },
    SayGoodbye: (_callObj: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from('goodbye')),
  });
  grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e === null ? resolve(p) : reject(e))));
  ({ proxy, port, flows } = await startProxy({ upstreamPort: grpcPort, policy: policySource(GRPC_POLICY) }));
  client = new GreeterClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterEach(async () => {
  client.close();
  await proxy.close();
  server.forceShutdown();
});

describe('gRPC through the proxy', () => {
  it('forwards an allowed method with its trailers, and refuses a denied one with PERMISSION_DENIED', async () => {
    const hello = await call(client, 'SayHello', 'frontend');
    expect(hello.error).toBeUndefined();
    expect(hello.reply).toBe('hello frontend');
    expect(hello.trailers?.get('x-served-by')).toEqual(['upstream']);

    const bye = await call(client, 'SayGoodbye', 'frontend');
    expect(bye.error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(bye.error?.details).toBe('denied by policy: no HTTP rule of CiliumNetworkPolicy default/grpc (ingress) allows POST /test.Greeter/SayGoodbye');

    // The same client connection goes on working after a denial.
    expect((await call(client, 'SayHello', 'again')).reply).toBe('hello again');
    expect(flows.map((f) => [f.protocol, f.path, f.status, f.grpcStatus, f.verdict])).toEqual([
      ['HTTP/2', '/test.Greeter/SayHello', 200, 0, 'forwarded'],
      ['HTTP/2', '/test.Greeter/SayGoodbye', 200, 7, 'denied'],
      ['HTTP/2', '/test.Greeter/SayHello', 200, 0, 'forwarded'],
    ]);
  });

  it('answers UNAVAILABLE when the destination is down', async () => {
    server.forceShutdown();
    const { proxy: p, port: deadPort } = await startProxy({ upstreamPort: grpcPort, policy: policySource(GRPC_POLICY) });
    const c = new GreeterClient(`127.0.0.1:${deadPort}`, grpc.credentials.createInsecure());
    try {
      const result = await call(c, 'SayHello', 'x');
      expect(result.error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(result.error?.details).toMatch(/^upstream 127\.0\.0\.1:\d+ refused the connection$/);
    } finally {
      c.close();
      await p.close();
    }
  });
});

describe('plain HTTP/2 through the proxy', () => {
  let h2: http2.Http2Server;
  let h2Proxy: { proxy: L7Proxy; port: number };
  beforeEach(async () => {
    h2 = http2.createServer();
    h2.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'text/plain' });
        stream.end(`h2 upstream saw ${headers[':method']} ${headers[':path']} (${Buffer.concat(chunks).length} bytes)`);
      });
    });
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    h2Proxy = await startProxy({ upstreamPort: (h2.address() as AddressInfo).port });
  });
  afterEach(async () => {
    await h2Proxy.proxy.close();
    await new Promise<void>((resolve) => h2.close(() => resolve()));
  });

  function request(session: http2.ClientHttp2Session, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':method': method, ':path': path });
      let status = 0;
      let text = '';
      stream.on('response', (h) => { status = Number(h[':status']); });
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => { text += c; });
      stream.on('end', () => resolve({ status, text }));
      stream.on('error', reject);
      stream.end(body);
    });
  }

  it('decides each stream of one session: GET /api/v1/... forwarded, POST and /admin get 403', async () => {
    const session = http2.connect(`http://127.0.0.1:${h2Proxy.port}`);
    try {
      const [ok, post, admin] = await Promise.all([
        request(session, 'GET', '/api/v1/users'),
        request(session, 'POST', '/api/v1/users', 'x'),
        request(session, 'GET', '/admin'),
      ]);
      expect(ok).toEqual({ status: 200, text: 'h2 upstream saw GET /api/v1/users (0 bytes)' });
      expect(post).toEqual({ status: 403, text: 'denied by policy: no HTTP rule of CiliumNetworkPolicy default/l7-api-policy (ingress) allows POST /api/v1/users\n' });
      expect(admin.status).toBe(403);
    } finally {
      session.close();
    }
  });
});

describe('HTTP/2 framing', () => {
  it('recognizes a preface split across packets, and closes a session that sends garbage after it, serving others', async () => {
    const settings = '\0\0\0\x04\0\0\0\0\0'; // an empty SETTINGS frame (RFC 9113 §6.5)
    const split = await raw(port, [HTTP2_PREFACE.slice(0, 10), HTTP2_PREFACE.slice(10) + settings], { gapMs: 50 });
    // The server's first frame is its SETTINGS (type 0x4 in the fourth byte).
    expect(split.text.charCodeAt(3)).toBe(0x04);

    // Node answers a connection error with GOAWAY but leaves the TCP connection open (RFC 9113
    // §5.4.1 says close it): the proxy's idle timeout closes it.
    const { proxy: quick, port: quickPort } = await startProxy({ upstreamPort: grpcPort, policy: policySource(GRPC_POLICY), limits: { idleTimeoutMs: 300 } });
    try {
      const garbage = await raw(quickPort, `${HTTP2_PREFACE}${settings}this is not a frame at all, not even close`, { idleMs: 2000 });
      expect(garbage.closed).toBe(true);
      expect(frames(garbage.text)).toContainEqual({ type: 0x07, error: 0x06 }); // GOAWAY, FRAME_SIZE_ERROR
    } finally {
      await quick.close();
    }
    expect((await call(client, 'SayHello', 'still')).reply).toBe('hello still');
  });
});

// The frames of a server's byte stream: type, and the error code of GOAWAY frames (RFC 9113 §4.1, §6.8).
function frames(text: string): { type: number; error?: number }[] {
  const b = Buffer.from(text, 'latin1');
  const out: { type: number; error?: number }[] = [];
  for (let at = 0; at + 9 <= b.length;) {
    const length = b.readUIntBE(at, 3);
    const type = b[at + 3] as number;
    out.push(type === 0x07 ? { type, error: b.readUInt32BE(at + 13) } : { type });
    at += 9 + length;
  }
  return out;
}
