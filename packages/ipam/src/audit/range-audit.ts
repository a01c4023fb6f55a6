// check() and whyHeld() for the host-local compatible range allocator. Its data is
// host-local's own (one entry per address holding `containerID\r\nifname`, a cursor per
// range set), so provenance stops at the attachment: there is no pod, node or time to
// report, and nothing is invented. Read-only: fixing what check() finds is gc's job.
import { InvalidRequestError } from '../errors.js';
import { formatAddress, parseAddress } from '../range/address.js';
import { type RangeIpamConfig } from '../range/ipam-config.js';
import { findRange, formatRangeSet, rangeContains } from '../range/range-set.js';
import { decodeReservation, LAST_RESERVED_PREFIX, networkPrefix, readSnapshot } from '../range/reservation.js';
import { type Store } from '../store/store.js';

/** What the range audit reads: the configuration and the store. */
export interface RangeAuditOptions {
  /** The network's range configuration. */
  readonly config: RangeIpamConfig;
  /** The store holding its reservations. */
  readonly store: Store;
}

/** One problem found by {@link checkRanges}. */
export type RangeProblem =
  /** A reservation in no range set of the configuration (the ranges changed since). */
  | { readonly kind: 'reservation-outside-ranges'; readonly ip: string; readonly containerId: string; readonly ifName?: string }
  /** A reservation on a range's gateway, which host-local never hands out. */
  | { readonly kind: 'gateway-reserved'; readonly ip: string; readonly rangeSet: number; readonly containerId: string }
  /** One attachment holds several addresses of one range set (SPEC.md allows one per ADD). */
  | { readonly kind: 'duplicate-attachment'; readonly containerId: string; readonly ifName?: string; readonly rangeSet: number; readonly ips: readonly string[] }
  /** A `last_reserved_ip.N` that is not an address of range set N (host-local then starts over). */
  | { readonly kind: 'bad-cursor'; readonly key: string; readonly value: string };

/** What {@link checkRanges} found. */
export interface RangeCheckReport {
  /** Whether no problem was found. */
  readonly ok: boolean;
  /** How many reservations were checked. */
  readonly reservations: number;
  /** Every inconsistency found. */
  readonly problems: readonly RangeProblem[];
}

/**
 * Checks a range network's reservations against its configuration.
 * @throws StoreFailureError when the store fails.
 */
export async function checkRanges(options: RangeAuditOptions): Promise<RangeCheckReport> {
  const { config, store } = options;
  const prefix = networkPrefix(config.network);
  const entries = await store.list(prefix);
  const snapshot = readSnapshot(prefix, entries);
  const problems: RangeProblem[] = [];
  const byAttachment = new Map<string, { containerId: string; ifName?: string; rangeSet: number; ips: string[] }>();
  for (const { address, entry } of snapshot.reservations.values()) {
    const holder = decodeReservation(entry.value);
    const ip = formatAddress(address);
    const rangeSet = config.rangeSets.findIndex((set) => findRange(set, address) >= 0);
    if (rangeSet < 0) {
      problems.push({ kind: 'reservation-outside-ranges', ip, ...holder });
      continue;
    }
    const set = config.rangeSets[rangeSet] ?? [];
    if (set.some((range) => formatAddress(range.gateway) === ip)) problems.push({ kind: 'gateway-reserved', ip, rangeSet, containerId: holder.containerId });
    const key = `${holder.containerId}\n${holder.ifName ?? ''}\n${rangeSet}`;
    const seen = byAttachment.get(key) ?? { ...holder, rangeSet, ips: [] };
    seen.ips.push(ip);
    byAttachment.set(key, seen);
  }
  for (const held of byAttachment.values()) if (held.ips.length > 1) problems.push({ kind: 'duplicate-attachment', ...held });
  for (const entry of entries) {
    const name = entry.key.slice(prefix.length);
    if (!name.startsWith(LAST_RESERVED_PREFIX)) continue;
    const set = config.rangeSets[Number(name.slice(LAST_RESERVED_PREFIX.length))];
    const address = parseAddress(entry.value.trim());
    if (set === undefined || address === undefined || !set.some((range) => rangeContains(range, address))) {
      problems.push({ kind: 'bad-cursor', key: entry.key, value: entry.value });
    }
  }
  return { ok: problems.length === 0, reservations: snapshot.reservations.size, problems };
}

/** Who holds an address of a range network, or why nobody does. */
export type RangeAddressStatus =
  | { readonly state: 'allocated'; readonly ip: string; readonly rangeSet: number; readonly containerId: string; readonly ifName?: string }
  | { readonly state: 'gateway'; readonly ip: string; readonly rangeSet: number }
  | { readonly state: 'free'; readonly ip: string; readonly rangeSet: number; readonly ranges: string }
  /** In no range set; `containerId` when a stale reservation still holds it. */
  | { readonly state: 'outside-ranges'; readonly ip: string; readonly containerId?: string; readonly ifName?: string };

/**
 * Says which attachment (container ID and interface) holds `ip` in the network, or that
 * it is the gateway, free, or outside every range set.
 * @throws InvalidRequestError when `ip` is not an address; StoreFailureError.
 */
export async function whyHeldInRanges(options: RangeAuditOptions, ip: string): Promise<RangeAddressStatus> {
  const address = parseAddress(ip);
  if (address === undefined) throw new InvalidRequestError(`invalid IP address ${JSON.stringify(ip)}`);
  const text = formatAddress(address);
  const entry = await options.store.get(`${networkPrefix(options.config.network)}${text}`);
  const holder = entry === undefined ? undefined : decodeReservation(entry.value);
  const rangeSet = options.config.rangeSets.findIndex((set) => findRange(set, address) >= 0);
  if (rangeSet < 0) return { state: 'outside-ranges', ip: text, ...(holder ?? {}) };
  if (holder !== undefined) return { state: 'allocated', ip: text, rangeSet, ...holder };
  const set = options.config.rangeSets[rangeSet] ?? [];
  if (set.some((range) => formatAddress(range.gateway) === text)) return { state: 'gateway', ip: text, rangeSet };
  return { state: 'free', ip: text, rangeSet, ranges: formatRangeSet(set) };
}
