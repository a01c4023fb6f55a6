// Blocks: a pool is cut into blocks of `blockSize` (a /26 by default), each claimed by
// at most one node (its affinity). A block's allocation state is one document, keyed by
// the block's CIDR, so allocating an address is one compare-and-swap on one small
// document: nodes allocating from their own blocks never conflict with each other.
import { type Address, addressBits, formatAddress, formatSubnet, parseCidrParts, type Subnet, subnetBounds, subnetContains } from '../range/address.js';
import { type IpPool } from './pool-config.js';

/** A block of a pool: its subnet and its index among the pool's blocks. */
export interface BlockRef {
  /** The pool the block belongs to. */
  readonly pool: IpPool;
  /** 0 for the pool's first block. */
  readonly index: bigint;
  /** The block's subnet (its prefix length is the pool's `blockSize`). */
  readonly subnet: Subnet;
  /** The CIDR as text (`10.0.0.64/26`): the block's name in documents and messages. */
  readonly cidr: string;
}

/** How many blocks a pool has. */
export function blockCount(pool: IpPool): bigint {
  return 1n << BigInt(pool.blockSize - pool.cidr.prefixLength);
}

/** How many addresses a block of `pool` has. */
export function blockAddressCount(pool: IpPool): number {
  return 2 ** (addressBits(pool.family) - pool.blockSize);
}

/** Block number `index` of `pool`. */
export function blockAt(pool: IpPool, index: bigint): BlockRef {
  const shift = BigInt(addressBits(pool.family) - pool.blockSize);
  const subnet: Subnet = { network: { family: pool.family, value: pool.cidr.network.value + (index << shift) }, prefixLength: pool.blockSize };
  return { pool, index, subnet, cidr: formatSubnet(subnet) };
}

/** The block of `pool` holding `address`, or `undefined` when the pool does not hold it. */
export function blockOf(pool: IpPool, address: Address): BlockRef | undefined {
  if (!subnetContains(pool.cidr, address)) return undefined;
  const shift = BigInt(addressBits(pool.family) - pool.blockSize);
  return blockAt(pool, (address.value - pool.cidr.network.value) >> shift);
}

/** The address at `ordinal` in a block. */
export function addressAt(block: Subnet, ordinal: number): Address {
  return { family: block.network.family, value: block.network.value + BigInt(ordinal) };
}

/** The ordinal of `address` in `block` (callers check containment first). */
export function ordinalOf(block: Subnet, address: Address): number {
  return Number(address.value - block.network.value);
}

/** A block CIDR as a store key segment: `10.0.0.64-26`, `fd00::40-122` (keys cannot hold `/`). */
export function blockKeySegment(cidr: string): string {
  return cidr.replace('/', '-');
}

/** Parses a block's CIDR text, or `undefined`. */
export function parseBlockCidr(cidr: string): Subnet | undefined {
  const parts = parseCidrParts(cidr);
  return parts === undefined ? undefined : { network: parts.address, prefixLength: parts.prefixLength };
}

/** The ordinals of `block` covered by any of `reserved`, ascending. */
export function reservedOrdinals(block: Subnet, reserved: readonly Subnet[]): readonly number[] {
  const { first, last } = subnetBounds(block);
  const out = new Set<number>();
  for (const r of reserved) {
    if (r.network.family !== block.network.family) continue;
    const b = subnetBounds(r);
    const from = b.first > first ? b.first : first;
    const to = b.last < last ? b.last : last;
    for (let v = from; v <= to; v++) out.add(Number(v - first));
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * The address at `ordinal` of a block, as text. IPv4 is printed directly (the dotted
 * quad is unambiguous and this is the allocation hot path); IPv6 goes through
 * {@link formatAddress} for RFC 5952's rules.
 */
export function addressText(block: Subnet, ordinal: number): string {
  const address = addressAt(block, ordinal);
  if (address.family === 6) return formatAddress(address);
  const v = Number(address.value);
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}
