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

/** `--prefix 10.0.0.0/24`: a CIDR, in its canonical text (host bits cleared). */
export function cidrParser(command: string, flag: string): (value: string) => string {
  return (value) => {
    const cidr = parseCidr(value.trim());
    if (cidr === undefined) throw new UsageError(command, flag, `must be a CIDR such as 10.0.0.0/24 or fd00::/64 (got ${JSON.stringify(value)})`);
    return cidr.text;
  };
}
