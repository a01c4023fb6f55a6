// Branded identifiers used across the FSM and the RIB, so that a router id, a peer
// name and an address are not confused.
import { BgpInvalidArgument } from './errors.js';

declare const routerIdBrand: unique symbol;
declare const peerIdBrand: unique symbol;

/** A BGP Identifier: a non-zero dotted quad (RFC 4271 §4.2, RFC 6286 §2.1). */
export type RouterId = string & {
  /** Type-level brand only: a `RouterId` is a plain string at run time; make one with {@link routerId}. */
  readonly [routerIdBrand]: 'RouterId';
};

/** The name a speaker gives a peer in its RIB (usually the peer's address). */
export type PeerId = string & {
  /** Type-level brand only: a `PeerId` is a plain string at run time; make one with {@link peerId}. */
  readonly [peerIdBrand]: 'PeerId';
};

/**
 * Brands a dotted quad as a BGP Identifier.
 * @throws {BgpInvalidArgument} when `text` is not four decimal octets, or is 0.0.0.0.
 */
export function routerId(text: string): RouterId {
  const parts = text.split('.');
  const ok = parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
  if (!ok || text === '0.0.0.0') throw new BgpInvalidArgument(`${JSON.stringify(text)} is not a BGP Identifier (a non-zero dotted quad)`);
  return text as RouterId;
}

/**
 * Brands a peer name.
 * @throws {BgpInvalidArgument} when `text` is empty.
 */
export function peerId(text: string): PeerId {
  if (text.length === 0) throw new BgpInvalidArgument('a peer id is not empty');
  return text as PeerId;
}
