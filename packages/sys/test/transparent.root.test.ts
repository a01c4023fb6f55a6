// Transparent TCP listeners (IP_TRANSPARENT, IPV6_TRANSPARENT) as a tproxy-fed proxy uses
// them: a proxy namespace routes a client namespace's traffic; an nftables `tproxy` rule
// there hands a connection to 192.0.2.10:8080 or [2001:db8::10]:8080 (addresses nobody
// has) to the listener, and the accepted socket's local address is that original destination.
import { execFileSync } from 'node:child_process';
import { closeSync } from 'node:fs';
import { type AddressInfo, Socket, createServer } from 'node:net';

import { describe, expect, it } from 'vitest';

import { AF, openSocket, openTransparentListener, SOCK, socketTransparent, SysError } from '../src/index.js';
import { rootSkipReason, testName } from '../src/testing/index.js';
import { deliverMarkedLocally, proxyAndPeer, useTransparentLab } from './transparent-lab.js';

const reason = rootSkipReason('creates network namespaces with nftables tproxy rules');

describe.skipIf(reason)(`transparent listeners as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const { scratch, servers, sockets } = useTransparentLab();

  const FAMILIES = [
    { name: 'IPv4', nft: 'ip', ipFlag: '-4', proxy: '10.9.0.1/24', client: '10.9.0.2/24', via: '10.9.0.1', any: '0.0.0.0', target: '192.0.2.10', clientAddress: '10.9.0.2', domain: AF.INET },
    { name: 'IPv6', nft: 'ip6', ipFlag: '-6', proxy: 'fd00:9::1/64', client: 'fd00:9::2/64', via: 'fd00:9::1', any: '::', target: '2001:db8::10', clientAddress: 'fd00:9::2', domain: AF.INET6 },
  ] as const;

  it.each(FAMILIES)('accepts a connection tproxy diverted, with the original destination as its local address ($name)', async (f) => {
    const { proxy, peer: client } = proxyAndPeer(scratch, f.proxy, f.client);
    scratch.ip(client, f.ipFlag, 'route', 'add', 'default', 'via', f.via);
    // Marked packets are delivered locally whatever their destination (the usual tproxy policy route).
    deliverMarkedLocally(scratch, proxy, f.ipFlag, '0x5', '105');

    const fd = openTransparentListener({ address: f.any, port: 0, netns: proxy.handle });
    expect(socketTransparent(fd)).toBe(true);
    const server = createServer();
    servers.push(server);
    const accepted = new Promise<{ localAddress?: string; localPort?: number; remoteAddress?: string }>((resolve) => {
      server.on('connection', (c) => {
        sockets.push(c);
        resolve({ localAddress: c.localAddress, localPort: c.localPort, remoteAddress: c.remoteAddress });
        c.end('proxied');
      });
    });
    server.listen({ fd });
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as AddressInfo).port;

    const table = testName();
    const ruleset = `table ${f.nft} ${table} {
      chain divert {
        type filter hook prerouting priority mangle; policy accept;
        ${f.nft} daddr ${f.target} tcp dport 8080 tproxy to :${port} meta mark set 0x5 accept
      }
    }`;
    execFileSync('ip', ['netns', 'exec', proxy.name, 'nft', '-f', '-'], { input: ruleset, stdio: ['pipe', 'ignore', 'pipe'] });

    const conn = new Socket({ fd: openSocket({ domain: f.domain, type: SOCK.STREAM, netns: client.handle }), readable: true, writable: true });
    sockets.push(conn);
    const reply = new Promise<string>((resolve, reject) => {
      let data = '';
      conn.on('data', (b) => (data += b.toString()));
      conn.once('end', () => resolve(data));
      conn.once('error', reject);
    });
    conn.connect(8080, f.target);
    expect(await accepted).toEqual({ localAddress: f.target, localPort: 8080, remoteAddress: f.clientAddress });
    expect(await reply).toBe('proxied');
  });

  it('sets IPV6_TRANSPARENT on an IPv6 listener that Node can listen on', async () => {
    const ns = scratch.netns();
    const fd = openTransparentListener({ address: '::', port: 0, netns: ns.name });
    expect(socketTransparent(fd)).toBe(true);
    const server = createServer();
    servers.push(server);
    server.listen({ fd });
    await new Promise((resolve) => server.once('listening', resolve));
    expect((server.address() as AddressInfo).family).toBe('IPv6');
    // A plain socket is not transparent.
    const plain = openSocket({ domain: AF.INET6, type: SOCK.STREAM, netns: ns.handle });
    try {
      expect(socketTransparent(plain)).toBe(false);
    } finally {
      closeSync(plain);
    }
  });

  it('makes a `::` listener dual-stack even where net.ipv6.bindv6only is 1: it accepts an IPv4 connection', async () => {
    const ns = scratch.netns();
    scratch.ip(ns, 'link', 'set', 'lo', 'up');
    scratch.exec(ns, 'sysctl', ['-q', '-w', 'net.ipv6.bindv6only=1']);
    const server = createServer((c) => {
      sockets.push(c);
      c.end(`accepted ${c.remoteAddress}`);
    });
    servers.push(server);
    server.listen({ fd: openTransparentListener({ address: '::', port: 0, netns: ns.handle }) });
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as AddressInfo).port;
    const client = new Socket({ fd: openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: ns.handle }), readable: true, writable: true });
    sockets.push(client);
    const answer = await new Promise<string>((resolve) => {
      client.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      client.once('data', (data) => resolve(data.toString()));
      client.connect(port, '127.0.0.1');
    });
    expect(answer).toBe('accepted ::ffff:127.0.0.1');
  });

  it('binds an address the namespace does not have, and reports a bind the kernel refuses naming it', async () => {
    const ns = scratch.netns();
    // Transparent sockets may bind foreign addresses (what a proxy connecting out as the client does).
    closeSync(openTransparentListener({ address: '203.0.113.7', port: 4321, netns: ns.handle }));
    const server = createServer();
    servers.push(server);
    server.listen({ fd: openTransparentListener({ address: '127.0.0.1', port: 4321, netns: ns.handle }) });
    await new Promise((resolve) => server.once('listening', resolve));
    // SO_REUSEADDR does not share a port with a socket listening on it.
    let caught: unknown;
    try {
      openTransparentListener({ address: '127.0.0.1', port: 4321, netns: ns.handle });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SysError);
    expect(caught).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind 127.0.0.1 port 4321' });
  });
});
