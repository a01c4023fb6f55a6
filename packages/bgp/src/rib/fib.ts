// The port through which best routes leave the RIB for the forwarding table. The
// agent's implementation writes kernel routes over netlink; tests collect batches.
import { type BgpPrefix, type IpFamily } from '../codec/prefix.js';

import { keepShape } from '../internal/keep-shape.js';

import { type PrefixKey, ipv4Key, keyFamily, prefixFromKey } from './prefix-key.js';

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

/** One batch of changes: routes to add or replace, prefixes to remove. */
export interface FibBatch {
  /** Routes to install, or to replace when the prefix is installed already (its next hops changed). */
  readonly add: readonly FibRoute[];
  /** Prefixes whose route is to be removed (the Loc-RIB has no usable path for them any more). */
  readonly remove: readonly BgpPrefix[];
}

/** Receives the Loc-RIB's best-path changes in batches. Must not call back into the RIB. */
export interface FibSink {
  /**
   * Takes one batch, synchronously (during `Rib.flush`); a prefix is in at most one of
   * its lists. The batch's arrays and routes are the sink's to keep.
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
