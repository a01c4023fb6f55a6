// A keep-alive pool of HTTP/1.1 connections to one destination (or one client address and
// destination): idle sockets reused last-in first-out, at most `max` open, requests beyond
// that wait in order. Each socket's listeners are set once, when it is made; they pass
// its events to whoever holds it now (an `UpstreamOwner`), so a request adds none.
import type net from 'node:net';

/** Who is using an upstream socket: the proxy's side of one client connection. */
export interface UpstreamOwner {
  /** Bytes of the response. */
  onUpstreamData(chunk: Buffer): void;
  /** The socket can take more of the request body. */
  onUpstreamDrain(): void;
  /** The destination ended its side (a response delimited by the close ends here). */
  onUpstreamEnd(): void;
  /** The socket closed; `error` when it failed (connect refused, reset, timeout). */
  onUpstreamClose(error: Error | undefined): void;
  /** A socket freed by another request, for this waiting one. */
  onUpstream(socket: UpstreamSocket): void;
}

/** One connection to the destination. */
export class UpstreamSocket {
  /** The request using it now; undefined while idle in the pool. */
  owner: UpstreamOwner | undefined;
  /** Whether it carried a request before (a reused socket may have been closed by the destination meanwhile). */
  reused = false;
  /** Taken out of the pool for good ({@link Http1Pool.detach}): no longer counted, never idle again. */
  detached = false;
  private error: Error | undefined;

  constructor(readonly socket: net.Socket, private readonly pool: Http1Pool) {
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.owner === undefined) this.socket.destroy(); // nothing may come while idle
    else this.owner.onUpstreamData(chunk);
  };

  private readonly onDrain = (): void => this.owner?.onUpstreamDrain();
  private readonly onEnd = (): void => this.owner?.onUpstreamEnd();
  private readonly onError = (error: Error): void => { this.error = error; };

  private readonly onClose = (): void => {
    const owner = this.owner;
    this.owner = undefined;
    this.pool.closed(this);
    owner?.onUpstreamClose(this.error);
  };
}

/** The pool. */
export class Http1Pool {
  private readonly idle: UpstreamSocket[] = [];
  private readonly waiting: UpstreamOwner[] = [];
  private open = 0;
  private shut = false;

  /**
   * @param max most sockets open at once.
   * @param connect makes a new connection (connecting; writes before it connects are queued by Node).
   */
  constructor(private readonly max: number, private readonly connect: () => net.Socket) {}

  /** Whether {@link close} was called (an evicted pool): callers get a new one. */
  get isClosed(): boolean {
    return this.shut;
  }

  /**
   * A socket for `owner`: an idle one, else a new one while fewer than `max` are open.
   * @returns the socket (owned by `owner` from now), or undefined when `owner` waits for one ({@link UpstreamOwner.onUpstream}).
   */
  acquire(owner: UpstreamOwner): UpstreamSocket | undefined {
    const idle = this.idle.pop();
    if (idle !== undefined) {
      idle.owner = owner;
      idle.reused = true;
      return idle;
    }
    if (this.open < this.max && !this.shut) return this.fresh(owner);
    this.waiting.push(owner);
    return undefined;
  }

  /** A new connection for `owner`, whatever is idle (a retry after a reused socket failed). */
  fresh(owner: UpstreamOwner): UpstreamSocket {
    this.open += 1;
    const upstream = new UpstreamSocket(this.connect(), this);
    upstream.owner = owner;
    return upstream;
  }

  /** Stops waiting (the client went away). */
  cancel(owner: UpstreamOwner): void {
    const at = this.waiting.indexOf(owner);
    if (at >= 0) this.waiting.splice(at, 1);
  }

  /** Gives a socket back: kept for the next request when `reusable`, else closed. */
  release(upstream: UpstreamSocket, reusable: boolean): void {
    upstream.owner = undefined;
    if (!reusable || this.shut || upstream.socket.destroyed) {
      upstream.socket.destroy();
      return;
    }
    const next = this.waiting.shift();
    if (next !== undefined) {
      upstream.owner = next;
      upstream.reused = true;
      // Not from within the releasing request's own event handling.
      process.nextTick(handOver, next, upstream);
      return;
    }
    this.idle.push(upstream);
  }

  /**
   * Takes a socket in use out of the pool for good (an upgraded connection, now a tunnel):
   * it no longer counts toward `max`, so a waiting request may open another, and its close
   * is not the pool's. Its events still go to its owner.
   */
  detach(upstream: UpstreamSocket): void {
    if (upstream.detached) return;
    upstream.detached = true;
    this.open -= 1;
    const next = this.shut ? undefined : this.waiting.shift();
    if (next !== undefined) process.nextTick(handOver, next, this.fresh(next));
  }

  /** @internal A socket of this pool closed. */
  closed(upstream: UpstreamSocket): void {
    if (upstream.detached) return;
    this.open -= 1;
    const at = this.idle.indexOf(upstream);
    if (at >= 0) this.idle.splice(at, 1);
    // Room for a waiting request.
    const next = this.shut ? undefined : this.waiting.shift();
    if (next !== undefined) process.nextTick(handOver, next, this.fresh(next));
  }

  /** Closes the idle sockets; those in use close when given back. */
  close(): void {
    this.shut = true;
    for (const upstream of this.idle.splice(0)) upstream.socket.destroy();
    // Those waiting get a connection of their own, closed after their request.
    for (const owner of this.waiting.splice(0)) process.nextTick(handOver, owner, this.fresh(owner));
  }
}

function handOver(owner: UpstreamOwner, upstream: UpstreamSocket): void {
  if (upstream.owner !== owner) return;
  owner.onUpstream(upstream);
}
