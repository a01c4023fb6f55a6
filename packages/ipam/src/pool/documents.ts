// The pool allocator's documents and where they live in the Store. Three kinds, each
// written only by compare-and-swap, several in one atomic commit when one decision
// touches several (an allocation writes its block and its handle together, a claim
// writes the new block and the node's affinity together), so the documents never
// disagree unless something outside the allocator corrupts them (check() finds that):
//
//   <root>/blocks/<cidr with - for />   the block: pool, affinity, per-address handle,
//                                       recently released addresses (cooldown)
//   <root>/affinity/<node>              the blocks a node holds affinity for
//   <root>/handles/<handle>             an allocation: its addresses and attributes
//
// Documents are JSON. Decoding validates the shape: a document that does not decode is
// corrupt and reported as such, never half-read.
import { StoreFailureError } from '../errors.js';
import { blockKeySegment } from './block.js';

/** The default root of the pool allocator's keys in a store. */
export const DEFAULT_POOL_ROOT = 'twill-pools';

/** A block's allocation state. Decoded documents are shared: never mutate them. */
export interface BlockDocument {
  /** The block's CIDR (`10.0.0.64/26`). */
  readonly cidr: string;
  /** The name of the pool it was cut from. */
  readonly pool: string;
  /** The node holding affinity, or `null` for a block no node holds (its node was removed). */
  readonly affinity: string | null;
  /** Per ordinal: the handle holding the address, or `null` when not allocated. */
  readonly allocations: readonly (string | null)[];
  /** Released addresses still cooling down: `[ordinal, releasedAt ms]`, ascending by ordinal. */
  readonly released: readonly (readonly [number, number])[];
}

/** The blocks one node holds affinity for. */
export interface AffinityDocument {
  readonly node: string;
  /** Block CIDRs, in claim order (allocation tries them in this order). */
  readonly blocks: readonly string[];
}

/** Who an allocation is for: Calico's allocation attributes, and since when. */
export interface AllocationAttributes {
  readonly containerId: string;
  readonly ifName: string;
  /** The node the pod runs on. */
  readonly node: string;
  /** The pod's namespace (`K8S_POD_NAMESPACE`), when known. */
  readonly namespace?: string;
  /** The pod's name (`K8S_POD_NAME`), when known. */
  readonly pod?: string;
  /** When it was allocated, in milliseconds since the epoch (the injected clock). */
  readonly since: number;
}

/** One address of a handle, with the block it lies in. */
export interface HandleAddress {
  readonly ip: string;
  readonly block: string;
}

/** An allocation: what a handle holds and for whom. */
export interface HandleDocument {
  /** `<network>.<containerID>`. */
  readonly handle: string;
  readonly network: string;
  readonly addresses: readonly HandleAddress[];
  readonly attributes: AllocationAttributes;
}

/** Store keys of the pool allocator's documents under one root. */
export interface PoolKeys {
  readonly blocksPrefix: string;
  readonly handlesPrefix: string;
  readonly affinityPrefix: string;
  block(cidr: string): string;
  affinity(node: string): string;
  handle(handle: string): string;
}

/** The keys under `root`. */
export function poolKeys(root: string = DEFAULT_POOL_ROOT): PoolKeys {
  const blocksPrefix = `${root}/blocks/`;
  const handlesPrefix = `${root}/handles/`;
  const affinityPrefix = `${root}/affinity/`;
  return {
    blocksPrefix,
    handlesPrefix,
    affinityPrefix,
    block: (cidr) => blocksPrefix + blockKeySegment(cidr),
    affinity: (node) => affinityPrefix + node,
    handle: (handle) => handlesPrefix + handle,
  };
}

function corrupt(what: string, text: string): StoreFailureError {
  return new StoreFailureError(`corrupt ${what} document: ${text.length > 120 ? `${text.slice(0, 120)}…` : text}`);
}

function parseObject(what: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw corrupt(what, text);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt(what, text);
  return value as Record<string, unknown>;
}

const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * Reads a block document.
 * @throws StoreFailureError (code 5) when it is not one.
 */
export function decodeBlock(text: string): BlockDocument {
  const o = parseObject('block', text);
  const { cidr, pool, affinity, allocations, released } = o;
  const ok =
    isString(cidr) &&
    isString(pool) &&
    (affinity === null || isString(affinity)) &&
    Array.isArray(allocations) &&
    allocations.every((a) => a === null || isString(a)) &&
    Array.isArray(released) &&
    released.every((r) => Array.isArray(r) && r.length === 2 && Number.isInteger(r[0]) && typeof r[1] === 'number');
  if (!ok) throw corrupt('block', text);
  return { cidr, pool, affinity, allocations, released: released as [number, number][] };
}

/** Writes a block document. */
export function encodeBlock(block: BlockDocument): string {
  return JSON.stringify({ cidr: block.cidr, pool: block.pool, affinity: block.affinity, allocations: block.allocations, released: block.released });
}

/**
 * Reads an affinity document.
 * @throws StoreFailureError when it is not one.
 */
export function decodeAffinity(text: string): AffinityDocument {
  const o = parseObject('affinity', text);
  if (!isString(o['node']) || !Array.isArray(o['blocks']) || !o['blocks'].every(isString)) throw corrupt('affinity', text);
  return { node: o['node'], blocks: o['blocks'] };
}

/** Writes an affinity document. */
export function encodeAffinity(affinity: AffinityDocument): string {
  return JSON.stringify({ node: affinity.node, blocks: affinity.blocks });
}

function decodeAttributes(value: unknown): AllocationAttributes | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const a = value as Record<string, unknown>;
  if (!isString(a['containerId']) || !isString(a['ifName']) || !isString(a['node']) || typeof a['since'] !== 'number') return undefined;
  if ((a['namespace'] !== undefined && !isString(a['namespace'])) || (a['pod'] !== undefined && !isString(a['pod']))) return undefined;
  return {
    containerId: a['containerId'],
    ifName: a['ifName'],
    node: a['node'],
    since: a['since'],
    ...(isString(a['namespace']) ? { namespace: a['namespace'] } : {}),
    ...(isString(a['pod']) ? { pod: a['pod'] } : {}),
  };
}

/**
 * Reads a handle document.
 * @throws StoreFailureError when it is not one.
 */
export function decodeHandle(text: string): HandleDocument {
  const o = parseObject('handle', text);
  const attributes = decodeAttributes(o['attributes']);
  const addresses = o['addresses'];
  const ok =
    isString(o['handle']) &&
    isString(o['network']) &&
    attributes !== undefined &&
    Array.isArray(addresses) &&
    addresses.every((a: unknown) => typeof a === 'object' && a !== null && isString((a as HandleAddress).ip) && isString((a as HandleAddress).block));
  if (!ok) throw corrupt('handle', text);
  return { handle: o['handle'] as string, network: o['network'] as string, addresses: addresses as HandleAddress[], attributes };
}

/** Writes a handle document. */
export function encodeHandle(handle: HandleDocument): string {
  return JSON.stringify(handle);
}

/**
 * Remembers the last decoded document per key, keyed by the stored text: reading an
 * unchanged block again costs a string comparison instead of a JSON parse (the memory
 * store even returns the same string, so the comparison is a pointer check). Bounded:
 * past `limit` keys it starts afresh.
 */
export class DecodeCache<T> {
  readonly #entries = new Map<string, { readonly text: string; readonly doc: T }>();

  constructor(
    readonly decode: (text: string) => T,
    readonly limit = 65_536,
  ) {}

  /** The decoded `text` of `key`. @throws what `decode` throws. */
  get(key: string, text: string): T {
    const hit = this.#entries.get(key);
    if (hit !== undefined && hit.text === text) return hit.doc;
    const doc = this.decode(text);
    this.remember(key, text, doc);
    return doc;
  }

  /** Records a document the caller encoded itself (after a successful commit). */
  remember(key: string, text: string, doc: T): void {
    if (this.#entries.size >= this.limit && !this.#entries.has(key)) this.#entries.clear();
    this.#entries.set(key, { text, doc });
  }
}
