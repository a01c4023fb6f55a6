import { closeSync, readSync, writeSync } from 'node:fs';
import { type AddressInfo, type Server, Socket, createServer } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { AF, SOCK, SysError, openNetlinkSocket, openSocket, runInNetns, setTcpMd5 } from '../src/index.js';
import { NetworkScratch, type ScratchNetns, rootSkipReason } from '../src/testing/index.js';

const reason = rootSkipReason();

// RTM_GETLINK dump request: nlmsghdr (16 bytes) + ifinfomsg (16 bytes).
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const IFLA_IFNAME = 3;

/** Link names from a raw RTM_GETLINK dump over a netlink socket descriptor. */
function dumpLinkNames(fd: number): string[] {
  const request = new DataView(new ArrayBuffer(32));
  request.setUint32(0, 32, true);
  request.setUint16(4, RTM_GETLINK, true);
  request.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  request.setUint32(8, 1, true); // sequence number
  writeSync(fd, new Uint8Array(request.buffer));
  const names: string[] = [];
  const buffer = Buffer.alloc(65536);
  for (;;) {
    const n = readSync(fd, buffer);
    let off = 0;
    while (off + 16 <= n) {
      const len = buffer.readUInt32LE(off);
      const type = buffer.readUInt16LE(off + 4);
      if (type === NLMSG_DONE) return names;
      if (type === RTM_NEWLINK) {
        // Attributes follow nlmsghdr (16) and ifinfomsg (16), each 4-byte aligned.
        let attr = off + 32;
        while (attr + 4 <= off + len) {
          const attrLen = buffer.readUInt16LE(attr);
          if (attrLen < 4) break;
          if (buffer.readUInt16LE(attr + 2) === IFLA_IFNAME) {
            names.push(buffer.toString('utf8', attr + 4, attr + attrLen).replace(/\0+$/, ''));
          }
          attr += (attrLen + 3) & ~3;
        }
      }
      off += (len + 3) & ~3;
    }
  }
}

describe.skipIf(reason)(`sockets inside namespaces as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  afterEach(() => scratch.cleanup());

  it('opens a raw netlink socket that sees only its namespace', () => {
    const a = scratch.netns();
    const b = scratch.netns();
    scratch.veth(a, a, { a: 'twt-va1', b: 'twt-vb1' });
    const fdA = openNetlinkSocket({ netns: a.handle });
    const fdB = openNetlinkSocket({ netns: b.name });
    try {
      expect(dumpLinkNames(fdA).sort()).toEqual(['lo', 'twt-va1', 'twt-vb1']);
      expect(dumpLinkNames(fdB)).toEqual(['lo']);
    } finally {
      closeSync(fdA);
      closeSync(fdB);
    }
  });

  it('reports a bad socket request as a SysError from socket(2)', () => {
    const ns = scratch.netns();
    let caught: unknown;
    try {
      openSocket({ domain: 9999, type: SOCK.STREAM, netns: ns.handle });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SysError);
    expect(caught).toMatchObject({ code: 'EAFNOSUPPORT', syscall: 'socket' });
  });

  describe('TCP MD5 (RFC 2385)', () => {
    const servers: Server[] = [];
    const clients: Socket[] = [];
    afterEach(async () => {
      for (const c of clients.splice(0)) c.destroy();
      await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    });

    /** An echo server on [::]:port inside `ns`, with an MD5 key for 127.0.0.1. */
    async function md5Server(ns: ScratchNetns, key: string): Promise<number> {
      const server = createServer((c) => c.pipe(c));
      servers.push(server);
      // listen() without a host binds synchronously, so the socket is made in the namespace.
      runInNetns(ns.handle, () => server.listen(0));
      await new Promise((resolve) => server.once('listening', resolve));
      const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
      // The listener is IPv6 and dual-stack: an IPv4 peer's key is its mapped address.
      setTcpMd5(fd, { address: '::ffff:127.0.0.1', key });
      return (server.address() as AddressInfo).port;
    }

    /** A client socket made in `ns`, keyed before connect() when `key` is given. */
    function md5Client(ns: ScratchNetns, port: number, key?: string): Socket {
      const fd = openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: ns.handle });
      if (key !== undefined) setTcpMd5(fd, { address: '127.0.0.1', key });
      const socket = new Socket({ fd, readable: true, writable: true });
      clients.push(socket);
      socket.connect(port, '127.0.0.1');
      return socket;
    }

    const md5NotFound = (ns: ScratchNetns): number => {
      const out = scratch.exec(ns, 'nstat', ['-asz', 'TcpExtTCPMD5NotFound']);
      return Number(/TcpExtTCPMD5NotFound\s+(\d+)/.exec(out)?.[1] ?? Number.NaN);
    };

    it('connects and exchanges data when both sides hold the key', async () => {
      const ns = scratch.netns();
      const port = await md5Server(ns, 'twill-secret');
      const client = md5Client(ns, port, 'twill-secret');
      const echoed = await new Promise<string>((resolve, reject) => {
        client.once('error', reject);
        client.once('connect', () => client.write('hello'));
        client.once('data', (data) => resolve(data.toString()));
      });
      expect(echoed).toBe('hello');
    });

    it('drops a peer that sends no signature', async () => {
      const ns = scratch.netns();
      const port = await md5Server(ns, 'twill-secret');
      const before = md5NotFound(ns);
      const client = md5Client(ns, port);
      let connected = false;
      client.once('connect', () => (connected = true));
      client.on('error', () => undefined);
      // The kernel silently drops the unsigned SYN and counts it.
      for (let i = 0; i < 100 && md5NotFound(ns) === before; i += 1) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(md5NotFound(ns)).toBeGreaterThan(before);
      expect(connected).toBe(false);
    });

    it('removes a key with an empty one, and refuses bad arguments before any call', async () => {
      const ns = scratch.netns();
      const fd = openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: ns.handle });
      try {
        setTcpMd5(fd, { address: '10.0.0.1', key: 'k' });
        setTcpMd5(fd, { address: '10.0.0.1', key: '' });
        // Removing a key that is not there is ENOENT from the kernel.
        expect(() => setTcpMd5(fd, { address: '10.0.0.1', key: '' })).toThrowError(
          expect.objectContaining({ code: 'ENOENT', syscall: 'setsockopt TCP_MD5SIG' }),
        );
        setTcpMd5(fd, { address: '10.0.0.0', prefixLength: 8, key: 'k' });
      } finally {
        closeSync(fd);
      }
    });
  });
});
