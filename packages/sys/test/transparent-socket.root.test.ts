// Transparent upstream sockets (openTransparentSocket) as a tproxy-fed proxy uses them to
// connect out as the client: a proxy namespace owns neither the client's address nor the
// server's; its socket bound to the client's address connects to a server in a second
// namespace, which sees the client's address as the peer. Replies to that address come back
// to the proxy through the tproxy reply recipe, all inside the test's namespaces:
//   nft: prerouting (mangle)  meta l4proto tcp socket transparent 1 meta mark set meta mark and 0xfffff0ff or 0x200
//   ip rule add fwmark 0x200/0xf00 lookup 200
//   ip route add local 0.0.0.0/0 dev lo table 200
import { execFileSync } from 'node:child_process';
import { closeSync } from 'node:fs';
import { type AddressInfo, Socket, createServer } from 'node:net';

import { describe, expect, it } from 'vitest';

import { AF, openSocket, openTransparentListener, openTransparentSocket, SOCK, setSocketMark, socketMark, socketTransparent } from '../src/index.js';
import { rootSkipReason, testName } from '../src/testing/index.js';
import { deliverMarkedLocally, proxyAndPeer, useTransparentLab } from './transparent-lab.js';

const reason = rootSkipReason('creates network namespaces with nftables rules and policy routes');

/**
 * The marks, Cilium's convention: the bits 0xf00 hold a value; 0x200 delivers replies locally (the tproxy
 * side), 0xa00 is the upstream sockets' own. They must differ there: a socket's mark selects its route too,
 * and a SYN whose mark matched the rule below would be routed to `lo` by table 200.
 */
const DELIVER = '0x200';
const MASK = '0xf00';
const UPSTREAM_MARK = 0xa00;

describe.skipIf(reason)(`transparent upstream sockets as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const { scratch, servers, sockets } = useTransparentLab();

  const FAMILIES = [
    { name: 'IPv4', nft: 'ip', ipFlag: '-4', proxy: '10.9.1.1/24', server: '10.9.1.2/24', serverAddress: '10.9.1.2', clientNet: '10.9.2.0/24', client: '10.9.2.7', via: '10.9.1.1', any: '0.0.0.0' },
    { name: 'IPv6', nft: 'ip6', ipFlag: '-6', proxy: 'fd00:9:1::1/64', server: 'fd00:9:1::2/64', serverAddress: 'fd00:9:1::2', clientNet: 'fd00:9:2::/64', client: 'fd00:9:2::7', via: 'fd00:9:1::1', any: '::' },
  ] as const;

  it.each(FAMILIES)('connects from an address the namespace does not own, and the server sees that address ($name)', async (f) => {
    const { proxy, peer: serverNs } = proxyAndPeer(scratch, f.proxy, f.server);
    // The server answers the client's network through the proxy's namespace, as a pod answers through its node.
    scratch.ip(serverNs, f.ipFlag, 'route', 'add', f.clientNet, 'via', f.via);
    deliverMarkedLocally(scratch, proxy, f.ipFlag, `${DELIVER}/${MASK}`, '200');
    const ruleset = `table inet ${testName()} {
      chain replies {
        type filter hook prerouting priority mangle; policy accept;
        meta l4proto tcp socket transparent 1 meta mark set meta mark and 0xfffff0ff or ${DELIVER} accept
      }
    }`;
    execFileSync('ip', ['netns', 'exec', proxy.name, 'nft', '-f', '-'], { input: ruleset, stdio: ['pipe', 'ignore', 'pipe'] });

    const server = createServer();
    servers.push(server);
    const seen = new Promise<string | undefined>((resolve) => {
      server.on('connection', (c) => {
        sockets.push(c);
        resolve(c.remoteAddress);
        c.end('hello from the server');
      });
    });
    server.listen({ fd: openTransparentListener({ address: f.any, port: 0, netns: serverNs.handle }) });
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as AddressInfo).port;

    const fd = openTransparentSocket({ source: f.client, mark: UPSTREAM_MARK, netns: proxy.handle });
    expect(socketTransparent(fd)).toBe(true);
    expect(socketMark(fd)).toBe(UPSTREAM_MARK);
    // Node reuses the descriptor: connect() on a socket made from an fd is uv_tcp_connect on it.
    const upstream = new Socket({ fd });
    sockets.push(upstream);
    const reply = new Promise<string>((resolve, reject) => {
      let data = '';
      upstream.on('data', (b) => (data += b.toString()));
      upstream.once('end', () => resolve(data));
      upstream.once('error', reject);
    });
    const connected = new Promise<void>((resolve) => upstream.once('connect', resolve));
    upstream.connect(port, f.serverAddress);
    await connected;
    expect(upstream.localAddress).toBe(f.client);
    expect(await seen).toBe(f.client);
    // The server's answer came back to the proxy's socket: the reply rule and route deliver it.
    expect(await reply).toBe('hello from the server');
  });

  it('sets, reads and removes a socket mark', () => {
    const ns = scratch.netns();
    const fd = openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: ns.handle });
    try {
      expect(socketMark(fd)).toBe(0);
      setSocketMark(fd, 0x1234);
      expect(socketMark(fd)).toBe(0x1234);
      setSocketMark(fd, 0xffffffff);
      expect(socketMark(fd)).toBe(0xffffffff);
      setSocketMark(fd, 0);
      expect(socketMark(fd)).toBe(0);
    } finally {
      closeSync(fd);
    }
  });

  it('leaves the mark off when none is given', () => {
    const ns = scratch.netns();
    const fd = openTransparentSocket({ source: '198.51.100.4', netns: ns.name });
    try {
      expect(socketMark(fd)).toBe(0);
      expect(socketTransparent(fd)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });
});
