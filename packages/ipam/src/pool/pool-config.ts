// The pool allocator's configuration: IP pools (Calico's IPPool: cidr, blockSize,
// nodeSelector, disabled) and the allocator's settings (Calico's IPAMConfig:
// strictAffinity, maxBlocksPerHost; Calico's IPReservation: reserved). Parse, validate,
// canonicalize: the same input gives the same pools on every host, and every problem is
// a CniError with code 7 naming the field (`ipam.pools[1].blockSize: ...`).
import {
  expectArray,
  expectBoolean,
  expectObject,
  expectString,
  fieldError,
  type FieldPath,
} from '@twill/cni-core';

import { addressBits, type AddressFamily, formatSubnet, parseCidrParts, type Subnet, subnetBounds } from '../range/address.js';
import { checkStoreKey } from '../store/store.js';
import { ALL_NODES, type NodeSelector, parseNodeSelector } from './node-selector.js';

/** One IP pool, canonical. */
export interface IpPool {
  /** A unique name (default: the CIDR with `/` as `-`), used in messages and stored blocks. */
  readonly name: string;
  /** The pool's subnet (host bits clear). */
  readonly cidr: Subnet;
  /** 4 or 6, from the CIDR. */
  readonly family: AddressFamily;
  /** The prefix length of the pool's blocks (26 for IPv4 and 122 for IPv6 by default). */
  readonly blockSize: number;
  /** Which nodes may claim blocks from the pool. */
  readonly nodeSelector: NodeSelector;
  /** A disabled pool gives no new addresses; addresses it gave stay until released. */
  readonly disabled: boolean;
}

/** The pool allocator's whole configuration. */
export interface PoolIpamConfig {
  /** The CNI network name: handles are `<network>.<containerID>`. */
  readonly network: string;
  /** The pools, in configuration order (allocation tries them in this order). */
  readonly pools: readonly IpPool[];
  /** When true, a node never takes addresses from a block affine to another node. */
  readonly strictAffinity: boolean;
  /** The most blocks of one family a node may hold affinity for (0: no limit). */
  readonly maxBlocksPerHost: number;
  /** Addresses never handed out (Calico's IPReservation), as subnets (`/32` for one address). */
  readonly reserved: readonly Subnet[];
  /** How long a released address rests before it is handed out again, in milliseconds. */
  readonly releaseCooldownMs: number;
}

/** The IPv4 and IPv6 block sizes Calico accepts, and its defaults. */
export const BLOCK_SIZE = {
  /** IPv4: prefix lengths /20 to /32, default /26 (64 addresses). */
  4: {
    /** The shortest prefix length. */
    min: 20,
    /** The longest prefix length. */
    max: 32,
    /** The default. */
    default: 26,
  },
  /** IPv6: prefix lengths /116 to /128, default /122 (64 addresses). */
  6: {
    /** The shortest prefix length. */
    min: 116,
    /** The longest prefix length. */
    max: 128,
    /** The default. */
    default: 122,
  },
} as const;

/** The default cooldown of a released address: 30 seconds. */
export const DEFAULT_RELEASE_COOLDOWN_MS = 30_000;

/** Options of {@link parsePoolIpamConfig}. */
export interface ParsePoolIpamOptions {
  /** The network name (the config's `name`). */
  readonly network: string;
  /** Where the section sits in the document, for error messages (default `['ipam']`). */
  readonly path?: FieldPath;
}

function familyName(family: AddressFamily): string {
  return family === 4 ? 'IPv4' : 'IPv6';
}

/** Whether two subnets share an address. */
export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  if (a.network.family !== b.network.family) return false;
  const x = subnetBounds(a);
  const y = subnetBounds(b);
  return x.first <= y.last && y.first <= x.last;
}

/** Parses a CIDR with host bits clear, or returns the problem. */
function parseNetwork(text: string): Subnet | string {
  const parts = parseCidrParts(text);
  if (parts === undefined) return `invalid CIDR ${JSON.stringify(text)}`;
  const hostMask = (1n << BigInt(addressBits(parts.address.family) - parts.prefixLength)) - 1n;
  const subnet: Subnet = { network: { family: parts.address.family, value: parts.address.value & ~hostMask }, prefixLength: parts.prefixLength };
  if (parts.address.value & hostMask) return `${text} has host bits set (the network is ${formatSubnet(subnet)})`;
  return subnet;
}

function isKeySegment(text: string): boolean {
  if (text.includes('/')) return false;
  try {
    checkStoreKey(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses one pool at `path`.
 * @throws CniError code 7 naming the field.
 */
export function parsePool(value: unknown, path: FieldPath): IpPool {
  const record = expectObject(value, path);
  const cidrPath = [...path, 'cidr'];
  if (record['cidr'] === undefined || record['cidr'] === '') throw fieldError(cidrPath, 'missing');
  const cidr = parseNetwork(expectString(record['cidr'], cidrPath));
  if (typeof cidr === 'string') throw fieldError(cidrPath, cidr);
  const family = cidr.network.family;
  const limits = BLOCK_SIZE[family];
  const sizePath = [...path, 'blockSize'];
  let blockSize: number = limits.default;
  if (record['blockSize'] !== undefined) {
    const size = record['blockSize'];
    if (typeof size !== 'number' || !Number.isInteger(size)) throw fieldError(sizePath, `must be an integer (got ${JSON.stringify(size)})`);
    if (size < limits.min || size > limits.max) {
      throw fieldError(sizePath, `${size} is out of range for an ${familyName(family)} pool (${limits.min} to ${limits.max})`);
    }
    blockSize = size;
  }
  if (blockSize < cidr.prefixLength) {
    throw fieldError(sizePath, `a /${blockSize} block is larger than the pool ${formatSubnet(cidr)}`);
  }
  const namePath = [...path, 'name'];
  const name = record['name'] === undefined ? formatSubnet(cidr).replace('/', '-') : expectString(record['name'], namePath);
  if (!isKeySegment(name)) throw fieldError(namePath, `invalid pool name ${JSON.stringify(name)} (no "/", not empty, "." or "..")`);
  let nodeSelector = ALL_NODES;
  if (record['nodeSelector'] !== undefined) {
    const selectorPath = [...path, 'nodeSelector'];
    const parsed = parseNodeSelector(expectString(record['nodeSelector'], selectorPath));
    if (typeof parsed === 'string') throw fieldError(selectorPath, parsed);
    nodeSelector = parsed;
  }
  const disabled = record['disabled'] === undefined ? false : expectBoolean(record['disabled'], [...path, 'disabled']);
  return { name, cidr, family, blockSize, nodeSelector, disabled };
}

function nonNegativeInteger(record: Readonly<Record<string, unknown>>, key: string, path: FieldPath, fallback: number): number {
  const value = record[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw fieldError([...path, key], `must be a non-negative integer (got ${JSON.stringify(value)})`);
  }
  return value;
}

/**
 * Parses the pool allocator's section of a network configuration (the `ipam` object):
 * `{ pools: [{ name?, cidr, blockSize?, nodeSelector?, disabled? }], strictAffinity?,
 * maxBlocksPerHost?, reserved?: [ip or CIDR], releaseCooldownSeconds? }`.
 * @throws CniError code 7 naming the field: a missing or empty `pools`, an invalid CIDR,
 * a block size out of range or larger than its pool, pools that overlap or share a
 * name, a selector outside the supported subset, a bad reservation or number.
 */
export function parsePoolIpamConfig(value: unknown, options: ParsePoolIpamOptions): PoolIpamConfig {
  const path = options.path ?? ['ipam'];
  if (!isKeySegment(options.network)) throw fieldError(['name'], `invalid network name ${JSON.stringify(options.network)} for the pool allocator`);
  const record = expectObject(value, path);
  const poolsPath = [...path, 'pools'];
  if (record['pools'] === undefined) throw fieldError(poolsPath, 'missing');
  const list = expectArray(record['pools'], poolsPath);
  if (list.length === 0) throw fieldError(poolsPath, 'must name at least one pool');
  const pools = list.map((pool, i) => parsePool(pool, [...poolsPath, i]));
  pools.forEach((pool, j) => {
    for (let i = 0; i < j; i++) {
      const earlier = pools[i];
      if (earlier === undefined) continue;
      if (earlier.name === pool.name) throw fieldError([...poolsPath, j, 'name'], `duplicate pool name ${JSON.stringify(pool.name)} (also pools[${i}])`);
      if (subnetsOverlap(earlier.cidr, pool.cidr)) {
        throw fieldError(
          [...poolsPath, j, 'cidr'],
          `${formatSubnet(pool.cidr)} overlaps pools[${i}] ${JSON.stringify(earlier.name)} (${formatSubnet(earlier.cidr)})`,
        );
      }
    }
  });
  const strictAffinity = record['strictAffinity'] === undefined ? false : expectBoolean(record['strictAffinity'], [...path, 'strictAffinity']);
  const maxBlocksPerHost = nonNegativeInteger(record, 'maxBlocksPerHost', path, 0);
  const cooldownSeconds = record['releaseCooldownSeconds'];
  let releaseCooldownMs = DEFAULT_RELEASE_COOLDOWN_MS;
  if (cooldownSeconds !== undefined) {
    if (typeof cooldownSeconds !== 'number' || !Number.isFinite(cooldownSeconds) || cooldownSeconds < 0) {
      throw fieldError([...path, 'releaseCooldownSeconds'], `must be a non-negative number (got ${JSON.stringify(cooldownSeconds)})`);
    }
    releaseCooldownMs = Math.round(cooldownSeconds * 1000);
  }
  const reservedPath = [...path, 'reserved'];
  const reserved = record['reserved'] === undefined ? [] : expectArray(record['reserved'], reservedPath).map((item, i) => {
    const text = expectString(item, [...reservedPath, i]);
    // A bare address is a one-address reservation.
    const cidrText = text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`;
    const subnet = parseNetwork(cidrText);
    if (typeof subnet === 'string') throw fieldError([...reservedPath, i], subnet === `invalid CIDR ${JSON.stringify(cidrText)}` ? `invalid IP address or CIDR ${JSON.stringify(text)}` : subnet);
    return subnet;
  });
  return { network: options.network, pools, strictAffinity, maxBlocksPerHost, reserved, releaseCooldownMs };
}

/**
 * Pairs of pools that share addresses, by index: empty for a validated configuration,
 * used by `check()` to compare this configuration's pools with other networks' pools
 * that share the store.
 */
export function overlappingPools(pools: readonly IpPool[]): readonly (readonly [IpPool, IpPool])[] {
  const pairs: (readonly [IpPool, IpPool])[] = [];
  pools.forEach((b, j) => {
    for (const a of pools.slice(0, j)) if (a.name !== b.name && subnetsOverlap(a.cidr, b.cidr)) pairs.push([a, b]);
  });
  return pairs;
}
