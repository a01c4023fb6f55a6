// `twill ui --lab`'s forwards, as `kubectl port-forward` does them: a listener on the
// host's loopback per node, and for each connection it accepts a TCP connection to the
// node's dashboard made from inside the node's network namespace, with no helper process:
// the socket is created in the namespace (@twill/sys openSocket: the thread enters it for
// socket(2) only), and a socket keeps its namespace for life, so Node connects and reads
// it as any other (`new net.Socket({ fd })`, then connect). Bytes go both ways through
// pipe() (a side that is not read stops the other: back-pressure, no buffer grows); an
// end goes across as a half-close (HTTP/1.1 ends a request body that way), and when one
// side closes or fails, both are gone.
import { isIP, type Server, Socket, createServer } from 'node:net';

import { AF, SOCK, openSocket } from '@twill/sys';

import { type ForwardListener, type ForwardTarget, type UiForwarder } from '../forward.js';

// A connection to `target`'s address made from inside its namespace (not yet connected when returned).
function dialInNetns(target: ForwardTarget): Socket {
  const domain = isIP(target.host) === 6 ? AF.INET6 : AF.INET;
  const fd = openSocket({ domain, type: SOCK.STREAM | SOCK.NONBLOCK, netns: target.netns });
  // Half-open: the end of one direction is passed on, not taken as the end of both.
  const socket = new Socket({ fd, allowHalfOpen: true, readable: true, writable: true });
  socket.connect(target.port, target.host);
  return socket;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Joins two sockets both ways until either closes; `onError` hears a failure of `upstream` (the node's side). */
function splice(client: Socket, upstream: Socket, onError: (error: Error) => void): void {
  client.pipe(upstream);
  upstream.pipe(client);
  let failed = false;
  upstream.on('error', (error) => {
    if (!failed) onError(error);
    failed = true;
  });
  // A reset by the browser is the browser's business.
  client.on('error', () => undefined);
  // A side that closed takes the other with it: at once after a failure, else once what
  // was already passed to the other is written.
  const follow = (other: Socket) => (hadError: boolean) => {
    if (hadError || other.destroyed) other.destroy();
    else other.end(() => other.destroy());
  };
  client.on('close', follow(upstream));
  upstream.on('close', follow(client));
}

/** The real forwarder (Linux; CAP_SYS_ADMIN to open sockets in another namespace). */
export const netnsForwarder: UiForwarder = {
  probe(target) {
    return new Promise<void>((resolve, reject) => {
      let socket: Socket;
      try {
        socket = dialInNetns(target);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', (error) => {
        socket.destroy();
        reject(error);
      });
    });
  },

  async listen(target, options) {
    // Accepted connections open; every socket open (theirs and the node sides), for close().
    const clients = new Set<Socket>();
    const sockets = new Set<Socket>();
    const track = (socket: Socket, set: Set<Socket>): void => {
      set.add(socket);
      socket.once('close', () => set.delete(socket));
    };
    const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
      track(client, clients);
      track(client, sockets);
      let upstream: Socket;
      try {
        upstream = dialInNetns(target);
      } catch (error) {
        options.onError(new Error(`cannot open a socket in network namespace ${target.netns}: ${errorText(error)}`, { cause: error }));
        client.destroy();
        return;
      }
      track(upstream, sockets);
      splice(client, upstream, (error) => options.onError(new Error(`connecting to ${target.host}:${target.port} in network namespace ${target.netns}: ${errorText(error)}`, { cause: error })));
      // Paused on accept so nothing is read before the pipes are in place.
      client.resume();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // An accept that fails later (the fd limit) is said, never thrown into the process.
    server.on('error', (error) => options.onError(error));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    let closing: Promise<void> | undefined;
    const listener: ForwardListener = {
      port,
      get connections() {
        return clients.size;
      },
      close() {
        closing ??= new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        });
        return closing;
      },
    };
    return listener;
  },

  onStop(handler) {
    const listener = (signal: NodeJS.Signals): void => handler(signal);
    process.on('SIGINT', listener);
    process.on('SIGTERM', listener);
    return () => {
      process.off('SIGINT', listener);
      process.off('SIGTERM', listener);
    };
  },
};
