// Addresses and CIDR prefixes for the IP filters: parsed to bytes (4 for IPv4, 16 for
// IPv6) and compared bit by bit. Small on purpose: the package imports no address
// library. Text forms follow RFC 4291 §2.2 (IPv6, `::` and a dotted IPv4 tail) and the
// dotted-quad IPv4 form without leading zeros (as Go's netip, which Hubble uses).
// Zones (`fe80::1%eth0`) are not addresses a flow carries and are refused.

/** An IP address as bytes: 4 for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

/** A CIDR prefix: its address bytes (host bits cleared) and length in bits. */
export interface IpPrefix {
  readonly bytes: IpBytes;
  readonly bits: number;
}

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): IpBytes | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    if (!DECIMAL_OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const groups: number[] = [];
  const parts = text.split(':');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
    } else {
      if (!HEX_GROUP.test(part)) return undefined;
      groups.push(parseInt(part, 16));
    }
  }
  return groups;
}

function parseIpv6(text: string): IpBytes | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0] as string);
    const tail = parseGroups(halves[1] as string);
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
    // A dotted tail may only end the address, never sit before `::`.
    if ((halves[0] as string).includes('.')) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(text);
    if (all === undefined || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Parses an IPv4 or IPv6 address; undefined when `text` is not one. */
export function parseIp(text: string): IpBytes | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/** Parses `address/bits`; undefined when `text` is not a prefix. Host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`). */
export function parseCidr(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const bytes = parseIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (bytes === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > bytes.length * 8) return undefined;
  const masked = Uint8Array.from(bytes);
  for (let i = 0; i < masked.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    masked[i] = (masked[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
  return { bytes: masked, bits };
}

/** Whether `address` lies in `prefix` (same family only: an IPv4 address is not in an IPv6 prefix). */
export function prefixContains(prefix: IpPrefix, address: IpBytes): boolean {
  if (prefix.bytes.length !== address.length) return false;
  let bits = prefix.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((address[i] as number) & mask) !== (prefix.bytes[i] as number)) return false;
  }
  return true;
}

/** Whether two parsed addresses are the same address. */
export function sameIp(a: IpBytes, b: IpBytes): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
