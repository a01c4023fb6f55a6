// `/v1/bgp`: the BGP controller's peers and the paths its speaker holds. With routing
// other than `bgp` there is no controller: 503 saying so.
import ipaddr from 'ipaddr.js';

import { type ApiAnswer, type ApiRoute, jsonAnswer, type RouteCall } from './answer.js';
import { ApiError } from './errors.js';
import { type ApiBgpSource, type ApiSource } from './source.js';

type Call = RouteCall<ApiSource>;

function controller(source: ApiSource): ApiBgpSource {
  if ('unavailable' in source.bgp) throw new ApiError('Unavailable', source.bgp.unavailable);
  return source.bgp;
}

async function peers(call: Call): Promise<ApiAnswer> {
  return jsonAnswer(200, controller(call.source).status());
}

// A peer's address in any spelling, or `local` (the routes this node originates).
function peerOf(value: string | undefined): string | undefined {
  if (value === undefined || value === 'local') return value;
  const valid = value.includes(':') ? ipaddr.IPv6.isValid(value) : ipaddr.IPv4.isValidFourPartDecimal(value);
  if (!valid) throw new ApiError('BadRequest', `peer: ${JSON.stringify(value)} is not a peer's IP address nor "local"`);
  return ipaddr.parse(value).toString();
}

// A CIDR, written with its network address (`10.0.0.0/8`; `10.1.2.3/8` is refused, as IPAM refuses it).
function prefixOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(value);
  } catch {
    throw new ApiError('BadRequest', `prefix: ${JSON.stringify(value)} is not a CIDR like 10.244.0.0/16 or fd00::/64`);
  }
  const [address, length] = parsed;
  const network = address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(value) : ipaddr.IPv6.networkAddressFromCIDR(value);
  if (network.toString() !== address.toString()) throw new ApiError('BadRequest', `prefix: ${value} has host bits set (the network is ${network.toString()}/${length})`);
  return `${network.toString()}/${length}`;
}

async function routes(call: Call): Promise<ApiAnswer> {
  const peer = peerOf(call.query.text('peer'));
  const prefix = prefixOf(call.query.text('prefix'));
  const bgp = controller(call.source);
  return jsonAnswer(200, { routes: bgp.routes({ ...(peer === undefined ? {} : { peer }), ...(prefix === undefined ? {} : { prefix }) }) });
}

/** The routes of `/v1/bgp`. */
export const BGP_ROUTES: readonly ApiRoute<ApiSource>[] = [
  { method: 'GET', path: '/v1/bgp/peers', query: [], answer: peers },
  { method: 'GET', path: '/v1/bgp/routes', query: ['peer', 'prefix'], answer: routes },
];
