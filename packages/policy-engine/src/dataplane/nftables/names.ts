// Names in the `inet twill` table. Every name the generator makes is built from
// [a-z0-9_] only and always holds an underscore, so none can be an nft keyword
// (`fwd`, `forward`, `ip` ...) and none needs quoting; interface names are the one
// piece of outside text in a script and are validated and quoted.

import { NftablesNameError } from './errors.js';

/** The table every Twill rule lives in (family `inet`: IPv4 and IPv6 in one). */
export const NFT_TABLE = 'twill';

/** The table's family. */
export const NFT_FAMILY = 'inet';

/** The fixed objects of the table, created once and refilled on a full sync. */
export const NFT_BASE = {
  /** Verdict map: host-side interface → the endpoint's ingress chain (traffic leaving through it). */
  INGRESS_MAP: 'ep_ingress',
  /** Verdict map: host-side interface → the endpoint's egress chain (traffic entering from it). */
  EGRESS_MAP: 'ep_egress',
  /**
   * Verdict maps: an attached endpoint's IPv4 (IPv6) address → its ingress chain, for
   * connections the L7 redirect hands to the local proxy: the input hook checks them
   * against their destination's ingress rules, which they would otherwise never meet.
   */
  INGRESS_ADDR4_MAP: 'ep_ingress_addr4',
  /** See {@link NFT_BASE.INGRESS_ADDR4_MAP}. */
  INGRESS_ADDR6_MAP: 'ep_ingress_addr6',
  /** Base chain on the forward hook: pod to pod and pod to outside. */
  FORWARD: 'hook_forward',
  /** Base chain on the input hook: pod to this host (the pod's egress). */
  INPUT: 'hook_input',
  /** Base chain on the output hook: this host to a pod (the pod's ingress). */
  OUTPUT: 'hook_output',
  /**
   * Flowtable (software fast path) of the attached endpoints' host-side interfaces, when
   * the driver enables it: established flows between two of them skip the forward path.
   */
  FLOWTABLE: 'ft_endpoints',
  /** Every cluster address (workloads and hosts), IPv4: what `world` is not. */
  CLUSTER_V4: 'cluster_v4',
  /** Every cluster address, IPv6. */
  CLUSTER_V6: 'cluster_v6',
} as const;

// FNV-1a, 32 bits: a short stable suffix so that two keys that sanitise alike differ.
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * The stem of every chain and set of one endpoint: `ep_<sanitised key>_<hash>`, at most
 * 48 characters (nft allows 255). The same key always gives the same stem, on every host.
 */
export function endpointStem(key: string): string {
  const readable = key.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 30);
  return `ep_${readable}_${fnv1a(key)}`;
}

/** The 8 hex digits that end an endpoint's {@link endpointStem} (FNV-1a of its key): what drop rules' log prefixes name it by. */
export function endpointHash(key: string): string {
  return fnv1a(key);
}

/** The entry chain of an endpoint's direction (what its verdict map element jumps to). */
export function directionChain(key: string, direction: 'ingress' | 'egress'): string {
  return `${endpointStem(key)}_${direction === 'ingress' ? 'in' : 'out'}`;
}

/** The chain of one tier (by position) of an endpoint's direction. */
export function tierChain(key: string, direction: 'ingress' | 'egress', tierIndex: number): string {
  return `${directionChain(key, direction)}_t${tierIndex}`;
}

/** A named set used by one rule of a tier chain. */
export function ruleSet(chain: string, setIndex: number): string {
  return `${chain}_s${setIndex}`;
}

/** Linux interface names: 1 to 15 bytes (IFNAMSIZ - 1), no `/`, no whitespace, no quotes. */
const INTERFACE_NAME = /^[A-Za-z0-9_.:@+-]{1,15}$/;

/**
 * The interface name as an nft string literal (`"tw1a2b3c"`).
 * @throws {NftablesNameError} when `name` is not a valid Linux interface name.
 */
export function quoteInterface(name: string, path = 'hostInterface'): string {
  if (!INTERFACE_NAME.test(name)) {
    throw new NftablesNameError(path, `${JSON.stringify(name)} is not an interface name (1-15 of A-Z a-z 0-9 _ . : @ + -)`);
  }
  return `"${name}"`;
}
