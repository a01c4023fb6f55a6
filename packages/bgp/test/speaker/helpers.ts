// Test doubles for the speaker's ports: a manual clock and an in-memory transport that
// wires speakers back to back, delivering bytes on a later microtask like a socket.
import { type Connection, type ConnectionEvents, type ConnectTarget, type IncomingHandler, type SpeakerClock, type SpeakerTransport } from '@twill/bgp';

/** A clock that moves only when told. */
export class ManualClock implements SpeakerClock {
  private time = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, fn });
    return () => this.timers.delete(id);
  }

  /** Moves time forward by `ms`, firing due timers in order (and letting delivered bytes settle in between). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].fn();
    }
    this.time = end;
    await settle();
  }
}

/** Lets queued deliveries run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** An in-memory network: each speaker's transport is registered under its address. */
export class MemoryNetwork {
  private readonly listeners = new Map<string, IncomingHandler>();
  /** Speakers whose bytes are dropped (a silent peer), to make the other's hold timer expire. */
  readonly silenced = new Set<string>();

  transport(address: string): SpeakerTransport {
    const open = new Set<() => void>();
    return {
      connect: (target: ConnectTarget, events: ConnectionEvents): Connection => {
        const [mine, theirs] = this.pair(address, target.address);
        open.add(mine.kill);
        queueMicrotask(() => {
          const accept = this.listeners.get(target.address);
          const peerEvents = accept?.({ remoteAddress: address, connection: theirs.connection });
          if (!peerEvents) return events.onClose('connection refused');
          mine.attach(events);
          theirs.attach(peerEvents);
          events.onConnect();
        });
        return mine.connection;
      },
      listen: async (accept: IncomingHandler): Promise<void> => {
        this.listeners.set(address, accept);
        await Promise.resolve();
      },
      close: async (): Promise<void> => {
        this.listeners.delete(address);
        for (const kill of open) kill();
        await Promise.resolve();
      },
    };
  }

  private pair(a: string, b: string): [End, End] {
    const ends: End[] = [];
    const make = (local: string, index: 0 | 1): End => {
      let events: ConnectionEvents | undefined;
      let closed = false;
      const other = (): End | undefined => ends[1 - index];
      const end: End = {
        attach: (e) => (events = e),
        closed: () => closed,
        receive: (bytes) => {
          if (!closed) events?.onData(bytes);
        },
        hangUp: () => {
          if (closed) return;
          closed = true;
          events?.onClose('the peer closed the connection');
        },
        kill: () => end.connection.close(),
        connection: {
          localAddress: local,
          write: (bytes) => {
            const copy = bytes.slice();
            if (!closed && !this.silenced.has(local)) queueMicrotask(() => other()?.receive(copy));
          },
          close: () => {
            if (closed) return;
            closed = true;
            queueMicrotask(() => other()?.hangUp());
          },
        },
      };
      return end;
    };
    ends.push(make(a, 0), make(b, 1));
    return [ends[0] as End, ends[1] as End];
  }
}

interface End {
  attach(events: ConnectionEvents): void;
  closed(): boolean;
  receive(bytes: Uint8Array): void;
  hangUp(): void;
  kill(): void;
  readonly connection: Connection;
}
