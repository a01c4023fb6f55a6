// What the speaker holds, for `twill bgp routes`: every path per prefix (the best first),
// filtered by the peer it came from and by a prefix it lies in, with its attributes in
// words and numbers as the agent's API shows them (apps/agent/API.md, `BgpRouteView`).
//
// Cost, with n prefixes held: a prefix filter of length L enumerates the keys inside it,
// 2^(33-L) - 1 for IPv4 (a /24: 511 lookups) and 2^(129-L) - 1 for IPv6, when that is
// at most n/8 (or 64); otherwise (a short prefix, or no prefix filter) it passes once over the
// table, testing each key without building anything for prefixes left out. Views are
// built only for the paths returned (no prefix object: the key gives the order and the
// text), then sorted: O(k log k) for k prefixes returned.
import { ORIGIN } from '../codec/constants.js';
import { type BgpPrefix, makePrefix, parsePrefix, prefixToText } from '../codec/prefix.js';
import { BgpInvalidArgument } from '../errors.js';
import { type PeerId } from '../ids.js';
import { type RouteAttributes } from '../rib/attributes.js';
import { type PrefixPaths, type Rib } from '../rib/rib.js';
import { type PrefixKey, prefixFromKey, prefixKey } from '../rib/prefix-key.js';

/** Which routes {@link queryRoutes} returns; both filters at once keep what passes both. */
export interface RouteFilter {
  /** Only routes from this peer (its address, any spelling of it), or `"local"` for the routes this speaker originates. */
  readonly peer?: string;
  /** Only routes for this prefix or a longer one inside it (`"10.244.0.0/16"`, `"fd00::/64"`). */
  readonly prefix?: string | BgpPrefix;
}

/** The origin in words (RFC 4271 §4.3 a). */
export type RouteOrigin = 'igp' | 'egp' | 'incomplete';

/** One path the speaker holds, as `twill bgp routes` shows it. */
export interface HeldRoute {
  /** `"10.244.1.0/26"`. */
  readonly prefix: string;
  /** The Loc-RIB's best path for the prefix (the first of its paths). */
  readonly best: boolean;
  /** The peer's address, or `"local"` for a route this speaker originates. */
  readonly from: string;
  /** The next hop as text: the NEXT_HOP for IPv4, the global MP_REACH_NLRI next hop for IPv6 (RFC 4760 §3). */
  readonly nextHop: string;
  /** The AS numbers of the AS_PATH in order (the members of an AS_SET in place, as sent). */
  readonly asPath: readonly number[];
  /** The ORIGIN attribute in words; `incomplete` when the route has none. */
  readonly origin: RouteOrigin;
  /** LOCAL_PREF (RFC 4271 §5.1.5), when the route carries one. */
  readonly localPref?: number;
  /** MULTI_EXIT_DISC (RFC 4271 §5.1.4), when the route carries one. */
  readonly med?: number;
  /** RFC 1997 communities as `"65000:1"`. */
  readonly communities: readonly string[];
  /** RFC 8092 large communities as `"65000:1:2"`. */
  readonly largeCommunities: readonly string[];
  /** Kept from a restarting peer until its End-of-RIB or the restart timer (RFC 4724 §4.2). */
  readonly stale: boolean;
}

const ORIGIN_WORD: Readonly<Record<number, RouteOrigin>> = { [ORIGIN.IGP]: 'igp', [ORIGIN.EGP]: 'egp', [ORIGIN.INCOMPLETE]: 'incomplete' };

/**
 * The paths `rib` holds that pass `filter`, grouped per prefix in address order (IPv4
 * first, a shorter prefix before the longer ones at the same address), the best first
 * in each group. `peers` maps the configured peers' addresses to their RIB ids.
 * @throws {BgpInvalidArgument} when `filter.peer` is not an address nor `"local"`, or `filter.prefix` is not a prefix (host bits set included).
 */
export function queryRoutes(rib: Rib, peers: Iterable<{ readonly address: string; readonly id: PeerId }>, filter: RouteFilter = {}): HeldRoute[] {
  const query: { keys?: Iterable<PrefixKey>; keyFilter?: (key: PrefixKey) => boolean; source?: PeerId | null } = {};
  if (filter.peer !== undefined) {
    const source = resolvePeer(filter.peer, peers);
    if (source === undefined) return [];
    query.source = source;
  }
  if (filter.prefix !== undefined) {
    const within = typeof filter.prefix === 'string' ? parsePrefixFilter(filter.prefix) : filter.prefix;
    const bits = within.family === 4 ? 32 : 128;
    // Keys inside a /L: one per prefix of each length L..bits, 2^(bits+1-L) - 1 in all.
    const inside = 2 ** (bits + 1 - within.length) - 1;
    // A lookup costs several times a step of the walk: enumerate only well below the table's size.
    if (inside <= Math.max(64, rib.size / 8)) query.keys = within.family === 4 ? ipv4KeysInside(within) : ipv6KeysInside(within);
    else query.keyFilter = within.family === 4 ? ipv4Inside(within) : ipv6Inside(within);
  }
  const groups = rib.queryPaths(query);
  // Address order without building prefixes: IPv4 keys give a number (address * 64 +
  // length), IPv6 keys a string (hex of the address, then the length); IPv4 first.
  const v4: { order: number; group: PrefixPaths }[] = [];
  const v6: { order: string; group: PrefixPaths }[] = [];
  for (const group of groups) {
    if (typeof group.key === 'number') v4.push({ order: ipv4Order(group.key), group });
    else v6.push({ order: ipv6Order(group.key), group });
  }
  v4.sort((a, b) => a.order - b.order);
  v6.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  const out: HeldRoute[] = [];
  // Routes sharing an attribute set (most of a table) share its converted fields.
  const converted = new Map<RouteAttributes, RouteFields>();
  for (const { group } of [...v4, ...v6]) {
    const prefix = typeof group.key === 'number' ? ipv4KeyText(group.key) : prefixToText(prefixFromKey(group.key));
    for (const path of group.paths) {
      let fields = converted.get(path.attributes);
      if (!fields) converted.set(path.attributes, (fields = routeFields(path.attributes)));
      out.push({ prefix, best: path.best, from: path.peer ?? 'local', ...fields, stale: path.stale });
    }
  }
  return out;
}

function parsePrefixFilter(text: string): BgpPrefix {
  if (!text.includes('/')) throw new BgpInvalidArgument(`prefix filter ${JSON.stringify(text)} is not a CIDR: give the length too (10.244.0.0/16, fd00::/64)`);
  try {
    return parsePrefix(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new BgpInvalidArgument(`prefix filter: ${why}`);
  }
}

/** The RIB id of the peer `text` names, null for `"local"`, undefined when no configured peer has that address. */
function resolvePeer(text: string, peers: Iterable<{ readonly address: string; readonly id: PeerId }>): PeerId | null | undefined {
  if (text === 'local') return null;
  let wanted: string;
  try {
    wanted = canonicalAddress(text);
  } catch {
    throw new BgpInvalidArgument(`peer filter ${JSON.stringify(text)} is not an IP address (nor "local", for the routes this node originates)`);
  }
  for (const peer of peers) {
    if (peer.address === text) return peer.id;
    try {
      if (canonicalAddress(peer.address) === wanted) return peer.id;
    } catch {
      // A peer configured by a name that is not an address cannot match one.
    }
  }
  return undefined;
}

function canonicalAddress(text: string): string {
  if (text.includes('/')) throw new BgpInvalidArgument('an address, not a prefix');
  return prefixToText(parsePrefix(text));
}

/** The keys of every IPv4 prefix equal to or inside `within` (see prefix-key.ts: 2^length + network). */
function* ipv4KeysInside(within: BgpPrefix): Generator<number> {
  const b = within.bytes;
  const address = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
  const length = within.length;
  const network = length === 0 ? 0 : Math.floor(address / 2 ** (32 - length));
  for (let m = length; m <= 32; m += 1) {
    const span = 2 ** (m - length);
    const first = 2 ** m + network * span;
    for (let i = 0; i < span; i += 1) yield first + i;
  }
}

/** A test of IPv4 keys: is the key's prefix equal to or inside `within`? */
function ipv4Inside(within: BgpPrefix): (key: PrefixKey) => boolean {
  const b = within.bytes;
  const address = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
  const length = within.length;
  const network = length === 0 ? 0 : Math.floor(address / 2 ** (32 - length));
  return (key) => {
    if (typeof key !== 'number') return false;
    const m = key >= 0x1_0000_0000 ? 32 : 31 - Math.clz32(key);
    return m >= length && Math.floor((key - 2 ** m) / 2 ** (m - length)) === network;
  };
}

/** The keys of every IPv6 prefix equal to or inside `within` (only called for long prefixes: few of them). */
function* ipv6KeysInside(within: BgpPrefix): Generator<PrefixKey> {
  const bytes = new Uint8Array(16);
  for (let m = within.length; m <= 128; m += 1) {
    const free = m - within.length;
    for (let i = 0; i < 2 ** free; i += 1) {
      bytes.set(within.bytes);
      // Bits within.length .. m-1 take the value i, most significant first.
      for (let bit = 0; bit < free; bit += 1) {
        if (Math.floor(i / 2 ** (free - 1 - bit)) % 2 === 1) {
          const at = within.length + bit;
          bytes[at >> 3] = (bytes[at >> 3] ?? 0) | (0x80 >> (at & 7));
        }
      }
      yield prefixKey(makePrefix(6, bytes, m));
    }
  }
}

/** A test of IPv6 keys (`"length/hex"`, prefix-key.ts): is the key's prefix equal to or inside `within`? */
function ipv6Inside(within: BgpPrefix): (key: PrefixKey) => boolean {
  const length = within.length;
  const whole = length >> 3;
  let hex = '';
  for (let i = 0; i < whole; i += 1) hex += (within.bytes[i] ?? 0).toString(16).padStart(2, '0');
  const rest = length & 7;
  const mask = (0xff << (8 - rest)) & 0xff;
  const partial = within.bytes[whole] ?? 0;
  return (key) => {
    if (typeof key !== 'string') return false;
    const slash = key.indexOf('/');
    if (Number(key.slice(0, slash)) < length) return false;
    const body = key.slice(slash + 1);
    if (!body.startsWith(hex)) return false;
    return rest === 0 || (Number.parseInt(body.slice(whole * 2, whole * 2 + 2), 16) & mask) === partial;
  };
}

/** The length of an IPv4 key and its network address (prefix-key.ts: 2^length + network). */
function ipv4KeyParts(key: number): [length: number, address: number] {
  const length = key >= 0x1_0000_0000 ? 32 : 31 - Math.clz32(key);
  return [length, (key - 2 ** length) * 2 ** (32 - length)];
}

function ipv4Order(key: number): number {
  const [length, address] = ipv4KeyParts(key);
  return address * 64 + length;
}

function ipv4KeyText(key: number): string {
  const [length, address] = ipv4KeyParts(key);
  return `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}/${length}`;
}

/** `"length/hex"` (prefix-key.ts) → the hex padded to 128 bits, then the length. */
function ipv6Order(key: string): string {
  const slash = key.indexOf('/');
  return key.slice(slash + 1).padEnd(32, '0') + key.slice(0, slash).padStart(3, '0');
}

type RouteFields = Pick<HeldRoute, 'nextHop' | 'asPath' | 'origin' | 'localPref' | 'med' | 'communities' | 'largeCommunities'>;

function routeFields(a: RouteAttributes): RouteFields {
  const asPath: number[] = [];
  // Every segment's numbers in order, sets and confederation segments (RFC 5065) included, as the path was sent.
  for (const segment of a.asPath ?? []) for (const n of segment.asns) asPath.push(n);
  return {
    nextHop: a.nextHop,
    asPath,
    origin: ORIGIN_WORD[a.origin ?? ORIGIN.INCOMPLETE] ?? 'incomplete',
    ...(a.localPref === undefined ? {} : { localPref: a.localPref }),
    ...(a.med === undefined ? {} : { med: a.med }),
    communities: (a.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`),
    largeCommunities: (a.largeCommunities ?? []).map((c) => `${c.globalAdministrator}:${c.localData1}:${c.localData2}`),
  };
}
