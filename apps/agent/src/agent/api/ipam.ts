// `/v1/ipam`: the pools the plugin allocates from (the agent's configured pools on the
// datastore's store), their blocks, one address's story, the consistency check, and
// releasing an allocation by handle or by an address it holds.
import { decodeBlock, decodeHandle, DEFAULT_POOL_ROOT, encodeBlock, poolKeys, type StoreOp } from '@twill/ipam';
import ipaddr from 'ipaddr.js';

import { type ApiAnswer, type ApiRoute, isObject, jsonAnswer, type RouteCall } from './answer.js';
import { ApiError } from './errors.js';
import { type ApiSource } from './source.js';

type Call = RouteCall<ApiSource>;

/** One block of a pool, as `GET /v1/ipam?blocks=true` shows it. */
export interface BlockView {
  readonly cidr: string;
  /** The pool it was cut from. */
  readonly pool: string;
  /** The node holding its affinity; absent when no node does. */
  readonly affinity?: string;
  /** Addresses given to a handle. */
  readonly allocated: number;
  /** Addresses given to nobody (reserved and cooling-down ones included: see the pool's usage for those). */
  readonly free: number;
  /** Distinct handles holding its addresses. */
  readonly handles: number;
}

// The address of a query parameter or body field, checked before IPAM sees it.
function addressOf(value: string | undefined, where: string): string {
  if (value === undefined || value === '') throw new ApiError('BadRequest', `${where}: required (an IP address, like 10.244.0.5)`);
  const valid = value.includes(':') ? ipaddr.IPv6.isValid(value) : ipaddr.IPv4.isValidFourPartDecimal(value);
  if (!valid) throw new ApiError('BadRequest', `${where}: ${JSON.stringify(value)} is not an IP address`);
  return value;
}

async function blocks(source: ApiSource): Promise<BlockView[]> {
  const { blocksPrefix } = poolKeys(source.poolRoot ?? DEFAULT_POOL_ROOT);
  const views: BlockView[] = [];
  for (const entry of await source.datastore.store.list(blocksPrefix)) {
    let block;
    try {
      block = decodeBlock(entry.value);
    } catch {
      // `GET /v1/ipam/check` reports a corrupt document (corrupt-document); it has no counts.
      continue;
    }
    const held = block.allocations.filter((h): h is string => h !== null);
    views.push({
      cidr: block.cidr,
      pool: block.pool,
      ...(block.affinity === null ? {} : { affinity: block.affinity }),
      allocated: held.length,
      free: block.allocations.length - held.length,
      handles: new Set(held).size,
    });
  }
  return views;
}

async function show(call: Call): Promise<ApiAnswer> {
  const withBlocks = call.query.flag('blocks');
  const ip = call.query.text('ip');
  const address = ip === undefined ? undefined : addressOf(ip, 'ip');
  const { pools } = call.source;
  return jsonAnswer(200, {
    pools: await pools.usage(),
    ...(withBlocks ? { blocks: await blocks(call.source) } : {}),
    ...(address === undefined ? {} : { address: await pools.whyHeld(address) }),
  });
}

async function check(call: Call): Promise<ApiAnswer> {
  return jsonAnswer(200, await call.source.pools.check());
}

async function why(call: Call): Promise<ApiAnswer> {
  return jsonAnswer(200, await call.source.pools.whyHeld(addressOf(call.query.text('ip'), 'ip')));
}

// `{"ip": IP}` or `{"handle": H}`, exactly one.
function releaseTarget(body: unknown): { ip: string } | { handle: string } {
  const shape = 'the body is {"ip": "IP"} or {"handle": "HANDLE"}';
  if (!isObject(body)) throw new ApiError('BadRequest', shape);
  for (const key of Object.keys(body)) if (key !== 'ip' && key !== 'handle') throw new ApiError('BadRequest', `unknown body field "${key}": ${shape}`);
  const { ip, handle } = body;
  if (ip !== undefined && handle !== undefined) throw new ApiError('BadRequest', `give "ip" or "handle", not both: ${shape}`);
  if (handle !== undefined) {
    if (typeof handle !== 'string' || handle === '') throw new ApiError('BadRequest', `handle: must be a non-empty string (a handle is <network>.<containerID>)`);
    return { handle };
  }
  if (ip === undefined) throw new ApiError('BadRequest', shape);
  if (typeof ip !== 'string') throw new ApiError('BadRequest', `ip: must be a string, like "10.244.0.5"`);
  return { ip: addressOf(ip, 'ip') };
}

async function release(call: Call): Promise<ApiAnswer> {
  const target = releaseTarget(call.json());
  const { pools } = call.source;
  if ('handle' in target) {
    const released = await pools.releaseHandle(target.handle);
    if (released.length === 0) throw new ApiError('NotFound', `handle ${JSON.stringify(target.handle)} holds no address`);
    return jsonAnswer(200, { released });
  }
  const status = await pools.whyHeld(target.ip);
  switch (status.state) {
    case 'allocated': {
      // An allocation is released whole: both families of a dual-stack pod go together.
      const released = await pools.releaseHandle(status.handle);
      if (released.length === 0) throw new ApiError('NotFound', `${status.ip} was released meanwhile (handle ${status.handle})`);
      return jsonAnswer(200, { released });
    }
    case 'leaked':
      return jsonAnswer(200, { released: await releaseLeaked(call.source, status) });
    case 'outside-pools':
      throw new ApiError('NotFound', `${status.ip} is in none of the pools`);
    case 'reserved':
      throw new ApiError('NotFound', `${status.ip} is not allocated: reserved (${status.reservation}) in pool ${status.pool}`);
    case 'cooling':
      throw new ApiError('NotFound', `${status.ip} is not allocated: released at ${status.releasedAt}, reusable at ${status.reusableAt}`);
    default:
      throw new ApiError('NotFound', `${status.ip} is not allocated (free in pool ${status.pool})`);
  }
}

// The ordinal of `ip` in the block `cidr` (both of one family, the block holding it).
function ordinalIn(cidr: string, ip: string): number {
  const [network = ''] = cidr.split('/');
  const value = (text: string): bigint => ipaddr.parse(text).toByteArray().reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
  return Number(value(ip) - value(network));
}

/**
 * Frees a leaked address (its block gives it to a handle that does not hold it), as
 * `calicoctl ipam release --ip` does: the block's slot is emptied and the address cools
 * down like any released one. Compare-and-swap: the commit holds only if neither the
 * block nor the handle changed since they were read as leaked; otherwise 409 (read again).
 */
async function releaseLeaked(source: ApiSource, status: { readonly ip: string; readonly block: string; readonly handle: string }): Promise<string[]> {
  const keys = poolKeys(source.poolRoot ?? DEFAULT_POOL_ROOT);
  const { store } = source.datastore;
  const [blockEntry, handleEntry] = await Promise.all([store.get(keys.block(status.block)), store.get(keys.handle(status.handle))]);
  const block = blockEntry === undefined ? undefined : decodeBlock(blockEntry.value);
  const ordinal = ordinalIn(status.block, status.ip);
  let handleHolds = false;
  try {
    handleHolds = handleEntry !== undefined && decodeHandle(handleEntry.value).addresses.some((a) => a.ip === status.ip);
  } catch {
    // A handle document that cannot be read holds nothing (ipam check reports it).
  }
  if (blockEntry === undefined || block === undefined || block.allocations[ordinal] !== status.handle || handleHolds) {
    throw new ApiError('Conflict', `${status.ip} is no longer leaked (its block or handle changed meanwhile): ask again`);
  }
  const allocations = block.allocations.map((h, i) => (i === ordinal ? null : h));
  const released = [...block.released.filter(([o]) => o !== ordinal), [ordinal, Date.now()] as const].sort(([a], [b]) => a - b);
  const ops: StoreOp[] = [
    { type: 'put', key: blockEntry.key, value: encodeBlock({ ...block, allocations, released }), expect: { revision: blockEntry.revision } },
    // The handle's condition only: absent still, or unchanged (rewritten as it is).
    handleEntry === undefined
      ? { type: 'delete', key: keys.handle(status.handle), expect: { absent: true } }
      : { type: 'put', key: handleEntry.key, value: handleEntry.value, expect: { revision: handleEntry.revision } },
  ];
  const outcome = await store.commit(ops);
  if (!outcome.ok) throw new ApiError('Conflict', `${status.ip} changed while it was being released (${outcome.conflicts.join(', ')}): ask again`);
  return [status.ip];
}

/** The routes of `/v1/ipam`. */
export const IPAM_ROUTES: readonly ApiRoute<ApiSource>[] = [
  { method: 'GET', path: '/v1/ipam', query: ['blocks', 'ip'], answer: show },
  { method: 'GET', path: '/v1/ipam/check', query: [], answer: check },
  { method: 'GET', path: '/v1/ipam/why', query: ['ip'], answer: why },
  { method: 'POST', path: '/v1/ipam/release', query: [], answer: release },
];
