// Helpers for the root tests: independent checks with `ip -j` (tests may use ip; src
// may not) and a TCP round trip between two namespaces, made in-process with sockets
// created inside each namespace (this host has no ping).
import { type Server, Socket, createServer } from 'node:net';

import { AF, SOCK, openSocket } from '@twill/sys';
import { type NetworkScratch, type ScratchNetns } from '@twill/sys/testing';

/** `ip -j -n NS ARGS...`, parsed. */
export function ipJson<T = Record<string, unknown>[]>(scratch: NetworkScratch, ns: ScratchNetns, ...args: string[]): T {
  return JSON.parse(scratch.ip(ns, '-j', ...args)) as T;
}

/** One link as `ip -j -d link show` prints it. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  operstate: string;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string };
}

/** One route as `ip -j route show` prints it. */
export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
  flags: string[];
  metric?: number;
  prefsrc?: string;
}

/** The links of a namespace by name. */
export function ipLinks(scratch: NetworkScratch, ns: ScratchNetns): Map<string, IpLink> {
  return new Map(ipJson<IpLink[]>(scratch, ns, '-d', 'link', 'show').map((l) => [l.ifname, l]));
}

/** `ADDRESS/LENGTH` of every address of `dev`, as ip prints them. */
export function ipAddresses(scratch: NetworkScratch, ns: ScratchNetns, dev: string): string[] {
  const [entry] = ipJson<{ addr_info: { local: string; prefixlen: number }[] }[]>(scratch, ns, 'addr', 'show', 'dev', dev);
  return (entry?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).sort();
}

/**
 * Listens on TCP in `serverNs`, connects from `clientNs` to `address`, and gives what
 * the server sent back: proof that packets flow both ways between the namespaces.
 */
export async function tcpRoundTrip(serverNs: ScratchNetns, clientNs: ScratchNetns, address: string, family: 4 | 6 = 4): Promise<string> {
  const domain = family === 4 ? AF.INET : AF.INET6;
  const server: Server = createServer((socket) => {
    socket.once('data', (data) => socket.end(`echo ${data.toString()}`));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // An unbound socket made in the namespace; listen() binds it to a free port there.
      server.listen({ fd: openSocket({ domain, type: SOCK.STREAM, netns: serverNs.handle }) }, resolve);
    });
    const { port } = server.address() as { port: number };
    const client = new Socket({ fd: openSocket({ domain, type: SOCK.STREAM, netns: clientNs.handle }), readable: true, writable: true });
    return await new Promise<string>((resolve, reject) => {
      let received = '';
      const timer = setTimeout(() => {
        client.destroy();
        reject(new Error(`no answer from ${address}:${port} within 5 s`));
      }, 5000);
      client.on('data', (data) => (received += data.toString()));
      client.on('end', () => {
        clearTimeout(timer);
        resolve(received);
      });
      client.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      client.connect(port, address, () => client.write('ping'));
    });
  } finally {
    server.close();
  }
}
