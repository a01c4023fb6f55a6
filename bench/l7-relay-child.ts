// The floor of the L7 benchmark (bench/l7.bench.ts, case 2c), run as a child process inside
// the node namespace (`ip netns exec`) like bench/l7-proxy-child.ts: the cheapest TCP relay
// Node can be. For each connection the tproxy rule delivers to its transparent listener it
// opens one plain `net.connect` to the connection's original destination (the accepted
// socket's local address and port; the node namespace routes to it, as the node:http
// baseline and the L7Proxy in that child connect) and moves bytes both ways through
// net.Socket: no HTTP parsing, no policy, no records. A proxy that moves its bytes the same
// way pays this and its own work on top: a floor, not a proxy.
// It cannot count requests, only connections and bytes (summed from each socket's
// bytesRead / bytesWritten when asked, so that the relay itself does no counting per chunk).
// Commands come over the IPC channel; each gets one reply.
//   (start)              -> { ready: true, port } once listening
//   { cmd: 'counts' }    -> L7RelayCounts since the start
//   { cmd: 'stop' }      -> closes every connection and exits
// argv[2]: JSON L7RelayArgs.
import net from 'node:net';

import { openTransparentListener } from '@twill/sys';

/** What the relay child is started with (argv[2], JSON). */
export interface L7RelayArgs {
  /** The node namespace's name (the listener is opened there; the child runs in it). */
  readonly netns: string;
  /** The port the tproxy rule redirects to. */
  readonly port: number;
}

/** What the relay has done since it started. */
export interface L7RelayCounts {
  /** Client connections accepted. */
  readonly connections: number;
  /** Bytes read from clients (and written upstream). */
  readonly clientBytesRead: number;
  /** Bytes written to clients (read from upstream). */
  readonly clientBytesWritten: number;
}

/** The relay child's replies. */
export type L7RelayReply = { readonly ready: true; readonly port: number } | L7RelayCounts | { readonly error: string };

const send = (reply: L7RelayReply): void => void process.send?.(reply);

/**
 * Bytes from `from` to `to` by hand: each chunk written as it comes, `from` paused while `to`
 * is full. Kept over `from.pipe(to)`, which does the same with a little more bookkeeping per
 * chunk: in two quick runs of bench/l7.bench.ts with both (interleaved, order swapped between
 * runs) this cost 21 and 21 µs of CPU per request, pipe() 30 and 22 (user 6 and 6 against 12
 * and 6; the 30 may be noise, but pipe() was never cheaper).
 */
function relay(from: net.Socket, to: net.Socket): void {
  from.on('data', (chunk) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => to.end());
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as L7RelayArgs;
  const open = new Set<net.Socket>();
  // Connections so far; the bytes of the client sockets that have closed (those of open ones are added when asked).
  const totals = { connections: 0, clientBytesRead: 0, clientBytesWritten: 0 };
  const listener = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    totals.connections += 1;
    open.add(client);
    // The original destination: a tproxy-delivered socket's local end is the address the client connected to.
    const upstream = net.connect({ host: client.localAddress, port: client.localPort ?? 0, noDelay: true, allowHalfOpen: true });
    const fail = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', fail);
    upstream.on('error', fail);
    client.on('close', () => {
      open.delete(client);
      totals.clientBytesRead += client.bytesRead;
      totals.clientBytesWritten += client.bytesWritten;
      upstream.destroy();
    });
    upstream.on('close', () => client.end());
    relay(client, upstream);
    relay(upstream, client);
  });
  const fd = openTransparentListener({ address: '0.0.0.0', port: args.port, netns: args.netns });
  await new Promise<void>((resolve) => listener.listen({ fd }, resolve));
  process.on('message', (message: { cmd: string }) => {
    if (message.cmd === 'counts') {
      let { clientBytesRead, clientBytesWritten } = totals;
      for (const socket of open) {
        clientBytesRead += socket.bytesRead;
        clientBytesWritten += socket.bytesWritten;
      }
      send({ connections: totals.connections, clientBytesRead, clientBytesWritten });
    } else if (message.cmd === 'stop') {
      for (const socket of open) socket.destroy();
      listener.close(() => process.exit(0));
    }
  });
  send({ ready: true, port: args.port });
}

main().catch((error: unknown) => {
  send({ error: String(error) });
  process.exit(1);
});
