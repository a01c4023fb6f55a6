// Address → identity, by longest prefix match (what Cilium's ipcache LPM map does in
// the datapath). One exact-match table per prefix length; a lookup tries the lengths
// present from longest to shortest, so it costs at most 33 (IPv4) or 129 (IPv6) probes
// and usually a handful.

import { POLICY_ERROR_CODE, PolicyEngineError } from '../errors.js';
import { maskBytes, parseCidr, parseIpAddress, type IpFamily } from '../model/cidr.js';
import { RESERVED_IDENTITY, type NumericIdentity } from './reserved.js';

interface FamilyTable {
  readonly byLength: Map<number, Map<string, NumericIdentity>>;
  lengths: number[];
}

const key = (bytes: readonly number[]): string => bytes.join('.');

/** A longest-prefix-match table from prefixes to identities. Unknown addresses are `world`. */
export class IpIdentityCache {
  readonly #tables: Record<IpFamily, FamilyTable> = {
    4: { byLength: new Map(), lengths: [] },
    6: { byLength: new Map(), lengths: [] },
  };

  /**
   * Maps a prefix (`10.0.0.0/8`) or a single address to `identity`, replacing what it had.
   * @throws {PolicyEngineError} `invalid-cidr` when `prefix` is neither an address nor a CIDR.
   */
  set(prefix: string, identity: NumericIdentity): void {
    const cidr = parseCidr(prefix) ?? hostPrefix(prefix);
    const table = this.#tables[cidr.family];
    let entries = table.byLength.get(cidr.prefixLength);
    if (entries === undefined) {
      entries = new Map();
      table.byLength.set(cidr.prefixLength, entries);
      table.lengths = [...table.byLength.keys()].sort((a, b) => b - a);
    }
    entries.set(key(cidr.bytes), identity);
  }

  /** Removes a prefix; returns whether it was there. */
  delete(prefix: string): boolean {
    const cidr = parseCidr(prefix) ?? hostPrefix(prefix);
    return this.#tables[cidr.family].byLength.get(cidr.prefixLength)?.delete(key(cidr.bytes)) ?? false;
  }

  /**
   * The identity of the longest prefix holding `address`; `world` when none does.
   * @throws {PolicyEngineError} `invalid-cidr` when `address` is not an IP address.
   */
  lookup(address: string): NumericIdentity {
    const parsed = parseIpAddress(address);
    if (parsed === undefined) throw new PolicyEngineError(POLICY_ERROR_CODE.INVALID_CIDR, '', `not an IP address: ${JSON.stringify(address)}`);
    const table = this.#tables[parsed.family];
    for (const length of table.lengths) {
      const found = table.byLength.get(length)?.get(key(maskBytes(parsed.bytes, length)));
      if (found !== undefined) return found;
    }
    return RESERVED_IDENTITY.WORLD;
  }
}

function hostPrefix(text: string): { family: IpFamily; bytes: readonly number[]; prefixLength: number } {
  const address = parseIpAddress(text);
  if (address === undefined) throw new PolicyEngineError(POLICY_ERROR_CODE.INVALID_CIDR, '', `not an IP address or CIDR: ${JSON.stringify(text)}`);
  return { family: address.family, bytes: address.bytes, prefixLength: address.bytes.length * 8 };
}
