// The L7 proxy behind a real tproxy redirect, connecting upstream as the client (issue 14).
// Three namespaces: a client pod, a node routing between the pods, a server pod. In the
// node, an nftables table this test creates sends client→server:8080 to the proxy's
// transparent listener, gives replies to the proxy's transparent upstream sockets the
// delivery mark, and a policy route delivers that mark locally:
//
//   table ip <test> {
//     chain divert {                                    # prerouting, priority mangle
//       meta mark and 0xf00 == 0xa00 accept             # the proxy's own traffic: never redirected
//       meta l4proto tcp socket transparent 1 meta mark set meta mark and 0xfffff0ff or 0x200 accept
//       ip daddr <server> tcp dport 8080 meta mark set meta mark and 0xfffff0ff or 0x200 tproxy to :<proxy port> accept
//     }
//     chain marked { ... hook output ...; meta mark and 0xf00 == 0xa00 counter }
//   }
//   ip rule add fwmark 0x200/0xf00 lookup 200
//   ip route add local 0.0.0.0/0 dev lo table 200
//
// The proxy runs in this process with its listener and upstream sockets made in the node
// namespace; the server is a Node HTTP server in this process on a socket made in the
// server namespace; the client is curl run in the client namespace.
import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import { type AddressInfo } from 'node:net';
import { promisify } from 'node:util';

import { openTransparentListener } from '@twill/sys';
import { NetworkScratch, rootSkipReason, type ScratchNetns, testName } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { type L7Endpoint, type L7FlowRecord, L7Proxy, type L7UpstreamOptions } from '../../../src/agent/l7/index.js';
import { policySource, SEED_POLICY } from './harness.js';

const run = promisify(execFile);
const reason = rootSkipReason('creates network namespaces, veths, nftables tproxy rules and policy routes');

const CLIENT = '10.77.1.2';
/** A second client address on the client pod (another pod, as far as the proxy can tell). */
const OTHER_CLIENT = '10.77.1.3';
const NODE_TO_CLIENT = '10.77.1.1';
const SERVER = '10.77.2.2';
const NODE_TO_SERVER = '10.77.2.1';
/**
 * The marks, as the agent's redirect has them (Cilium's convention: the bits MASK hold one value): DELIVER for
 * tproxied packets and replies to transparent sockets, routed locally; UPSTREAM_MARK on the proxy's own sockets,
 * another value, or their SYNs would be routed locally too.
 */
const DELIVER = 0x200;
const MASK = 0xf00;
const UPSTREAM_MARK = 0xa00;
const SET_DELIVER = `meta mark set meta mark and ${~MASK >>> 0} or ${DELIVER}`;

interface Seen {
  readonly url: string;
  readonly remoteAddress: string | undefined;
}

describe.skipIf(reason)(`L7 proxy upstream as the client, behind tproxy, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    try {
      for (const close of closers.splice(0).reverse()) await close();
    } finally {
      scratch.cleanup();
    }
  });

  async function nft(ns: ScratchNetns, ruleset: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = execFile('ip', ['netns', 'exec', ns.name, 'nft', '-f', '-'], (error) => (error ? reject(error) : resolve()));
      child.stdin?.end(ruleset);
    });
  }

  /** The packets counted by the `marked` chain's counter: what the node sent carrying the upstream mark. */
  async function markedPackets(ns: ScratchNetns, table: string): Promise<number> {
    const { stdout } = await run('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'chain', 'ip', table, 'marked']);
    const items = (JSON.parse(stdout) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] }).nftables;
    let packets = 0;
    for (const item of items) for (const expr of item.rule?.expr ?? []) packets += expr.counter?.packets ?? 0;
    return packets;
  }

  /** client pod — node — server pod, routed through the node, with the node's redirect to `proxyPort`. */
  async function topology(): Promise<{ client: ScratchNetns; node: ScratchNetns; server: ScratchNetns; table: string; divert(proxyPort: number): Promise<void> }> {
    const client = scratch.netns();
    const node = scratch.netns();
    const server = scratch.netns();
    const toClient = scratch.veth(node, client);
    const toServer = scratch.veth(node, server);
    scratch.ip(node, 'address', 'add', `${NODE_TO_CLIENT}/24`, 'dev', toClient.a);
    scratch.ip(node, 'address', 'add', `${NODE_TO_SERVER}/24`, 'dev', toServer.a);
    scratch.ip(client, 'address', 'add', `${CLIENT}/24`, 'dev', toClient.b);
    scratch.ip(client, 'address', 'add', `${OTHER_CLIENT}/24`, 'dev', toClient.b);
    scratch.ip(server, 'address', 'add', `${SERVER}/24`, 'dev', toServer.b);
    scratch.ip(client, 'route', 'add', 'default', 'via', NODE_TO_CLIENT);
    scratch.ip(server, 'route', 'add', 'default', 'via', NODE_TO_SERVER);
    scratch.exec(node, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    scratch.ip(node, 'rule', 'add', 'fwmark', `${DELIVER}/${MASK}`, 'lookup', '200');
    scratch.ip(node, 'route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '200');
    const table = testName();
    const divert = (proxyPort: number): Promise<void> => nft(node, `table ip ${table} {
      chain divert {
        type filter hook prerouting priority mangle; policy accept;
        meta mark and ${MASK} == ${UPSTREAM_MARK} accept
        meta l4proto tcp socket transparent 1 ${SET_DELIVER} accept
        ip daddr ${SERVER} tcp dport 8080 ${SET_DELIVER} tproxy to :${proxyPort} accept
      }
      chain marked {
        type filter hook output priority mangle; policy accept;
        meta mark and ${MASK} == ${UPSTREAM_MARK} counter
      }
    }`);
    return { client, node, server, table, divert };
  }

  /** An HTTP server on SERVER:8080 in `ns` that records each request's path and peer address. */
  async function startServer(ns: ScratchNetns): Promise<Seen[]> {
    const seen: Seen[] = [];
    const server = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', remoteAddress: req.socket.remoteAddress });
      res.end(`server saw ${req.method} ${req.url} from ${req.socket.remoteAddress}\n`);
    });
    server.listen({ fd: openTransparentListener({ address: SERVER, port: 8080, netns: ns.handle }) });
    await new Promise((resolve) => server.once('listening', resolve));
    expect((server.address() as AddressInfo).port).toBe(8080);
    closers.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
    return seen;
  }

  /** An h2c (prior knowledge) server on SERVER:8080 in `ns` that records each stream's path and its connection's peer address. */
  async function startHttp2Server(ns: ScratchNetns): Promise<Seen[]> {
    const seen: Seen[] = [];
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      const remoteAddress = stream.session?.socket.remoteAddress;
      seen.push({ url: String(headers[':path']), remoteAddress });
      stream.respond({ ':status': 200 });
      stream.end(`h2 server saw ${String(headers[':path'])} from ${remoteAddress}\n`);
    });
    server.listen({ fd: openTransparentListener({ address: SERVER, port: 8080, netns: ns.handle }) });
    await new Promise((resolve) => server.once('listening', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return seen;
  }

  /** The proxy in the node namespace: its transparent listener, and upstream sockets made there per `upstream`. */
  async function startProxy(node: ScratchNetns, upstream: Omit<L7UpstreamOptions, 'netns'>): Promise<{ port: number; asked: { client: L7Endpoint; destination: L7Endpoint }[]; flows: L7FlowRecord[] }> {
    const seed = policySource(SEED_POLICY, 'frontend');
    const asked: { client: L7Endpoint; destination: L7Endpoint }[] = [];
    const flows: L7FlowRecord[] = [];
    const proxy = new L7Proxy({
      // The client pod is frontend, the server pod api (the seed's GET /api/v1/.* from frontend to api on 8080).
      policy: { decide: (client, destination) => { asked.push({ client, destination }); return seed.decide(client, destination); } },
      onFlow: (record) => flows.push(record),
      upstream: { ...upstream, netns: node.handle },
    });
    closers.push(() => proxy.close());
    const { port } = await proxy.listen({ fd: openTransparentListener({ address: '0.0.0.0', port: 0, netns: node.handle }) });
    return { port, asked, flows };
  }

  async function curl(client: ScratchNetns, path: string, from = CLIENT, h2 = false): Promise<{ status: number; body: string }> {
    const options = ['-sS', '--max-time', '10', '--interface', from, '-w', '\n%{http_code}', ...(h2 ? ['--http2-prior-knowledge'] : [])];
    const { stdout } = await run('ip', ['netns', 'exec', client.name, 'curl', ...options, `http://${SERVER}:8080${path}`]);
    const cut = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
  }

  it('connects upstream from the client pod\'s address, marked, and answers a denied request 403 without reaching the server', async () => {
    const { client, node, server, table, divert } = await topology();
    const seen = await startServer(server);
    const proxy = await startProxy(node, { source: 'client', mark: UPSTREAM_MARK });
    await divert(proxy.port);

    const allowed = await curl(client, '/api/v1/users');
    expect(allowed).toEqual({ status: 200, body: `server saw GET /api/v1/users from ${CLIENT}\n` });
    // The proxy got the connection through the redirect: the client pod's address, the original destination.
    expect(proxy.asked[0]).toMatchObject({ client: { address: CLIENT }, destination: { address: SERVER, port: 8080 } });
    // The server saw the client pod, not the node.
    expect(seen).toEqual([{ url: '/api/v1/users', remoteAddress: CLIENT }]);
    expect(await markedPackets(node, table)).toBeGreaterThan(0);

    const denied = await curl(client, '/admin');
    expect(denied.status).toBe(403);
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/users']);
    expect(proxy.flows.map((f) => [f.path, f.status, f.verdict])).toEqual([['/api/v1/users', 200, 'forwarded'], ['/admin', 403, 'denied']]);

    // Another client right after: the first client's idle keep-alive connection is not its to use.
    expect(await curl(client, '/api/v1/orders', OTHER_CLIENT)).toEqual({ status: 200, body: `server saw GET /api/v1/orders from ${OTHER_CLIENT}\n` });
    // And the first client's next request may reuse its own.
    expect((await curl(client, '/api/v1/users/2')).body).toBe(`server saw GET /api/v1/users/2 from ${CLIENT}\n`);
    expect(seen.map((s) => s.remoteAddress)).toEqual([CLIENT, OTHER_CLIENT, CLIENT]);
  });

  it('connects upstream from the node\'s own address with source \'node\', made in the node\'s namespace', async () => {
    const { client, node, server, table, divert } = await topology();
    const seen = await startServer(server);
    const proxy = await startProxy(node, { source: 'node' });
    await divert(proxy.port);

    expect(await curl(client, '/api/v1/items')).toEqual({ status: 200, body: `server saw GET /api/v1/items from ${NODE_TO_SERVER}\n` });
    expect(seen).toEqual([{ url: '/api/v1/items', remoteAddress: NODE_TO_SERVER }]);
    // No mark asked for: nothing the node sent carried the upstream mark.
    expect(await markedPackets(node, table)).toBe(0);
  });

  it('opens an HTTP/2 session per client address, each from that address', async () => {
    const { client, node, server, divert } = await topology();
    const seen = await startHttp2Server(server);
    const proxy = await startProxy(node, { source: 'client', mark: UPSTREAM_MARK });
    await divert(proxy.port);

    expect(await curl(client, '/api/v1/a', CLIENT, true)).toEqual({ status: 200, body: `h2 server saw /api/v1/a from ${CLIENT}\n` });
    expect(await curl(client, '/api/v1/b', OTHER_CLIENT, true)).toEqual({ status: 200, body: `h2 server saw /api/v1/b from ${OTHER_CLIENT}\n` });
    expect((await curl(client, '/admin', OTHER_CLIENT, true)).status).toBe(403);
    expect(seen).toEqual([{ url: '/api/v1/a', remoteAddress: CLIENT }, { url: '/api/v1/b', remoteAddress: OTHER_CLIENT }]);
    expect(proxy.flows.map((f) => [f.protocol, f.client.address, f.status])).toEqual([['HTTP/2', CLIENT, 200], ['HTTP/2', OTHER_CLIENT, 200], ['HTTP/2', OTHER_CLIENT, 403]]);
  });
});
