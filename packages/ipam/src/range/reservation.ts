// What a reservation holds and where it lives, in host-local's own layout
// (plugins/ipam/host-local/backend/disk/backend.go): under the network, one entry per
// address named by the address, holding `<containerID>\r\n<ifname>`, and one
// `last_reserved_ip.<N>` per range set holding the last address handed out from it.
// Every store adapter keeps these keys and values, so the file adapter *is* host-local's
// data directory.
import { type Address, formatAddress, parseAddress } from './address.js';
import { type StoreEntry } from '../store/store.js';

/** host-local's separator between the container ID and the interface name. */
export const RESERVATION_LINE_BREAK = '\r\n';

/** The prefix of the per-range-set round-robin cursor (`last_reserved_ip.0`). */
export const LAST_RESERVED_PREFIX = 'last_reserved_ip.';

/** Who holds an address: the attachment `(containerId, ifName)`. */
export interface Holder {
  /** The container ID (`CNI_CONTAINERID`). */
  readonly containerId: string;
  /** The interface name; absent in files written by host-local before 0.8 (ID only). */
  readonly ifName?: string;
}

/** The value stored for a reservation, as host-local writes it. */
export function encodeReservation(holder: Holder): string {
  const id = holder.containerId.trim();
  return holder.ifName === undefined ? id : `${id}${RESERVATION_LINE_BREAK}${holder.ifName}`;
}

/** Reads a reservation's value (tolerating surrounding whitespace, as host-local does). */
export function decodeReservation(value: string): Holder {
  const text = value.trim();
  const at = text.indexOf(RESERVATION_LINE_BREAK);
  if (at < 0) return { containerId: text };
  return { containerId: text.slice(0, at), ifName: text.slice(at + RESERVATION_LINE_BREAK.length) };
}

/**
 * Whether a stored value belongs to the attachment: `id\r\nifname` exactly, or, for
 * values written by old host-local versions, the bare `id` (host-local's fallback).
 */
export function heldBy(value: string, containerId: string, ifName: string, legacy: boolean): boolean {
  const text = value.trim();
  const id = containerId.trim();
  return legacy ? text === id : text === `${id}${RESERVATION_LINE_BREAK}${ifName}`;
}

/** The store prefix of a network's entries. */
export function networkPrefix(network: string): string {
  return `${network}/`;
}

/** The key of an address's reservation. */
export function reservationKey(network: string, address: Address): string {
  return `${network}/${formatAddress(address)}`;
}

/** The key of range set `index`'s round-robin cursor. */
export function lastReservedKey(network: string, index: number): string {
  return `${network}/${LAST_RESERVED_PREFIX}${index}`;
}

/** A reservation read from the store. */
export interface Reservation {
  readonly address: Address;
  readonly entry: StoreEntry;
}

/** A network's entries, sorted into reservations and round-robin cursors. */
export interface NetworkSnapshot {
  /** Reservations by {@link addressId}. */
  readonly reservations: ReadonlyMap<string, Reservation>;
  /** `last_reserved_ip.N` entries by N. */
  readonly lastReserved: ReadonlyMap<number, StoreEntry>;
}

/** A map key for an address. */
export function addressId(address: Address): string {
  return `${address.family}:${address.value}`;
}

/**
 * Sorts the entries listed under a network's prefix. Entries that are neither (such as
 * host-local's `lock` file or foreign files) are ignored, as host-local ignores them.
 */
export function readSnapshot(prefix: string, entries: readonly StoreEntry[]): NetworkSnapshot {
  const reservations = new Map<string, Reservation>();
  const lastReserved = new Map<number, StoreEntry>();
  for (const entry of entries) {
    const name = entry.key.slice(prefix.length);
    if (name.startsWith(LAST_RESERVED_PREFIX)) {
      const index = Number(name.slice(LAST_RESERVED_PREFIX.length));
      if (Number.isInteger(index) && index >= 0) lastReserved.set(index, entry);
      continue;
    }
    const address = parseAddress(name);
    if (address !== undefined) reservations.set(addressId(address), { address, entry });
  }
  return { reservations, lastReserved };
}
