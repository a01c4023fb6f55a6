// The port through which best routes leave the RIB for the forwarding table. The
// agent's implementation writes kernel routes over netlink; tests collect batches.
import { type BgpPrefix, type IpFamily } from '../codec/prefix.js';

import { keepShape } from '../internal/keep-shape.js';

import { type PrefixKey, ipv4Key, keyFamily, prefixFromKey, prefixKey } from './prefix-key.js';

/** A route to install: the prefix and its next hops (one today; several with multipath). */
export interface FibRoute {
  /** The destination. */
  readonly prefix: BgpPrefix;
  /** Next hops as text; for IPv6 the global address, then the link-local one when known. */
  readonly nextHops: readonly string[];
}

/**
 * The RIB's {@link FibRoute}: the prefix object is built from the RIB's key when a sink
 * reads it (each read builds a new one), so pushing a full table allocates one small
 * object per route, and a sink that needs only some routes pays only for those.
 */
export class KeyedFibRoute implements FibRoute {
  constructor(
    /** The prefix as a RIB key (see `prefixKey`). */
    readonly key: PrefixKey,
    readonly nextHops: readonly string[],
  ) {}

  get prefix(): BgpPrefix {
    return prefixFromKey(this.key);
  }
}

/**
 * A prefix the RIB removes from the FIB, kept as its key: the address octets are built
 * when first read, so withdrawing a full table allocates one small object per route.
 */
export class KeyedPrefix implements BgpPrefix {
  private built: BgpPrefix | undefined;

  constructor(
    /** The prefix as a RIB key (see `prefixKey`). */
    readonly key: PrefixKey,
  ) {}

  get family(): IpFamily {
    return keyFamily(this.key);
  }

  get length(): number {
    return this.prefix().length;
  }

  get bytes(): Uint8Array {
    return this.prefix().bytes;
  }

  private prefix(): BgpPrefix {
    return (this.built ??= prefixFromKey(this.key));
  }
}

// Every FIB route and removal of a batch may be gone before the next table (keep-shape.ts).
keepShape(new KeyedFibRoute(ipv4Key(0, 24), Object.freeze(['0.0.0.0'])));
keepShape(new KeyedPrefix(ipv4Key(0, 24)));

/**
 * One batch of changes: routes to add or replace, prefixes to remove. A sink reads it
 * either as objects (`add`, `remove`: built when first read, then kept) or, building
 * nothing, as RIB keys (`forEachAdd`, `forEachRemove`; `prefixFromKey` gives a prefix).
 */
export interface FibBatch {
  /** Routes to install, or to replace when the prefix is installed already (its next hops changed). */
  readonly add: readonly FibRoute[];
  /** Prefixes whose route is to be removed (the Loc-RIB has no usable path for them any more). */
  readonly remove: readonly BgpPrefix[];
  /** How many routes `add` holds, without building them. */
  readonly addCount: number;
  /** How many prefixes `remove` holds, without building them. */
  readonly removeCount: number;
  /** Calls `fn` for each route of `add`, in order, with its prefix as a RIB key; builds no route object. */
  forEachAdd(fn: (key: PrefixKey, nextHops: readonly string[]) => void): void;
  /** Calls `fn` for each prefix of `remove`, in order, as a RIB key; builds no prefix object. */
  forEachRemove(fn: (key: PrefixKey) => void): void;
}

/**
 * The RIB's {@link FibBatch}: per route its key, and its next hops once per run of
 * routes that share them (a table from one peer is one run), so that pushing a full
 * table allocates nothing per route unless a sink asks for the objects.
 */
export class KeyedFibBatch implements FibBatch {
  /** The keys of the routes to add; an IPv6 key (a string) is 0 here and kept in `addTexts`. */
  private addKeys: Float64Array;
  private addTexts: string[] | undefined;
  private adds = 0;
  /** Where each run of routes with the same next hops starts among the adds. */
  private readonly runStarts: number[] = [];
  /** The next hops of each run. */
  private readonly runHops: (readonly string[])[] = [];
  private readonly removeKeys: PrefixKey[] = [];
  private builtAdd: FibRoute[] | undefined;
  private builtRemove: BgpPrefix[] | undefined;

  /** A batch with room for `capacity` routes to add before it grows (the RIB sizes it for the changes at hand). */
  constructor(capacity = 64) {
    this.addKeys = new Float64Array(Math.max(capacity, 16));
  }

  /** Routes and prefixes in the batch. */
  get size(): number {
    return this.adds + this.removeKeys.length;
  }

  get addCount(): number {
    return this.adds;
  }

  get removeCount(): number {
    return this.removeKeys.length;
  }

  /** Appends a route to add (before the batch is handed to a sink). */
  pushAdd(key: PrefixKey, nextHops: readonly string[]): void {
    const runs = this.runHops.length;
    if (runs === 0 || this.runHops[runs - 1] !== nextHops) {
      this.runStarts.push(this.adds);
      this.runHops.push(nextHops);
    }
    if (this.adds === this.addKeys.length) {
      const grown = new Float64Array(this.adds * 2);
      grown.set(this.addKeys);
      this.addKeys = grown;
    }
    if (typeof key === 'number') this.addKeys[this.adds] = key;
    else {
      this.addKeys[this.adds] = 0;
      (this.addTexts ??= [])[this.adds] = key;
    }
    this.adds += 1;
  }

  /** Appends a prefix to remove (before the batch is handed to a sink). */
  pushRemove(key: PrefixKey): void {
    this.removeKeys.push(key);
  }

  forEachAdd(fn: (key: PrefixKey, nextHops: readonly string[]) => void): void {
    const keys = this.addKeys;
    const runs = this.runStarts.length;
    for (let run = 0; run < runs; run += 1) {
      const hops = this.runHops[run] as readonly string[];
      const end = run + 1 < runs ? (this.runStarts[run + 1] as number) : this.adds;
      for (let i = this.runStarts[run] as number; i < end; i += 1) {
        const key = keys[i] as number;
        fn(key !== 0 ? key : ((this.addTexts as string[])[i] as string), hops);
      }
    }
  }

  forEachRemove(fn: (key: PrefixKey) => void): void {
    for (const key of this.removeKeys) fn(key);
  }

  get add(): readonly FibRoute[] {
    if (this.builtAdd === undefined) {
      const built: FibRoute[] = [];
      this.forEachAdd((key, nextHops) => built.push(new KeyedFibRoute(key, nextHops)));
      this.builtAdd = built;
    }
    return this.builtAdd;
  }

  get remove(): readonly BgpPrefix[] {
    return (this.builtRemove ??= this.removeKeys.map((key) => new KeyedPrefix(key)));
  }
}

/** A {@link FibBatch} of route and prefix objects, for sinks fed by something other than a RIB (and their tests). */
export function fibBatch(add: readonly FibRoute[], remove: readonly BgpPrefix[] = []): FibBatch {
  return {
    add,
    remove,
    addCount: add.length,
    removeCount: remove.length,
    forEachAdd(fn) {
      for (const route of add) fn(route instanceof KeyedFibRoute ? route.key : prefixKey(route.prefix), route.nextHops);
    },
    forEachRemove(fn) {
      for (const prefix of remove) fn(prefix instanceof KeyedPrefix ? prefix.key : prefixKey(prefix));
    },
  };
}

/** Receives the Loc-RIB's best-path changes in batches. Must not call back into the RIB. */
export interface FibSink {
  /**
   * Takes one batch, synchronously (during `Rib.flush`); a prefix is in at most one of
   * its lists. The batch, its arrays and routes are the sink's to keep.
   */
  apply(batch: FibBatch): void;
}

/** A sink that keeps every batch, for tests and for callers that poll. */
export class CollectingFibSink implements FibSink {
  /** The batches received, oldest first. */
  readonly batches: FibBatch[] = [];
  /** Keeps the batch (appended to {@link CollectingFibSink.batches}). */
  apply(batch: FibBatch): void {
    this.batches.push(batch);
  }
}

// A batch may be gone before the next table too (keep-shape.ts).
keepShape(new KeyedFibBatch());
