// Parsers of address options (`--ip`, `--peer`, `--prefix`), run by commander as it
// reads the command line: a bad value is a UsageError naming the command and the flag.

import { parseCidr, parseIpAddress } from '@twill/policy-engine';

import { UsageError } from './errors.js';

/** `--ip 10.0.0.5`: an IPv4 or IPv6 address, in its canonical text (`fd00::1`). */
export function ipAddressParser(command: string, flag: string): (value: string) => string {
  return (value) => {
    const address = parseIpAddress(value.trim());
    if (address === undefined) throw new UsageError(command, flag, `must be an IPv4 or IPv6 address (got ${JSON.stringify(value)})`);
    return address.text;
  };
}

/** `--prefix 10.0.0.0/24`: a CIDR written with its network address, in canonical text. */
export function cidrParser(command: string, flag: string): (value: string) => string {
  return (value) => {
    const text = value.trim();
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new UsageError(command, flag, `must be a CIDR such as 10.0.0.0/24 or fd00::/64 (got ${JSON.stringify(value)})`);
    const address = parseIpAddress(text.slice(0, text.indexOf('/')));
    if (address !== undefined && address.bytes.some((byte, i) => byte !== cidr.bytes[i])) {
      throw new UsageError(command, flag, `${text} has host bits set (the network is ${cidr.text})`);
    }
    return cidr.text;
  };
}

/** `--peer 10.0.0.2`: a peer's address (canonical text), or `local` for the routes this node originates. */
export function peerParser(command: string, flag: string): (value: string) => string {
  const ip = ipAddressParser(command, flag);
  return (value) => {
    if (value.trim() === 'local') return 'local';
    if (parseIpAddress(value.trim()) === undefined) throw new UsageError(command, flag, `must be a peer's IP address, or local (got ${JSON.stringify(value)})`);
    return ip(value);
  };
}
