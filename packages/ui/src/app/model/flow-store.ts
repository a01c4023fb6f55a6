// The flows the page keeps: the newest `capacity` (older ones are forgotten, so memory
// stays bounded however long the page follows), and the service map's edges counted
// over exactly those flows (a flow adds to its edge when it comes and takes away when it
// is forgotten). Pure; the page renders from `version` changes.
import { isDenied } from './filters.js';
import { type UiFlow, type UiPeer } from './types.js';

/** An edge of the service map: flows from one node to another, by verdict. */
export interface MapEdge {
  /** `from->to`, node keys. */
  readonly key: string;
  readonly from: string;
  readonly to: string;
  forwarded: number;
  denied: number;
  /** Time of the newest flow (ms since the epoch). */
  lastMs: number;
  /** The newest flow's verdict. */
  lastVerdict: string;
}

/** The map node of a flow's side: the pod (`ns/pod`), or `external` for any address of no pod. */
export function peerNodeKey(peer: UiPeer): string {
  return peer.namespace !== undefined && peer.pod !== undefined ? `${peer.namespace}/${peer.pod}` : EXTERNAL_NODE;
}

/** The map node of every address that is no pod (the world, hosts). */
export const EXTERNAL_NODE = 'external';

/** A bounded ring of flows with the edges they make. */
export class FlowStore {
  readonly capacity: number;
  readonly #flows: (UiFlow | undefined)[];
  #head = 0;
  #size = 0;
  readonly #edges = new Map<string, MapEdge>();
  /** Bumped by every change. */
  version = 0;
  /** Flows the agent reported lost (sampled out, a reader that fell behind). */
  lost = 0;
  /** Flows received since the page opened. */
  received = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
    this.capacity = capacity;
    this.#flows = new Array<UiFlow | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds flows in arrival order; the oldest beyond capacity are forgotten. */
  add(flows: readonly UiFlow[]): void {
    for (const flow of flows) {
      const slot = this.#head % this.capacity;
      const old = this.#flows[slot];
      if (old !== undefined) this.#count(old, -1);
      this.#flows[slot] = flow;
      this.#count(flow, 1);
      this.#head += 1;
      this.#size = Math.min(this.#size + 1, this.capacity);
    }
    this.received += flows.length;
    if (flows.length > 0) this.version += 1;
  }

  /** Counts lost flows. */
  addLost(count: number): void {
    this.lost += count;
    this.version += 1;
  }

  /** How many flows were ever added: the next flow's sequence number (the first is 0). */
  get added(): number {
    return this.#head;
  }

  /** The sequence number of the oldest kept flow (`added - size`). */
  get oldest(): number {
    return this.#head - this.#size;
  }

  /** The flow of sequence number `seq` while it is kept; undefined once forgotten or not yet added. */
  at(seq: number): UiFlow | undefined {
    return seq >= this.oldest && seq < this.#head ? this.#flows[seq % this.capacity] : undefined;
  }

  /** The newest flows first, those `keep` accepts, at most `limit`. */
  newest(limit: number, keep: (flow: UiFlow) => boolean = () => true): UiFlow[] {
    const out: UiFlow[] = [];
    for (let i = 1; i <= this.#size && out.length < limit; i++) {
      const flow = this.#flows[(this.#head - i) % this.capacity]!;
      if (keep(flow)) out.push(flow);
    }
    return out;
  }

  /** The edges, in key order. */
  edges(): MapEdge[] {
    return [...this.#edges.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  #count(flow: UiFlow, delta: 1 | -1): void {
    // Replies travel the connection backwards: they are drawn on the connection's edge.
    const [a, b] = flow.reply ? [flow.to, flow.from] : [flow.from, flow.to];
    const from = peerNodeKey(a);
    const to = peerNodeKey(b);
    const key = `${from}->${to}`;
    let edge = this.#edges.get(key);
    if (edge === undefined) {
      if (delta < 0) return;
      edge = { key, from, to, forwarded: 0, denied: 0, lastMs: 0, lastVerdict: flow.verdict };
      this.#edges.set(key, edge);
    }
    if (isDenied(flow.verdict)) edge.denied += delta;
    else edge.forwarded += delta;
    if (delta > 0 && flow.timeMs >= edge.lastMs) {
      edge.lastMs = flow.timeMs;
      edge.lastVerdict = flow.verdict;
    }
    if (edge.denied + edge.forwarded <= 0) this.#edges.delete(key);
  }
}

/** How an edge is drawn: red while any of its kept flows was denied, green otherwise. */
export function edgeVerdict(edge: Pick<MapEdge, 'denied'>): 'denied' | 'allowed' {
  return edge.denied > 0 ? 'denied' : 'allowed';
}
