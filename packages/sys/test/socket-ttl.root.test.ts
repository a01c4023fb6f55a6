// TTL and minimum TTL on TCP sockets (RFC 5082 GTSM, as BGP's TTL security uses them),
// inside a scratch namespace over its loopback, where no router lowers the TTL: a
// listener that demands 255 drops the SYN of a client sending the default 64 (the kernel
// counts it) and accepts one sending 255.
import { closeSync } from 'node:fs';
import { type AddressInfo, type Server, Socket, createServer } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { AF, SOCK, openSocket, runInNetns, setMinTtl, setTtl, socketTtl } from '../src/index.js';
import { NetworkScratch, type ScratchNetns, rootSkipReason } from '../src/testing/index.js';

const reason = rootSkipReason();

describe.skipIf(reason)(`socket TTL and minimum TTL as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const servers: Server[] = [];
  const clients: Socket[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
    scratch.cleanup();
  });

  /** An echo server on [::]:port inside `ns` that drops packets with a TTL below `minTtl`. */
  async function gtsmServer(ns: ScratchNetns, minTtl: number): Promise<number> {
    const server = createServer((c) => c.pipe(c));
    servers.push(server);
    runInNetns(ns.handle, () => server.listen(0));
    await new Promise((resolve) => server.once('listening', resolve));
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    setMinTtl(fd, minTtl);
    setTtl(fd, 255);
    return (server.address() as AddressInfo).port;
  }

  function client(ns: ScratchNetns, port: number, ttl?: number): Socket {
    const fd = openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: ns.handle });
    if (ttl !== undefined) setTtl(fd, ttl);
    const socket = new Socket({ fd, readable: true, writable: true });
    clients.push(socket);
    socket.on('error', () => undefined);
    socket.connect(port, '127.0.0.1');
    return socket;
  }

  const minTtlDrops = (ns: ScratchNetns): number => {
    const out = scratch.exec(ns, 'nstat', ['-asz', 'TcpExtTCPMinTTLDrop']);
    return Number(/TcpExtTCPMinTTLDrop\s+(\d+)/.exec(out)?.[1] ?? Number.NaN);
  };

  it('a listener with minimum TTL 255 accepts a client sending 255 and drops one sending the default', async () => {
    const ns = scratch.netns();
    scratch.ip(ns, 'link', 'set', 'lo', 'up');
    const port = await gtsmServer(ns, 255);

    const good = client(ns, port, 255);
    const echoed = await new Promise<string>((resolve) => {
      good.once('connect', () => good.write('hello'));
      good.once('data', (data) => resolve(data.toString()));
    });
    expect(echoed).toBe('hello');

    const before = minTtlDrops(ns);
    const bad = client(ns, port);
    let connected = false;
    bad.once('connect', () => (connected = true));
    for (let i = 0; i < 100 && minTtlDrops(ns) === before; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(minTtlDrops(ns)).toBeGreaterThan(before);
    expect(connected).toBe(false);
  });

  it('reads back what it set, IPv4 and IPv6 (both options on an IPv6 socket, for its IPv4-mapped connections)', () => {
    const ns = scratch.netns();
    const fd4 = openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: ns.handle });
    const fd6 = openSocket({ domain: AF.INET6, type: SOCK.STREAM, netns: ns.handle });
    try {
      expect(socketTtl(fd4)).toEqual({ ttl: 64, minTtl: 0 });
      setTtl(fd4, 3);
      setMinTtl(fd4, 253);
      expect(socketTtl(fd4)).toEqual({ ttl: 3, minTtl: 253 });
      setTtl(fd6, 255);
      setMinTtl(fd6, 254);
      expect(socketTtl(fd6)).toEqual({ ttl: 255, minTtl: 254, hopLimit: 255, minHopCount: 254 });
      setMinTtl(fd6, 0);
      expect(socketTtl(fd6)).toMatchObject({ minTtl: 0, minHopCount: 0 });
    } finally {
      closeSync(fd4);
      closeSync(fd6);
    }
  });

  it('refuses values outside the range and sockets that are not IP, saying which', () => {
    const ns = scratch.netns();
    const fd = openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: ns.handle });
    const netlink = openSocket({ domain: AF.NETLINK, type: SOCK.RAW, netns: ns.handle });
    try {
      expect(() => setTtl(fd, 0)).toThrowError(expect.objectContaining({ code: 'EINVAL', syscall: 'setTtl', message: 'setTtl: TTL 0 is not within 1..255' }));
      expect(() => setMinTtl(fd, 256)).toThrow('setMinTtl: minimum TTL 256 is not within 0..255');
      expect(() => setTtl(netlink, 5)).toThrowError(expect.objectContaining({ code: 'EAFNOSUPPORT', syscall: 'SO_DOMAIN (not an IPv4 or IPv6 socket)' }));
    } finally {
      closeSync(fd);
      closeSync(netlink);
    }
  });
});
