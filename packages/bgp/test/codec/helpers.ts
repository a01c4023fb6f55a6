// Byte builders for the codec tests: fixtures stay readable as commented octets.
import { expect } from 'vitest';

import { BgpNotification, INITIAL_NEGOTIATED_STATE, type NegotiatedState } from '@twill/bgp';

/** The 16-octet all-ones marker (RFC 4271 §4.1). */
export const MARKER: readonly number[] = Array.from({ length: 16 }, () => 0xff);

/** A whole message: marker, length, type, body. */
export function message(type: number, body: readonly number[]): Uint8Array {
  const length = 19 + body.length;
  return Uint8Array.from([...MARKER, length >> 8, length & 0xff, type, ...body]);
}

/** An UPDATE from its three fields (lengths filled in). */
export function update(parts: { withdrawn?: readonly number[]; attributes?: readonly number[]; nlri?: readonly number[] }): Uint8Array {
  const withdrawn = parts.withdrawn ?? [];
  const attributes = parts.attributes ?? [];
  return message(2, [withdrawn.length >> 8, withdrawn.length & 0xff, ...withdrawn, attributes.length >> 8, attributes.length & 0xff, ...attributes, ...(parts.nlri ?? [])]);
}

/** The attributes every announcement needs: ORIGIN IGP, AS_PATH [65001] (2-octet), NEXT_HOP 192.0.2.1. */
export const BASE_ATTRIBUTES_2: readonly number[] = [
  0x40, 0x01, 0x01, 0x00, // ORIGIN IGP
  0x40, 0x02, 0x04, 0x02, 0x01, 0xfd, 0xe9, // AS_PATH AS_SEQUENCE [65001]
  0x40, 0x03, 0x04, 192, 0, 2, 1, // NEXT_HOP 192.0.2.1
];

/** The same with a 4-octet AS_PATH. */
export const BASE_ATTRIBUTES_4: readonly number[] = [
  0x40, 0x01, 0x01, 0x00, // ORIGIN IGP
  0x40, 0x02, 0x06, 0x02, 0x01, 0x00, 0x00, 0xfd, 0xe9, // AS_PATH AS_SEQUENCE [65001]
  0x40, 0x03, 0x04, 192, 0, 2, 1, // NEXT_HOP 192.0.2.1
];

/** NLRI 10.1.0.0/16. */
export const NLRI_10_1: readonly number[] = [16, 10, 1];

/** A state with 4-octet AS numbers. */
export const FOUR_OCTET: NegotiatedState = { ...INITIAL_NEGOTIATED_STATE, fourOctetAs: true };

/** Hex of bytes, for readable failures. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Runs `fn`, expects a BgpNotification, and returns it. */
export function expectNotification(fn: () => unknown): BgpNotification {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BgpNotification);
    return error as BgpNotification;
  }
  throw new Error('expected a BgpNotification, nothing was thrown');
}
