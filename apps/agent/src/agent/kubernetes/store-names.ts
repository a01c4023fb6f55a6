// Where an @twill/ipam Store entry lives on the Kubernetes API: which Twill CRD holds a
// key, the object's name, its labels and spec, and the entry read back from an object.
// Pure: the adapter (sys/store.ts) does the requests.
//
// Each entry is one cluster-scoped object of group twill.io, version v1alpha1:
//
//   <root>/blocks/<segment>     IPAMBlock       (the pool allocator's blocks)
//   <root>/affinity/<node>      BlockAffinity   (a node's claimed blocks)
//   <root>/handles/<handle>     IPAMHandle      (one allocation)
//   anything else               StoreEntry      (endpoint records, range allocator files)
//
// `spec.key` holds the exact key and `spec.value` the exact text: they are the truth, and
// the object's name is only where to find them. Names are DNS-1123 subdomains derived
// from the key, deterministic and without collisions: the last segment itself when the
// key is `twill-pools/<blocks|affinity|handles>/<segment>` and the segment is already a
// valid name (`10.0.0.64-26`, `node-1`, so kubectl shows what it is), otherwise a
// sanitised form of the whole key and a hash of it (`fd00--40-122-3f9c…`). A readable
// name never ends the way a hashed one does, so the two kinds of name cannot meet.
// The label `twill.io/parent` is a hash of the key's parent prefix: listing one prefix is
// one LIST with a label selector.
import { createHash } from 'node:crypto';

import { type StoreEntry } from '@twill/ipam';

/** The API group and version of every Twill CRD. */
export const TWILL_GROUP = 'twill.io';
/** See {@link TWILL_GROUP}. */
export const TWILL_VERSION = 'v1alpha1';
/** `apiVersion` of the objects the store writes. */
export const TWILL_API_VERSION = `${TWILL_GROUP}/${TWILL_VERSION}`;
/** The label holding the hash of an entry's parent prefix ({@link parentLabelValue}). */
export const PARENT_LABEL = 'twill.io/parent';
/** The pool allocator's default root (@twill/ipam DEFAULT_POOL_ROOT): its keys get readable names. */
export const READABLE_ROOT = 'twill-pools';

/** One of the CRDs that hold store entries. */
export interface StoreKind {
  /** The object's `kind`. */
  readonly kind: 'IPAMBlock' | 'BlockAffinity' | 'IPAMHandle' | 'StoreEntry';
  /** The resource's plural, as in its API path (`ipamblocks`). */
  readonly plural: string;
  /** The key segment before the last that selects this kind (`blocks`), or `undefined` for StoreEntry. */
  readonly parentSegment: string | undefined;
}

/** The four kinds, by the name the module uses. */
export const STORE_KINDS = {
  block: { kind: 'IPAMBlock', plural: 'ipamblocks', parentSegment: 'blocks' },
  affinity: { kind: 'BlockAffinity', plural: 'blockaffinities', parentSegment: 'affinity' },
  handle: { kind: 'IPAMHandle', plural: 'ipamhandles', parentSegment: 'handles' },
  entry: { kind: 'StoreEntry', plural: 'storeentries', parentSegment: undefined },
} as const satisfies Record<string, StoreKind>;

/** Every store kind, in a fixed order (the adapter watches each). */
export const ALL_STORE_KINDS: readonly StoreKind[] = [STORE_KINDS.block, STORE_KINDS.affinity, STORE_KINDS.handle, STORE_KINDS.entry];

// The kind of the entries directly under a prefix whose last segment is `segment`, when
// the prefix has a root before it (`<root>/blocks/`).
function kindOfParent(segments: readonly string[]): StoreKind {
  if (segments.length < 2) return STORE_KINDS.entry;
  switch (segments[segments.length - 1]) {
    case 'blocks':
      return STORE_KINDS.block;
    case 'affinity':
      return STORE_KINDS.affinity;
    case 'handles':
      return STORE_KINDS.handle;
    default:
      return STORE_KINDS.entry;
  }
}

/** The CRD holding `key` (a well-formed store key: checkStoreKey). */
export function storeKindOfKey(key: string): StoreKind {
  const segments = key.split('/');
  return kindOfParent(segments.slice(0, -1));
}

/** The CRD holding every entry directly under `prefix` ('' or segments ending in `/`). */
export function storeKindOfPrefix(prefix: string): StoreKind {
  return prefix === '' ? STORE_KINDS.entry : kindOfParent(prefix.slice(0, -1).split('/'));
}

/** The parent prefix of `key`: everything up to and including its last `/` ('' at the top level). */
export function parentPrefix(key: string): string {
  return key.slice(0, key.lastIndexOf('/') + 1);
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The `twill.io/parent` label value of the entries directly under `prefix`: 20 hex digits
 * of its SHA-256 (a label value holds at most 63 characters, a prefix may be longer; a
 * listing checks `spec.key` anyway, so a collision costs only a larger LIST).
 */
export function parentLabelValue(prefix: string): string {
  return sha256Hex(prefix).slice(0, 20);
}

// RFC 1123 subdomain, as Kubernetes checks object names (IsDNS1123Subdomain).
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_NAME = 253;
const HASH_DIGITS = 16;
// What every hashed name ends with; a readable name that would end so is hashed instead.
const HASHED_SUFFIX = new RegExp(`-h[0-9a-f]{${HASH_DIGITS}}$`);

/** Whether `name` is a valid object name (a DNS-1123 subdomain of at most 253 characters). */
export function isObjectName(name: string): boolean {
  return name.length <= MAX_NAME && DNS1123_SUBDOMAIN.test(name);
}

/**
 * The object name of `key` (see the module comment): readable when the key is
 * `twill-pools/<blocks|affinity|handles>/<segment>` with a segment that is already a
 * valid name, else `<sanitised key>-h<16 hex digits of SHA-256 of the key>`.
 */
export function storeObjectName(key: string): string {
  const segments = key.split('/');
  const last = segments[segments.length - 1] ?? '';
  if (
    segments.length === 3 &&
    segments[0] === READABLE_ROOT &&
    storeKindOfKey(key).parentSegment !== undefined &&
    isObjectName(last) &&
    !HASHED_SUFFIX.test(last)
  ) {
    return last;
  }
  const suffix = `-h${sha256Hex(key).slice(0, HASH_DIGITS)}`;
  // Lower case; `/` becomes `.`, anything else not allowed `-`; then every dot-separated
  // label is trimmed to start and end with a letter or digit (empty labels dropped).
  const sanitised = key
    .toLowerCase()
    .replaceAll('/', '.')
    .replace(/[^a-z0-9.-]+/g, '-')
    .split('.')
    .map((label) => label.replace(/^-+|-+$/g, ''))
    .filter((label) => label !== '')
    .join('.')
    .slice(0, MAX_NAME - suffix.length)
    .replace(/[.-]+$/, '');
  return sanitised === '' ? suffix.slice(1) : sanitised + suffix;
}

/** A store entry as a Kubernetes object (without resourceVersion). */
export interface StoreObjectBody {
  readonly apiVersion: string;
  readonly kind: StoreKind['kind'];
  readonly metadata: { readonly name: string; readonly labels: Readonly<Record<string, string>>; readonly resourceVersion?: string };
  readonly spec: Readonly<Record<string, string>> & { readonly key: string; readonly value: string };
}

/**
 * The object holding `value` at `key`; with `resourceVersion`, the body of an update
 * conditioned on it. Readable copies for kubectl: an IPAMBlock's `spec.cidr` and
 * `spec.affinity` (`host:<node>`, from the block's header line, when it has one), a BlockAffinity's
 * `spec.node`.
 */
export function storeObject(key: string, value: string, resourceVersion?: string): StoreObjectBody {
  const kind = storeKindOfKey(key);
  const last = key.slice(key.lastIndexOf('/') + 1);
  const spec: Record<string, string> = { key, value };
  if (kind === STORE_KINDS.block) {
    const dash = last.lastIndexOf('-');
    if (dash > 0) spec['cidr'] = `${last.slice(0, dash)}/${last.slice(dash + 1)}`;
    const affinity = blockAffinity(value);
    // As Calico shows a block's affinity: `host:<node>`.
    if (affinity !== undefined) spec['affinity'] = `host:${affinity}`;
  } else if (kind === STORE_KINDS.affinity) {
    spec['node'] = last;
  }
  return {
    apiVersion: TWILL_API_VERSION,
    kind: kind.kind,
    metadata: {
      name: storeObjectName(key),
      labels: { [PARENT_LABEL]: parentLabelValue(parentPrefix(key)) },
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
    spec: spec as StoreObjectBody['spec'],
  };
}

// The node of a block document's header line (`{"cidr":…,"affinity":"n1",…}`), or
// undefined when it has none or does not parse: a readable copy only, never read back.
function blockAffinity(value: string): string | undefined {
  const newline = value.indexOf('\n');
  try {
    const header: unknown = JSON.parse(newline < 0 ? value : value.slice(0, newline));
    if (typeof header === 'object' && header !== null && 'affinity' in header && typeof header.affinity === 'string') return header.affinity;
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * The entry an object read from the API holds, its revision the object's
 * `metadata.resourceVersion`.
 * @returns the entry, or a message saying what is wrong with the object (a `spec.key`
 * or `spec.value` that is missing or not text, no resourceVersion).
 */
export function entryOfObject(object: unknown): StoreEntry | string {
  if (typeof object !== 'object' || object === null) return 'not an object';
  const { metadata, spec } = object as { metadata?: { name?: unknown; resourceVersion?: unknown }; spec?: { key?: unknown; value?: unknown } };
  const name = typeof metadata?.name === 'string' ? metadata.name : '(no name)';
  if (typeof spec?.key !== 'string') return `${name}: spec.key is missing or not a string`;
  if (typeof spec.value !== 'string') return `${name}: spec.value is missing or not a string`;
  if (typeof metadata?.resourceVersion !== 'string' || metadata.resourceVersion === '') return `${name}: metadata.resourceVersion is missing`;
  return { key: spec.key, value: spec.value, revision: metadata.resourceVersion };
}
