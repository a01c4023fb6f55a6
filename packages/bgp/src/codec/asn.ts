import { BgpInvalidArgument } from '../errors.js';

declare const asnBrand: unique symbol;

/** An autonomous system number, 0..4294967295 (RFC 6793 §3). */
export type Asn = number & {
  /** Type-level brand only: an `Asn` is a plain number at run time; make one with {@link asn}. */
  readonly [asnBrand]: 'Asn';
};

/**
 * Brands a number as an AS number.
 * @throws {BgpInvalidArgument} when `value` is not an integer in 0..4294967295.
 */
export function asn(value: number): Asn {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new BgpInvalidArgument(`${value} is not an AS number (0..4294967295)`);
  }
  return value as Asn;
}

/** The asdot-free text form, e.g. `"65000"` or `"4200000000"` (RFC 5396 "asplain"). */
export function asnToText(value: Asn): string {
  return String(value);
}
