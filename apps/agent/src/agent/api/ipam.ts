// `/v1/ipam`: the pools the plugin allocates from (the agent's configured pools on the
// datastore's store), their blocks, one address's story, the consistency check, and
// releasing an allocation by handle or by an address it holds.
import { decodeBlock, DEFAULT_POOL_ROOT, poolKeys } from '@twill/ipam';
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
      throw new ApiError('NotFound', `${status.ip} is leaked: block ${status.block} gives it to handle ${status.handle}, which does not hold it; the CNI GC of its network frees it`);
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

/** The routes of `/v1/ipam`. */
export const IPAM_ROUTES: readonly ApiRoute<ApiSource>[] = [
  { method: 'GET', path: '/v1/ipam', query: ['blocks', 'ip'], answer: show },
  { method: 'GET', path: '/v1/ipam/check', query: [], answer: check },
  { method: 'GET', path: '/v1/ipam/why', query: ['ip'], answer: why },
  { method: 'POST', path: '/v1/ipam/release', query: [], answer: release },
];
