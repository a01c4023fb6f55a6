// `nft -j list table inet twill` → what the table holds (libnftables-json(5)): chain
// names with their rule counts, sets with their type, flags and element count, the
// verdict maps' interface → chain elements, and the flowtables' devices. Used to adopt a table after a restart and
// to report drift.

import { NFT_BASE, type NftKernelState } from '@twill/policy-engine';

import { NFTABLES_ERROR_CODE, NftablesDataplaneError } from './errors.js';

/** The table as read back. */
export interface KernelTable extends NftKernelState {
  /** Rules per chain. */
  readonly rules: ReadonlyMap<string, number>;
  /** Elements per set. */
  readonly elements: ReadonlyMap<string, number>;
  /** The ingress verdict map: interface → chain. */
  readonly ingress: ReadonlyMap<string, string>;
  /** The egress verdict map: interface → chain. */
  readonly egress: ReadonlyMap<string, string>;
  /** Flowtables by name: the devices each holds (empty map: none). */
  readonly flowtables: ReadonlyMap<string, ReadonlySet<string>>;
}

/** A table with nothing in it (no table at all). */
export const EMPTY_KERNEL_TABLE: KernelTable = { chains: new Set(), sets: new Map(), rules: new Map(), elements: new Map(), ingress: new Map(), egress: new Map(), flowtables: new Map() };

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(what: string): NftablesDataplaneError {
  return new NftablesDataplaneError(NFTABLES_ERROR_CODE.BAD_LISTING, `nft -j listing: ${what}`);
}

// A verdict map element: ["tw1", {"jump": {"target": "chain"}}].
function mapElements(elements: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(elements)) return out;
  for (const element of elements) {
    if (!Array.isArray(element) || typeof element[0] !== 'string' || !isObject(element[1])) continue;
    const verdict = element[1].jump ?? element[1].goto;
    if (isObject(verdict) && typeof verdict.target === 'string') out.set(element[0], verdict.target);
  }
  return out;
}

/**
 * Reads a parsed `nft -j list table` document. `undefined` (no table) gives an empty table.
 * @throws {NftablesDataplaneError} `bad-listing` when the document is not nftables JSON.
 */
export function readKernelTable(listing: unknown): KernelTable {
  if (listing === undefined) return EMPTY_KERNEL_TABLE;
  if (!isObject(listing) || !Array.isArray(listing.nftables)) throw bad('no "nftables" array');
  const chains = new Set<string>();
  const sets = new Map<string, { type: string; interval: boolean }>();
  const rules = new Map<string, number>();
  const elements = new Map<string, number>();
  let ingress = new Map<string, string>();
  let egress = new Map<string, string>();
  const flowtables = new Map<string, ReadonlySet<string>>();
  for (const item of listing.nftables) {
    if (!isObject(item)) throw bad('an entry is not an object');
    if (isObject(item.chain) && typeof item.chain.name === 'string') chains.add(item.chain.name);
    else if (isObject(item.rule) && typeof item.rule.chain === 'string') rules.set(item.rule.chain, (rules.get(item.rule.chain) ?? 0) + 1);
    else if (isObject(item.set) && typeof item.set.name === 'string') {
      const { name, type, flags, elem } = item.set;
      const typeText = Array.isArray(type) ? type.join(' . ') : String(type);
      sets.set(name, { type: typeText, interval: Array.isArray(flags) && flags.includes('interval') });
      elements.set(name, Array.isArray(elem) ? elem.length : 0);
    } else if (isObject(item.map) && typeof item.map.name === 'string') {
      if (item.map.name === NFT_BASE.INGRESS_MAP) ingress = mapElements(item.map.elem);
      if (item.map.name === NFT_BASE.EGRESS_MAP) egress = mapElements(item.map.elem);
    } else if (isObject(item.flowtable) && typeof item.flowtable.name === 'string') {
      // `dev`: one name as a string, several as an array, absent when the flowtable has none.
      const { dev } = item.flowtable;
      flowtables.set(item.flowtable.name, new Set(typeof dev === 'string' ? [dev] : Array.isArray(dev) ? dev.filter((d): d is string => typeof d === 'string') : []));
    }
  }
  return { chains, sets, rules, elements, ingress, egress, flowtables };
}
