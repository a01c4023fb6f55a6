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
// Affinity and handle documents are JSON; blocks are JSON Lines (see decodeBlock).
// Decoding validates the shape: a document that does not decode is
// corrupt and reported as such, never half-read.
import { StoreFailureError } from '../errors.js';
import { ClaimableDocument, type StoreDocument } from '../store/store.js';
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
  /** The node's name. */
  readonly node: string;
  /** Block CIDRs, in claim order (allocation tries them in this order). */
  readonly blocks: readonly string[];
}

/** Who an allocation is for: Calico's allocation attributes, and since when. */
export interface AllocationAttributes {
  /** The container ID (`CNI_CONTAINERID`). */
  readonly containerId: string;
  /** The interface name in the container (`CNI_IFNAME`). */
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
  /** The address, without prefix. */
  readonly ip: string;
  /** The CIDR of the block it lies in. */
  readonly block: string;
}

/** An allocation: what a handle holds and for whom. */
export interface HandleDocument {
  /** `<network>.<containerID>`. */
  readonly handle: string;
  /** The CNI network name the allocation was made in. */
  readonly network: string;
  /** The addresses the handle holds, one per family at most. */
  readonly addresses: readonly HandleAddress[];
  /** Who the addresses are for, and since when. */
  readonly attributes: AllocationAttributes;
}

/** Store keys of the pool allocator's documents under one root. */
export interface PoolKeys {
  /** The prefix of every block document's key (`<root>/blocks/`). */
  readonly blocksPrefix: string;
  /** The prefix of every handle document's key (`<root>/handles/`). */
  readonly handlesPrefix: string;
  /** The prefix of every affinity document's key (`<root>/affinity/`). */
  readonly affinityPrefix: string;
  /** The key of the block document of `cidr`. */
  block(cidr: string): string;
  /** The key of the affinity document of `node`. */
  affinity(node: string): string;
  /** The key of the handle document of `handle`. */
  handle(handle: string): string;
}

/** The keys under `root`. */
export function poolKeys(root: string = DEFAULT_POOL_ROOT): PoolKeys {
  const blocksPrefix = `${root}/blocks/`;
  const handlesPrefix = `${root}/handles/`;
  const affinityPrefix = `${root}/affinity/`;
  const blockKeys = new Map<string, string>();
  return {
    blocksPrefix,
    handlesPrefix,
    affinityPrefix,
    block: (cidr) => {
      // Interned: a key string V8 has hashed once is found in the store's map without
      // hashing a fresh string per read (block keys are read on every allocation).
      let key = blockKeys.get(cidr);
      if (key === undefined) {
        if (blockKeys.size >= 65_536) blockKeys.clear();
        key = blocksPrefix + blockKeySegment(cidr);
        blockKeys.set(cidr, key);
      }
      return key;
    },
    affinity: (node) => affinityPrefix + node,
    // Joined, not concatenated: one flat string for the store's map to keep, not a rope
    // plus the flat copy that hashing it makes.
    handle: (handle) => [handlesPrefix, handle].join(''),
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

// A block is JSON Lines: a header object, then one `[ordinal,"handle"]` line per
// allocated address. The previous format (one JSON object with the handle or null of
// every address) had to be re-encoded whole on every allocation: in the ipam-pool bench
// that was 13% of the CPU profile plus much of the 21% spent in GC, for a ~1.3 kB string
// per allocation. Now taking an address appends one line to the text the block was read
// from (a V8 rope, so the earlier text is not copied), and the header is re-encoded only
// when it changes. Lines appear in allocation order; a full encode writes them by ordinal.
//
//   {"cidr":"10.0.0.0/30","pool":"p","affinity":"n1","size":4,"released":[[2,1893456000000]]}
//   [0,"net.c0"]
//   [1,"net.c7"]

// The largest block the config allows: a /20 of IPv4 or a /116 of IPv6 (BLOCK_SIZE).
const MAX_BLOCK_ADDRESSES = 4096;

// A decoded or encoded block remembers its text in two parts, the header line and the
// allocation lines (each starting with a newline), so that taking an address re-encodes
// neither. The text is made only when asked for (a StoreDocument): the memory store keeps
// the document and hands it back as is, so in its steady state no block text is made at
// all; over SQLite and files the commit asks for it, and a block taken from one whose
// text was known appends one line to it. Private fields: not copied by a spread, so a
// document derived with `{ ...block, ... }` does not inherit parts that no longer
// describe it. (A WeakMap from document to parts did the same at the cost of an
// ephemeron entry per allocation.) A ClaimableDocument: the memory store keeps it as its
// entry, without wrapping it.
//
// The allocator reads a block through allocationAt/slotCount, so that another
// representation of the allocations (tried: copy-on-write chunks) needs no change there.
abstract class EncodedBlock extends ClaimableDocument implements BlockDocument, StoreDocument {
  #text: string | undefined;
  #header: string | undefined;
  #lines: string | undefined;
  // The scan hint (see scanHint): a field, not a WeakMap entry, which cost an ephemeron
  // per allocation in the garbage collector.
  #scanFrom = 0;

  constructor(
    readonly cidr: string,
    readonly pool: string,
    readonly affinity: string | null,
    readonly released: readonly (readonly [number, number])[],
    header: string | undefined,
    lines: string | undefined,
  ) {
    super();
    this.#header = header;
    this.#lines = lines;
  }

  abstract get allocations(): readonly (string | null)[];

  /** How many addresses the block has. */
  abstract slotCount(): number;

  /** The handle holding `ordinal`, or `null` (also outside the block). */
  abstract allocationAt(ordinal: number): string | null;

  // The header line, when known without encoding (its text was made or read).
  static header(block: BlockDocument): string | undefined {
    if (!(block instanceof EncodedBlock)) return undefined;
    return block.#text === undefined || block.#lines === undefined ? undefined : block.#header;
  }

  // The allocation lines, when known without encoding.
  static lines(block: BlockDocument): string | undefined {
    if (!(block instanceof EncodedBlock)) return undefined;
    return block.#text === undefined || block.#header === undefined ? undefined : block.#lines;
  }

  override get text(): string {
    if (this.#text !== undefined) return this.#text;
    const size = this.slotCount();
    this.#header ??= encodeBlockHeader(this.cidr, this.pool, this.affinity, size, this.released);
    if (this.#lines === undefined) {
      let lines = '';
      for (let ordinal = 0; ordinal < size; ordinal++) {
        const handle = this.allocationAt(ordinal);
        if (handle !== null) lines += allocationLine(ordinal, handle);
      }
      this.#lines = lines;
    }
    const text = flat(this.#header + this.#lines);
    // The parts again as slices of the flat text: V8 shares its characters.
    this.#header = text.slice(0, this.#header.length);
    this.#lines = text.slice(this.#header.length);
    this.#text = text;
    return text;
  }

  // A block decoded from `text`: its text is known.
  static read(block: EncodedBlock, text: string): EncodedBlock {
    block.#text = text;
    return block;
  }

  static scanFrom(block: BlockDocument): number {
    return block instanceof EncodedBlock ? block.#scanFrom : 0;
  }

  static setScanFrom(block: BlockDocument, ordinal: number): void {
    if (block instanceof EncodedBlock) block.#scanFrom = ordinal;
  }
}

// A block whose allocations are an array of its own (decoded, or written whole).
class FlatBlock extends EncodedBlock {
  constructor(
    cidr: string,
    pool: string,
    affinity: string | null,
    readonly allocations: readonly (string | null)[],
    released: readonly (readonly [number, number])[],
    header: string | undefined,
    lines: string | undefined,
  ) {
    super(cidr, pool, affinity, released, header, lines);
  }

  override slotCount(): number {
    return this.allocations.length;
  }

  override allocationAt(ordinal: number): string | null {
    return this.allocations[ordinal] ?? null;
  }
}

/** How many addresses `block` has (the length of its `allocations`). */
export function slotCount(block: BlockDocument): number {
  return block instanceof EncodedBlock ? block.slotCount() : block.allocations.length;
}

/** `block.allocations[ordinal]` (`null` outside the block). */
export function allocationAt(block: BlockDocument, ordinal: number): string | null {
  return block instanceof EncodedBlock ? block.allocationAt(ordinal) : (block.allocations[ordinal] ?? null);
}

/**
 * A hint kept with a decoded or encoded block (0 for other objects): every ordinal below
 * it is allocated or reserved, so a search for a free address may start there. It
 * describes the allocations only; cooldowns are the caller's to check.
 */
export function scanHint(block: BlockDocument): number {
  return EncodedBlock.scanFrom(block);
}

/** Records {@link scanHint} for `block` (ignored for objects this module did not make). */
export function setScanHint(block: BlockDocument, ordinal: number): void {
  EncodedBlock.setScanFrom(block, ordinal);
}

// Concatenation makes a V8 rope (a tree of string pieces); reading a character makes V8
// flatten it into one string. Documents are kept (in the store, in the caches), and a
// kept rope costs the garbage collector a node per piece: before flattening, the
// ipam-pool bench kept 1,265 bytes live per allocation (453 flattened, 598 with the
// previous block format) and its scavenges took four times longer.
function flat(text: string): string {
  text.charCodeAt(0);
  return text;
}

function encodeBlockHeader(cidr: string, pool: string, affinity: string | null, size: number, released: BlockDocument['released']): string {
  return JSON.stringify({ cidr, pool, affinity, size, released });
}

function allocationLine(ordinal: number, handle: string): string {
  return isPlainJsonText(handle) ? `\n[${ordinal},"${handle}"]` : `\n[${ordinal},${JSON.stringify(handle)}]`;
}

/**
 * Reads a block document.
 * @throws StoreFailureError (code 5) when it is not one: a header that is not a block
 * header, a line that is not `[ordinal, "handle"]`, an ordinal outside the block or
 * listed twice.
 */
export function decodeBlock(text: string): BlockDocument {
  const headerEnd = text.indexOf('\n');
  const header = headerEnd < 0 ? text : text.slice(0, headerEnd);
  const o = parseObject('block', header);
  const { cidr, pool, affinity, size, released } = o;
  const ok =
    isString(cidr) &&
    isString(pool) &&
    (affinity === null || isString(affinity)) &&
    Number.isInteger(size) &&
    (size as number) > 0 &&
    (size as number) <= MAX_BLOCK_ADDRESSES &&
    Array.isArray(released) &&
    released.every((r) => Array.isArray(r) && r.length === 2 && Number.isInteger(r[0]) && typeof r[1] === 'number');
  if (!ok) throw corrupt('block', text);
  const allocations = new Array<string | null>(size as number).fill(null);
  if (headerEnd >= 0) {
    for (const line of text.slice(headerEnd + 1).split('\n')) {
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        throw corrupt('block', text);
      }
      if (!Array.isArray(entry) || entry.length !== 2 || !isString(entry[1])) throw corrupt('block', text);
      const ordinal: unknown = entry[0];
      if (typeof ordinal !== 'number' || !Number.isInteger(ordinal) || ordinal < 0 || ordinal >= allocations.length || allocations[ordinal] !== null) {
        throw corrupt('block', text);
      }
      allocations[ordinal] = entry[1];
    }
  }
  return EncodedBlock.read(new FlatBlock(cidr, pool, affinity, allocations, released as [number, number][], header, headerEnd < 0 ? '' : text.slice(headerEnd)), text);
}

/** Writes a block document (allocation lines by ordinal). */
export function encodeBlock(block: BlockDocument): string {
  return encodedBlock(block).text;
}

/** The block as a {@link StoreDocument} (the same object when this module made it). */
export function blockDocument(block: BlockDocument): BlockDocument & StoreDocument {
  return encodedBlock(block);
}

/** The block of a stored document written by this module, or `undefined` (then decode the text). */
export function storedBlock(document: StoreDocument): BlockDocument | undefined {
  return document instanceof EncodedBlock ? document : undefined;
}

function encodedBlock(block: BlockDocument): EncodedBlock {
  if (block instanceof EncodedBlock) return block;
  const { cidr, pool, affinity, allocations, released } = block;
  return new FlatBlock(cidr, pool, affinity, allocations, released, undefined, undefined);
}

/** A changed block document, from {@link takeInBlock}: its text is made when asked for. */
export type EncodedBlockChange = BlockDocument & StoreDocument;

/**
 * `base` with the free address `ordinal` given to `handle`, with `affinity` and the
 * cooldown list `released`. Its text is made when asked for; when `base`'s text is
 * known then, one line is appended to it (a V8 rope: the rest is not copied) and the
 * header is encoded again only when the affinity or cooldown list changed.
 * @throws Error when `ordinal` is not a free address of `base` (a bug of the caller).
 */
export function takeInBlock(
  base: BlockDocument,
  ordinal: number,
  handle: string,
  changes: { readonly affinity: string | null; readonly released: BlockDocument['released'] },
): EncodedBlockChange {
  if (allocationAt(base, ordinal) !== null || ordinal < 0 || ordinal >= slotCount(base)) throw new Error(`internal: ordinal ${ordinal} of ${base.cidr} is not free`);
  // A copy of every slot: copy-on-write chunks (8 of 8 slots for a /26) allocated a
  // third of the bytes, but counted ~4% more instructions per allocation in the ipam-pool
  // workload under valgrind (the chunk reads, and the collector copying more objects).
  const allocations = base.allocations.slice();
  allocations[ordinal] = handle;
  const { affinity, released } = changes;
  const header = EncodedBlock.header(base);
  const lines = EncodedBlock.lines(base);
  if (header === undefined || lines === undefined) return new FlatBlock(base.cidr, base.pool, affinity, allocations, released, undefined, undefined);
  const sameHeader = base.affinity === affinity && (base.released === released || (base.released.length === 0 && released.length === 0));
  return new FlatBlock(base.cidr, base.pool, affinity, allocations, released, sameHeader ? header : undefined, lines + allocationLine(ordinal, handle));
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

// Whether JSON.stringify writes `text` between quotes unchanged: no quote, backslash,
// control character or surrogate (a lone one is escaped; pairs are left to
// JSON.stringify too). Such text needs no JSON.stringify, which allocates a buffer per call.
function isPlainJsonText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

// `text` as a JSON string.
function quote(text: string): string {
  return isPlainJsonText(text) ? '"' + text + '"' : JSON.stringify(text);
}

/**
 * What the handles of one node's allocations usually share: the network, interface name,
 * node and namespace. A handle kept as a document (memory) points to one of these instead
 * of holding the four (the allocator keeps one per node: see NodeHints).
 */
export class HandleGroup {
  constructor(
    readonly network: string,
    readonly ifName: string,
    readonly node: string,
    readonly namespace: string | undefined,
  ) {}

  /** Whether a handle of these fields may point to this group. */
  matches(network: string, ifName: string, node: string, namespace: string | undefined): boolean {
    return this.network === network && this.ifName === ifName && this.node === node && this.namespace === namespace;
  }
}

// A handle of one address, kept by a store that keeps documents (memory) as its fields:
// its text is made only when a reader asks (CNI DEL, audits), not on every allocation.
// The fields are the strings the allocation already holds (the handle is in the block
// too), so the document keeps one object where the text kept ~300 bytes, and making
// the text (a rope of ~20 pieces, then flattened: ~1 kB of garbage) is skipped. The
// container ID of a handle named `<network>.<containerID>` is not kept but cut from the
// handle when the text is made (one string less kept per allocation), the fields a node's
// handles share are one HandleGroup, `since` is kept as whole seconds and the rest (two
// small integers, not a heap number per handle), and the document is its own store entry
// in the memory store (ClaimableDocument).
class EncodedHandle extends ClaimableDocument implements HandleDocument {
  #text: string | undefined;
  readonly #group: HandleGroup;
  readonly #sinceSeconds: number;
  readonly #sinceRest: number;

  constructor(
    readonly handle: string,
    readonly ip: string,
    readonly block: string,
    group: HandleGroup,
    readonly pod: string | undefined,
    since: number,
  ) {
    super();
    this.#group = group;
    const seconds = Math.floor(since / 1000);
    const rest = since - seconds * 1000;
    // Exact for every integer of milliseconds, and checked for anything else.
    const split = seconds * 1000 + rest === since;
    this.#sinceSeconds = split ? seconds : 0;
    this.#sinceRest = split ? rest : since;
  }

  get network(): string {
    return this.#group.network;
  }

  get ifName(): string {
    return this.#group.ifName;
  }

  get node(): string {
    return this.#group.node;
  }

  get namespace(): string | undefined {
    return this.#group.namespace;
  }

  get since(): number {
    return this.#sinceSeconds * 1000 + this.#sinceRest;
  }

  get containerId(): string {
    return this.handle.slice(this.network.length + 1);
  }

  get addresses(): readonly HandleAddress[] {
    return [{ ip: this.ip, block: this.block }];
  }

  get attributes(): AllocationAttributes {
    return {
      containerId: this.containerId,
      ifName: this.ifName,
      node: this.node,
      ...(this.namespace === undefined ? {} : { namespace: this.namespace }),
      ...(this.pod === undefined ? {} : { pod: this.pod }),
      since: this.since,
    };
  }

  override get text(): string {
    this.#text ??= encodeHandle(this);
    return this.#text;
  }
}

// An EncodedHandle whose container ID is not the end of its handle's name.
class EncodedHandleWithId extends EncodedHandle {
  readonly #containerId: string;

  constructor(handle: string, ip: string, block: string, group: HandleGroup, pod: string | undefined, since: number, containerId: string) {
    super(handle, ip, block, group, pod, since);
    this.#containerId = containerId;
  }

  override get containerId(): string {
    return this.#containerId;
  }
}

/**
 * A handle as a store value: a {@link StoreDocument} whose text is {@link encodeHandle}'s,
 * made when first read, for a handle of one address; its text at once otherwise.
 */
export function handleValue(handle: HandleDocument): string | StoreDocument {
  const only = handle.addresses.length === 1 ? handle.addresses[0] : undefined;
  if (only === undefined) return encodeHandle(handle);
  const a = handle.attributes;
  const group = new HandleGroup(handle.network, a.ifName, a.node, a.namespace);
  return handle.handle === `${handle.network}.${a.containerId}`
    ? new EncodedHandle(handle.handle, only.ip, only.block, group, a.pod, a.since)
    : new EncodedHandleWithId(handle.handle, only.ip, only.block, group, a.pod, a.since, a.containerId);
}

/** What {@link newHandleDocument} records: an allocation's attributes, as the request gave them. */
export interface NewHandleFields {
  readonly containerId: string;
  readonly ifName: string;
  readonly node: string;
  readonly namespace?: string | undefined;
  readonly pod?: string | undefined;
}

/**
 * The handle document of a new allocation holding `addresses` (one per family; only their
 * `ip` and `block` are recorded), pointing to `group` when it matches: with one
 * address, a {@link StoreDocument} that makes its text when asked; with more, its text at
 * once (as {@link handleValue}). Built from the request's fields without an intermediate
 * {@link HandleDocument}.
 * @param handle - `<network>.<containerID>` (`handleId` of `network` and `fields.containerId`).
 * @returns the document (to read back within the transaction) and the value to store.
 */
export function newHandleDocument(
  handle: string,
  network: string,
  addresses: readonly HandleAddress[],
  fields: NewHandleFields,
  since: number,
  group?: HandleGroup,
): { readonly doc: HandleDocument; readonly value: string | StoreDocument } {
  const only = addresses.length === 1 ? addresses[0] : undefined;
  if (only !== undefined) {
    const { ifName, node, namespace, pod } = fields;
    const shared = group !== undefined && group.matches(network, ifName, node, namespace) ? group : new HandleGroup(network, ifName, node, namespace);
    const doc = new EncodedHandle(handle, only.ip, only.block, shared, pod, since);
    return { doc, value: doc };
  }
  const attributes: { -readonly [K in keyof AllocationAttributes]: AllocationAttributes[K] } = { containerId: fields.containerId, ifName: fields.ifName, node: fields.node, since };
  if (fields.namespace !== undefined) attributes.namespace = fields.namespace;
  if (fields.pod !== undefined) attributes.pod = fields.pod;
  const doc: HandleDocument = { handle, network, addresses: addresses.map(({ ip, block }) => ({ ip, block })), attributes };
  return { doc, value: encodeHandle(doc) };
}

/** Writes a handle document. */
export function encodeHandle(handle: HandleDocument): string {
  // The same JSON as JSON.stringify(handle). Nearly always every text needs no escape,
  // and the document is one concatenation with the quotes in its constant pieces, made
  // flat once (a kept rope would cost the collector a node per piece); otherwise each
  // text is quoted on its own. Measured against JSON.stringify of the object and against
  // joining an array of parts, this is the fastest and makes the least garbage
  // (encodeHandle was 5.8% of the ipam-pool bench's CPU profile, then a quarter of its garbage).
  const { attributes: a, addresses } = handle;
  const ns = a.namespace;
  const pod = a.pod;
  const plain =
    addresses.length === 1 &&
    isPlainJsonText(handle.handle) &&
    isPlainJsonText(handle.network) &&
    isPlainJsonText(addresses[0]?.ip ?? '"') &&
    isPlainJsonText(addresses[0]?.block ?? '"') &&
    isPlainJsonText(a.containerId) &&
    isPlainJsonText(a.ifName) &&
    isPlainJsonText(a.node) &&
    (ns === undefined || isPlainJsonText(ns)) &&
    (pod === undefined || isPlainJsonText(pod));
  if (!plain) return encodeHandleQuoted(handle);
  const only = addresses[0] as HandleAddress;
  return flat(
    '{"handle":"' +
      handle.handle +
      '","network":"' +
      handle.network +
      '","addresses":[{"ip":"' +
      only.ip +
      '","block":"' +
      only.block +
      '"}],"attributes":{"containerId":"' +
      a.containerId +
      '","ifName":"' +
      a.ifName +
      '","node":"' +
      a.node +
      (ns === undefined ? '"' : '","namespace":"' + ns + '"') +
      (pod === undefined ? '' : ',"pod":"' + pod + '"') +
      ',"since":' +
      JSON.stringify(a.since) +
      '}}',
  );
}

// encodeHandle for any text and any number of addresses.
function encodeHandleQuoted(handle: HandleDocument): string {
  const { attributes: a } = handle;
  let addresses = '';
  for (const { ip, block } of handle.addresses) addresses += (addresses === '' ? '{"ip":' : ',{"ip":') + quote(ip) + ',"block":' + quote(block) + '}';
  return flat(
    '{"handle":' +
      quote(handle.handle) +
      ',"network":' +
      quote(handle.network) +
      ',"addresses":[' +
      addresses +
      '],"attributes":{"containerId":' +
      quote(a.containerId) +
      ',"ifName":' +
      quote(a.ifName) +
      ',"node":' +
      quote(a.node) +
      (a.namespace === undefined ? '' : ',"namespace":' + quote(a.namespace)) +
      (a.pod === undefined ? '' : ',"pod":' + quote(a.pod)) +
      ',"since":' +
      JSON.stringify(a.since) +
      '}}',
  );
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
    /** The document a store kept as written, when it is of this cache's kind (else `undefined`: decode its text). */
    readonly fromDocument: (document: StoreDocument) => T | undefined = () => undefined,
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
