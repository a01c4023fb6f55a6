// The speaker's two ports: a clock with timers, and a transport of byte streams. The
// speaker itself does no I/O; `sys/` holds the real implementations (node:net, setTimeout),
// tests substitute a manual clock and an in-memory transport.

/** Cancels a timer set with {@link SpeakerClock.setTimer}; calling it twice is harmless. */
export type CancelTimer = () => void;

/** Time and timers. */
export interface SpeakerClock {
  /** A monotonic time in milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): CancelTimer;
}

/** Where to open a connection to a peer. */
export interface ConnectTarget {
  /** The peer's address. */
  readonly address: string;
  /** TCP port (179 unless configured, RFC 4271 §8.2.1). */
  readonly port: number;
  /** The source address to bind before connecting, when the peer is configured with one. */
  readonly localAddress?: string;
  /**
   * The peer's TCP MD5 password (RFC 2385). The transport's socket port must set it on
   * the socket before it connects (with `setTcpMd5` from `@twill/sys`); a transport that
   * cannot must throw rather than connect without it.
   */
  readonly md5Password?: string;
  /**
   * The TTL (IPv4) or hop limit (IPv6) of the packets sent on the connection: 255 with
   * TTL security, the hop count with eBGP multihop; absent: the system default. Set by
   * the socket port (`IP_TTL` / `IPV6_UNICAST_HOPS`) before connecting.
   */
  readonly ttl?: number;
  /**
   * Refuse packets from the peer with a lower TTL (RFC 5082 GTSM: `IP_MINTTL` /
   * `IPV6_MINHOPCOUNT`), set by the socket port on the connection (and on the listener).
   */
  readonly minTtl?: number;
}

/**
 * What a listening transport must know of a configured peer before the peer connects:
 * its TCP MD5 key goes on the listening socket (RFC 2385 §3: the peer's signed SYN is
 * checked there), its TTL settings on the connections accepted from it.
 */
export interface PeerSocketOptions {
  /** The peer's address. */
  readonly address: string;
  /** As {@link ConnectTarget.md5Password}. */
  readonly md5Password?: string;
  /** As {@link ConnectTarget.ttl}. */
  readonly ttl?: number;
  /** As {@link ConnectTarget.minTtl}. */
  readonly minTtl?: number;
}

/** What a transport reports about one connection. Each callback is called from a fresh task, never re-entrantly. */
export interface ConnectionEvents {
  /** An outgoing connection is up (not called for accepted ones). */
  onConnect(): void;
  /** Bytes arrived, in order. */
  onData(bytes: Uint8Array): void;
  /** The connection closed or failed; `reason` in words. Not called after {@link Connection.close}. */
  onClose(reason?: string): void;
}

/** One TCP connection to a peer. */
export interface Connection {
  /** This end's address, known once the connection is up (IPv4-mapped IPv6 addresses unmapped). */
  readonly localAddress: string | undefined;
  /** Queues bytes for sending. */
  write(bytes: Uint8Array): void;
  /** Sends what is queued, then closes. No event follows. */
  close(): void;
}

/** A connection a peer opened to this speaker, offered to {@link IncomingHandler}. */
export interface IncomingConnection {
  /** The peer's address (unmapped). */
  readonly remoteAddress: string;
  /** The accepted connection; its events go to the handlers the {@link IncomingHandler} returns. */
  readonly connection: Connection;
}

/** Takes an accepted connection: returns its event handlers, or undefined to refuse it (the transport closes it). */
export type IncomingHandler = (incoming: IncomingConnection) => ConnectionEvents | undefined;

/** Byte streams to and from peers. */
export interface SpeakerTransport {
  /** Starts a connection; its outcome arrives as `onConnect` or `onClose`. */
  connect(target: ConnectTarget, events: ConnectionEvents): Connection;
  /** Starts accepting connections, when the transport listens. */
  listen?(accept: IncomingHandler): Promise<void>;
  /**
   * A peer was configured (before or after `listen`): a listening transport puts its
   * TCP MD5 key on the listener and applies its TTL settings to the connections it
   * accepts from it. A transport that cannot set a password or TTL must throw.
   */
  addPeer?(peer: PeerSocketOptions): void;
  /** A peer given to `addPeer` was removed: its key leaves the listener. */
  removePeer?(address: string): void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`. */
export function unmapAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
