// Test helper: a tw_events ring buffer in plain memory with the kernel's producer side
// (records at 8-byte aligned positions behind an 8-byte header, the data area mirrored
// as the kernel's double mapping is) and a tw_lost counter, as a FlowRingPort.

import { encodeLayout, type LayoutValue } from '@twill/ebpf';

import { FLOW_EVENT } from '../../../src/dataplane/ebpf/flow-event.js';
import { type FlowRingPort } from '../../../src/dataplane/ebpf/sys/kernel.js';

export type FlowEventRecord = LayoutValue<typeof FLOW_EVENT>;

/** A record of `struct tw_flow_event` with defaults for what a test does not say. */
export function flowRecord(fields: Partial<FlowEventRecord>): FlowEventRecord {
  return {
    timeNs: 0n, endpoint: 0, identity: 0, rule: 0, direction: 0, verdict: 1, protocol: 17, family: 4, reason: 0, tcpFlags: 0,
    sourcePort: 0, destinationPort: 0, icmpType: 0, icmpCode: 0, source: new Uint8Array(16), destination: new Uint8Array(16),
    ...fields,
  };
}

/** Bytes of an address in a record: IPv4 in the first four. */
export function addressBytes(text: string): Uint8Array {
  const out = new Uint8Array(16);
  if (text.includes('.')) out.set(text.split('.').map(Number));
  else {
    const [head = '', tail = ''] = text.split('::');
    const h = head === '' ? [] : head.split(':');
    const t = tail === '' ? [] : text.includes('::') ? tail.split(':') : [];
    const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
    groups.forEach((g, i) => out.set([g >> 8, g & 0xff], i * 2));
  }
  return out;
}

/** The fake ring; `write` is the programs' reserve-and-submit, `watching` whether a reader waits for wake-ups. */
export class FakeRing implements FlowRingPort {
  readonly size: number;
  readonly data: Uint8Array;
  readonly memory: FlowRingPort['memory'];
  producer = 0;
  consumer = 0;
  lostCount = 0;
  closed = false;
  #wake: ((error?: unknown) => void) | undefined;

  constructor(size = 4096) {
    this.size = size;
    this.data = new Uint8Array(2 * size);
    const view = new DataView(this.data.buffer);
    this.memory = {
      size,
      data: this.data,
      view,
      loadProducer: () => this.producer,
      loadConsumer: () => this.consumer,
      storeConsumer: (position) => {
        this.consumer = position;
      },
      loadLength: (offset) => view.getUint32(offset, true),
    };
  }

  get watching(): boolean {
    return this.#wake !== undefined;
  }

  /** Writes a record as the kernel does, or counts it lost when it does not fit; `flags`: the header's busy (1 << 31) or discard (1 << 30) bit. */
  write(payload: Uint8Array, flags = 0): boolean {
    const span = (payload.length + 8 + 7) & ~7;
    if (this.producer + span - this.consumer > this.size) {
      this.lostCount += 1;
      return false;
    }
    const record = new Uint8Array(span);
    new DataView(record.buffer).setUint32(0, (payload.length | flags) >>> 0, true);
    record.set(payload, 8);
    for (let i = 0; i < span; i += 1) {
      const at = (this.producer + i) % this.size;
      this.data[at] = record[i] ?? 0;
      this.data[at + this.size] = record[i] ?? 0;
    }
    this.producer += span;
    return true;
  }

  /** Writes a tw_flow_event. */
  event(fields: Partial<FlowEventRecord>): boolean {
    return this.write(encodeLayout(FLOW_EVENT, flowRecord(fields)));
  }

  /** The kernel's wake-up: what epoll does on the next event loop turn while records are there. */
  wake(error?: unknown): void {
    this.#wake?.(error);
  }

  watch(onReady: (error?: unknown) => void): { close(): void } {
    if (this.#wake !== undefined) throw new Error('EEXIST: the ring is watched already');
    this.#wake = onReady;
    return { close: () => void (this.#wake = undefined) };
  }

  lost(): number {
    if (this.closed) throw new Error('EBADF: the counter is closed');
    return this.lostCount;
  }

  close(): void {
    this.closed = true;
  }
}
