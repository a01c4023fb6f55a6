// The ipcache LPM map's entries: every workload address (from the index's `ipcache`
// diff) and every CIDR some rule names, each with the "peer class" a lookup gives.
//
// Why classes: the policy map is keyed by one number for the remote side, but a rule
// may ask for an identity, a CIDR (less its exceptions) or both. Prefixes either nest or
// are disjoint, so for an address the prefixes holding it form a chain, and the longest
// one determines the rest: its entry can say both the identity (that of the longest
// ipcache prefix holding it; world when none) and which named CIDRs hold the address.
// A prefix inside no named CIDR maps to its identity; one inside some gets a class of
// its own for the pair (identity, CIDRs), like Cilium's local CIDR identities. Class
// numbers are a hash of that pair (probing on a collision) in [2^24, 2^25), so an agent
// that restarts gives the same classes the same numbers.

import { RESERVED_IDENTITY, type NumericIdentity } from '../../identity/reserved.js';
import { parseCidr, parseIpAddress, hostCidr, type Cidr } from '../../model/cidr.js';

/** The first class number; identities proper are below (label identities end at 65535). */
export const FIRST_PEER_CLASS = 0x1000000;
const CLASS_SPACE = 0x1000000;

/** What a lookup of an address in the ipcache map gives: a peer class. */
export interface PeerClass {
  /** The number in the map: the identity itself, or a class number. */
  readonly id: number;
  /** The identity of the addresses in the class. */
  readonly identity: NumericIdentity;
  /** The named CIDRs holding them, sorted. */
  readonly cidrs: readonly string[];
}

/** One ipcache map entry. */
export interface IpcacheEntry {
  /** Canonical CIDR text (`10.0.0.1/32`). */
  readonly prefix: string;
  /** The peer class number a lookup of an address under `prefix` gives (an identity, or a class from {@link FIRST_PEER_CLASS} on). */
  readonly class: number;
}

/** Parses an ipcache or rule prefix: a CIDR, or an address as its host prefix. */
export function parsePrefix(text: string): Cidr | undefined {
  const cidr = parseCidr(text);
  if (cidr !== undefined) return cidr;
  const address = parseIpAddress(text);
  return address === undefined ? undefined : hostCidr(address);
}

function containsCidr(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefixLength < outer.prefixLength) return false;
  for (let bit = 0; bit < outer.prefixLength; bit += 8) {
    const bits = Math.min(8, outer.prefixLength - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if (((inner.bytes[bit / 8] ?? 0) & mask) !== ((outer.bytes[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i += 1) {
    const d = (a.bytes[i] ?? 0) - (b.bytes[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.prefixLength - b.prefixLength;
}

// FNV-1a, 32 bits: a stable, well spread hash of the class's text.
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The ipcache map's contents, recomputed from the workload addresses and the CIDRs
 * rules name (reference-counted by whoever names them), with stable class numbers.
 */
export class PeerClasses {
  readonly #ipcache = new Map<string, { cidr: Cidr; identity: NumericIdentity }>();
  readonly #named = new Map<string, { cidr: Cidr; users: number }>();
  /** Class text (`identity|cidr,cidr`) → number, and back. */
  readonly #numbers = new Map<string, number>();
  readonly #taken = new Map<number, string>();
  #entries = new Map<string, PeerClass>();
  #byNumber = new Map<number, PeerClass>();
  #dirty = false;

  /** Sets the identity of an address or prefix; ignored when it does not parse. */
  setAddress(prefix: string, identity: NumericIdentity): void {
    const cidr = parsePrefix(prefix);
    if (cidr === undefined) return;
    this.#ipcache.set(cidr.text, { cidr, identity });
    this.#dirty = true;
  }

  /** Forgets an address or prefix. */
  removeAddress(prefix: string): void {
    const cidr = parsePrefix(prefix);
    if (cidr !== undefined && this.#ipcache.delete(cidr.text)) this.#dirty = true;
  }

  /** Counts one more user of each named CIDR. */
  retain(cidrs: Iterable<string>): void {
    for (const text of cidrs) {
      const found = this.#named.get(text);
      if (found !== undefined) {
        found.users += 1;
        continue;
      }
      const cidr = parsePrefix(text);
      if (cidr === undefined) continue;
      const canonical = this.#named.get(cidr.text);
      if (canonical !== undefined) {
        canonical.users += 1;
      } else {
        this.#named.set(cidr.text, { cidr, users: 1 });
        this.#dirty = true;
      }
    }
  }

  /** Counts one user less of each named CIDR. */
  release(cidrs: Iterable<string>): void {
    for (const text of cidrs) {
      const found = this.#named.get(text) ?? this.#named.get(parsePrefix(text)?.text ?? '');
      if (found === undefined) continue;
      found.users -= 1;
      if (found.users === 0) {
        this.#named.delete(found.cidr.text);
        this.#dirty = true;
      }
    }
  }

  /** Every map entry by prefix (recomputed when something moved). */
  entries(): ReadonlyMap<string, PeerClass> {
    if (this.#dirty) this.#recompute();
    return this.#entries;
  }

  /** The class a number stands for, when it is a class of the current entries. */
  classOf(id: number): PeerClass | undefined {
    this.entries();
    return this.#byNumber.get(id);
  }

  #recompute(): void {
    this.#dirty = false;
    const all = new Map<string, Cidr>();
    for (const [text, { cidr }] of this.#ipcache) all.set(text, cidr);
    for (const [text, { cidr }] of this.#named) all.set(text, cidr);
    const sorted = [...all.values()].sort(compareCidrs);
    const stack: Cidr[] = [];
    const entries = new Map<string, PeerClass>();
    const used = new Set<string>();
    for (const cidr of sorted) {
      while (stack.length > 0 && !containsCidr(stack[stack.length - 1] as Cidr, cidr)) stack.pop();
      stack.push(cidr);
      // The identity is the innermost ipcache prefix's; the named CIDRs are all of the chain's.
      let identity: NumericIdentity | undefined;
      const named: string[] = [];
      for (let i = stack.length - 1; i >= 0; i -= 1) {
        const text = (stack[i] as Cidr).text;
        if (this.#named.has(text)) named.push(text);
        identity ??= this.#ipcache.get(text)?.identity;
      }
      identity ??= RESERVED_IDENTITY.WORLD;
      named.sort();
      const id = named.length === 0 ? identity : this.#number(`${identity}|${named.join(',')}`);
      if (named.length > 0) used.add(`${identity}|${named.join(',')}`);
      entries.set(cidr.text, { id, identity, cidrs: named });
    }
    for (const [text, number] of this.#numbers) {
      if (used.has(text)) continue;
      this.#numbers.delete(text);
      this.#taken.delete(number);
    }
    this.#entries = entries;
    this.#byNumber = new Map([...entries.values()].map((c) => [c.id, c]));
  }

  #number(text: string): number {
    const known = this.#numbers.get(text);
    if (known !== undefined) return known;
    let n = hash(text) % CLASS_SPACE;
    while (this.#taken.has(FIRST_PEER_CLASS + n)) n = (n + 1) % CLASS_SPACE;
    this.#numbers.set(text, FIRST_PEER_CLASS + n);
    this.#taken.set(FIRST_PEER_CLASS + n, text);
    return FIRST_PEER_CLASS + n;
  }
}
