// Test helpers: two namespaces joined by a veth, and real traffic between them made
// in-process with sockets created inside each namespace (this host has no ping).
import { createSocket } from 'node:dgram';
import { type Server, Socket, createServer } from 'node:net';

import { AF, SOCK, openSocket } from '@twill/sys';
import { type NetworkScratch, type ScratchNetns } from '@twill/sys/testing';

import { MapType, ProgramBuilder, ProgramType, R, createMap, loadProgram, u32, u64 } from '../../src/index.js';

let subnet = 0;

/** Namespaces `client` and `server` joined by a veth: `10.77.N.1` on the client end, `.2` on the server's. */
export interface VethPair {
  client: ScratchNetns;
  server: ScratchNetns;
  clientDev: string;
  serverDev: string;
  clientAddress: string;
  serverAddress: string;
}

export function vethPair(scratch: NetworkScratch): VethPair {
  subnet = (subnet + 1) % 250;
  const client = scratch.netns();
  const server = scratch.netns();
  const { a, b } = scratch.veth(client, server);
  const clientAddress = `10.77.${subnet}.1`;
  const serverAddress = `10.77.${subnet}.2`;
  scratch.ip(client, 'addr', 'add', `${clientAddress}/24`, 'dev', a);
  scratch.ip(server, 'addr', 'add', `${serverAddress}/24`, 'dev', b);
  return { client, server, clientDev: a, serverDev: b, clientAddress, serverAddress };
}

/** Sends `count` UDP datagrams from inside `ns` to `address:port`. */
export async function sendUdp(ns: ScratchNetns, address: string, count: number, port = 9999): Promise<void> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ fd: openSocket({ domain: AF.INET, type: SOCK.DGRAM, netns: ns.handle }) }, resolve);
    });
    for (let i = 0; i < count; i += 1) {
      await new Promise<void>((resolve, reject) => socket.send(`datagram ${i}`, port, address, (error) => (error ? reject(error) : resolve())));
    }
  } finally {
    socket.close();
  }
}

/**
 * Whether a TCP connection from `clientNs` to a listener in `serverNs` at `address`
 * completes within `timeoutMs`: false when packets are dropped on the way.
 */
export async function tcpConnects(serverNs: ScratchNetns, clientNs: ScratchNetns, address: string, timeoutMs = 1500): Promise<boolean> {
  const server: Server = createServer((socket) => socket.end());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd: openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: serverNs.handle }) }, resolve);
    });
    const { port } = server.address() as { port: number };
    const client = new Socket({ fd: openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: clientNs.handle }), readable: true, writable: true });
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        client.destroy();
        resolve(false);
      }, timeoutMs);
      client.once('error', () => {
        clearTimeout(timer);
        client.destroy();
        resolve(false);
      });
      client.connect(port, address, () => {
        clearTimeout(timer);
        client.destroy();
        resolve(true);
      });
    });
  } finally {
    server.close();
  }
}

/** An array map of one u64 counter and a program of `type` that adds 1 per packet, then returns `verdict`. */
export function countingProgram(type: ProgramType, verdict: number, expectedAttachType?: number) {
  const counts = createMap({ type: MapType.Array, key: u32, value: u64, maxEntries: 1, name: 'twt_counts' });
  const instructions = new ProgramBuilder()
    .st('w', R.R10, -4, 0)
    .mov64(R.R2, R.R10)
    .add64(R.R2, -4)
    .ldMapFd(R.R1, counts)
    .call('map_lookup_elem')
    .jeq(R.R0, 0, 'out')
    .mov64(R.R1, 1)
    .atomicAdd('dw', R.R0, 0, R.R1)
    .label('out')
    .mov64(R.R0, verdict)
    .exit()
    .build();
  try {
    const program = loadProgram({ type, instructions, license: 'GPL', name: 'twt_count', expectedAttachType });
    return { counts, program, count: (): bigint => counts.lookup(0) ?? 0n };
  } catch (error) {
    counts.close();
    throw error;
  }
}

/** tc and tcx verdicts. */
export const TC_ACT_OK = 0;
export const TC_ACT_SHOT = 2;
/** XDP verdicts. */
export const XDP_DROP = 1;
export const XDP_PASS = 2;

/** Program types used here, re-exported for brevity. */
export { ProgramType };
