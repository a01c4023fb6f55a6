/**
 * Readers for Calico's small value types: protocols, ports, CIDRs, ICMP matches. Each
 * follows Calico's `numorstring` and validator rules and names the field path on error.
 */
import ipaddr from 'ipaddr.js';

import { asObject, checkKnownFields, child, describeValue, fail, optional, type Fields } from './internal/fields.js';
import {
  CALICO_PROTOCOL_NUMBERS,
  type CalicoIcmp,
  type CalicoNet,
  type CalicoPort,
  type CalicoProtocol,
  type CalicoProtocolName,
} from './types.js';

const PROTOCOL_NAMES = Object.keys(CALICO_PROTOCOL_NUMBERS) as CalicoProtocolName[];

function protocolFromNumber(n: number): CalicoProtocol {
  const name = PROTOCOL_NAMES.find((p) => CALICO_PROTOCOL_NUMBERS[p] === n);
  return name === undefined ? { number: n } : { number: n, name };
}

/**
 * Reads a protocol: a name (`TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`, `UDPLite`, matched
 * case-insensitively like Calico's `ProtocolFromString`) or a number 1-255.
 */
export function readProtocol(value: unknown, path: string): CalicoProtocol {
  const expected = 'expected TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a protocol number from 1 to 255';
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > 255) fail(path, `invalid protocol ${value}: ${expected}`);
    return protocolFromNumber(value);
  }
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return readProtocol(Number(value), path);
    const name = PROTOCOL_NAMES.find((p) => p.toLowerCase() === value.toLowerCase());
    if (name === undefined) fail(path, `invalid protocol ${JSON.stringify(value)}: ${expected}`);
    return { number: CALICO_PROTOCOL_NUMBERS[name], name };
  }
  return fail(path, `${expected}, found ${describeValue(value)}`);
}

/** True for the protocols that have ports: TCP, UDP and SCTP (Calico's `SupportsPorts`). */
export function protocolHasPorts(protocol: CalicoProtocol | undefined): boolean {
  return protocol !== undefined && (protocol.number === 6 || protocol.number === 17 || protocol.number === 132);
}

/** True for ICMP (1) and ICMPv6 (58). */
export function protocolIsIcmp(protocol: CalicoProtocol | undefined): boolean {
  return protocol !== undefined && (protocol.number === 1 || protocol.number === 58);
}

const PORT_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

function portNumber(text: string, path: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(path, `invalid ${what} ${text} (ports are 1-65535)`);
  return n;
}

/**
 * Reads a port: a number, a `"min:max"` range (inclusive, min <= max) or a port name
 * (`[a-zA-Z0-9_.-]{1,128}`), as Calico's `numorstring.Port`. Port 0 is invalid.
 */
export function readPort(value: unknown, path: string): CalicoPort {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) fail(path, `invalid port ${value} (ports are 1-65535)`);
    const n = portNumber(String(value), path, 'port');
    return { kind: 'range', min: n, max: n };
  }
  if (typeof value !== 'string') {
    return fail(path, `expected a port number, a "min:max" range or a port name, found ${describeValue(value)}`);
  }
  if (/^\d+$/.test(value)) {
    const n = portNumber(value, path, 'port');
    return { kind: 'range', min: n, max: n };
  }
  const range = /^(\d+):(\d+)$/.exec(value);
  if (range !== null) {
    const min = portNumber(range[1] ?? '', path, 'port');
    const max = portNumber(range[2] ?? '', path, 'port');
    if (min > max) fail(path, `invalid port range ${JSON.stringify(value)}`);
    return { kind: 'range', min, max };
  }
  if (!PORT_NAME.test(value)) {
    fail(path, `invalid port ${JSON.stringify(value)}: expected a number, a "min:max" range or a port name of [a-zA-Z0-9_.-]`);
  }
  return { kind: 'named', name: value };
}

/**
 * Reads a CIDR (or a bare address, taken as /32 or /128) with `ipaddr.js`. Only
 * dotted-quad IPv4 and IPv6 without a zone are accepted, as Go's parser does. When
 * `strict`, host bits must be zero (Calico's `net` validator for rule nets); otherwise
 * they are masked off (the `cidr` validator for network sets).
 */
export function readNet(value: unknown, path: string, strict: boolean): CalicoNet {
  if (typeof value !== 'string') return fail(path, `expected a CIDR, found ${describeValue(value)}`);
  const slash = value.indexOf('/');
  const addressText = slash === -1 ? value : value.slice(0, slash);
  const lengthText = slash === -1 ? undefined : value.slice(slash + 1);
  const invalid = (): never => fail(path, `invalid CIDR ${JSON.stringify(value)}`);
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(addressText);
  if (!v4 && (addressText.includes('%') || !ipaddr.IPv6.isValid(addressText))) invalid();
  const bits = v4 ? 32 : 128;
  if (lengthText !== undefined && !/^\d{1,3}$/.test(lengthText)) invalid();
  const prefixLength = lengthText === undefined ? bits : Number(lengthText);
  if (prefixLength > bits) invalid();
  const withLength = `${addressText}/${prefixLength}`;
  const network = v4 ? ipaddr.IPv4.networkAddressFromCIDR(withLength) : ipaddr.IPv6.networkAddressFromCIDR(withLength);
  const address = ipaddr.parse(addressText);
  const cidr = `${network.toString()}/${prefixLength}`;
  if (strict && network.toString() !== address.toString()) {
    fail(path, `invalid CIDR ${JSON.stringify(value)}: host bits are set (the network is ${cidr})`);
  }
  return { text: value, cidr, version: v4 ? 4 : 6, prefixLength };
}

/** Reads an `icmp` / `notICMP` object: `type` 0-254, `code` 0-255, code only with a type. */
export function readIcmp(value: unknown, path: string): CalicoIcmp {
  const fields: Fields = asObject(value, path);
  checkKnownFields(fields, path, ['type', 'code']);
  const read = (key: 'type' | 'code', max: number): number | undefined => {
    const v = optional(fields, key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      fail(child(path, key), `invalid ICMP ${key} ${describeValue(v)}: expected an integer from 0 to ${max}`);
    }
    return v;
  };
  const type = read('type', 254);
  const code = read('code', 255);
  if (code !== undefined && type === undefined) fail(child(path, 'code'), 'ICMP code specified without an ICMP type');
  return { ...(type === undefined ? {} : { type }), ...(code === undefined ? {} : { code }) };
}
