// Endpoint parts → the table model; the address → identity map → each identity's
// addresses and the cluster sets.

import { RESERVED_IDENTITY, type NumericIdentity } from '../../identity/reserved.js';
import { type EndpointNft, type NftTableModel, type NftSet } from './model.js';
import { NFT_BASE } from './names.js';
import { addressRange, formatRange, unionRanges } from './ranges.js';

/** One attached endpoint's part of the table: its chains and sets, and its host-side interface. */
export interface AttachedEndpointNft {
  /** The host-side interface of its veth (the verdict maps' key). */
  readonly hostInterface: string;
  /** Its compiled chains and sets. */
  readonly nft: EndpointNft;
  /** Its addresses (without prefix length): what the redirected connections' check looks them up by. */
  readonly addresses?: readonly string[];
}

/**
 * Each identity's addresses, from the ipcache entries (prefix → identity) and the host
 * endpoints' addresses, which stand for both `host` and `remote-node` (the driver does
 * not know which node is which).
 */
export function identityAddresses(ipcache: ReadonlyMap<string, NumericIdentity>, hostAddresses: readonly string[]): Map<NumericIdentity, string[]> {
  const out = new Map<NumericIdentity, string[]>();
  for (const [prefix, identity] of ipcache) {
    const list = out.get(identity);
    if (list === undefined) out.set(identity, [prefix]);
    else list.push(prefix);
  }
  if (hostAddresses.length > 0) {
    out.set(RESERVED_IDENTITY.HOST, [...hostAddresses]);
    out.set(RESERVED_IDENTITY.REMOTE_NODE, [...hostAddresses]);
  }
  for (const list of out.values()) list.sort();
  return out;
}

function clusterSet(addresses: readonly string[], family: 4 | 6): NftSet {
  const ranges = unionRanges(addresses.flatMap((a) => {
    const r = addressRange(a);
    return r !== undefined && r.family === family ? [r] : [];
  }));
  return { type: family === 4 ? 'ipv4_addr' : 'ipv6_addr', interval: true, elements: ranges.map(formatRange).sort() };
}

// The cluster sets of an address list, kept while the caller keeps passing the same list
// object: building them is proportional to every address of the cluster, and an
// unchanged set object is skipped by renderDelta without comparing its elements.
const clusterSets = new WeakMap<readonly string[], readonly [NftSet, NftSet]>();

/**
 * The table model of the attached endpoints: their chains and sets, the verdict map
 * elements, and the cluster sets (every address of `clusterAddresses`, what `world`
 * peers are tested against). Pass the same `clusterAddresses` array (not mutated) while
 * the addresses do not change: its cluster sets are then built once and reused.
 * @param options.flowtable - put every attached endpoint's host-side interface in the
 *   `ft_endpoints` flowtable, so established flows between two of them are offloaded
 *   (needs a kernel with CONFIG_NF_FLOW_TABLE); absent or false: no flowtable.
 * @param options.redirectedMatch - what marks a connection the L7 redirect hands to the
 *   local proxy (see `l7RedirectedMatch`): such connections are checked against
 *   their destination's ingress chain (by the endpoints' `addresses`) in the input hook.
 */
export function buildTableModel(endpoints: Iterable<AttachedEndpointNft>, clusterAddresses: readonly string[], options: { readonly flowtable?: boolean; readonly redirectedMatch?: string } = {}): NftTableModel {
  const chains = new Map<string, readonly string[]>();
  let cluster = clusterSets.get(clusterAddresses);
  if (cluster === undefined) {
    cluster = [clusterSet(clusterAddresses, 4), clusterSet(clusterAddresses, 6)];
    clusterSets.set(clusterAddresses, cluster);
  }
  const sets = new Map<string, NftSet>([
    [NFT_BASE.CLUSTER_V4, cluster[0]],
    [NFT_BASE.CLUSTER_V6, cluster[1]],
  ]);
  const ingress = new Map<string, string>();
  const egress = new Map<string, string>();
  const v4 = new Map<string, string>();
  const v6 = new Map<string, string>();
  for (const { hostInterface, nft, addresses } of endpoints) {
    for (const [name, rules] of nft.chains) chains.set(name, rules);
    for (const [name, set] of nft.sets) sets.set(name, set);
    ingress.set(hostInterface, nft.entry.ingress);
    egress.set(hostInterface, nft.entry.egress);
    if (options.redirectedMatch === undefined) continue;
    for (const address of addresses ?? []) {
      const range = addressRange(address);
      // Single addresses only: an endpoint's own addresses are never prefixes.
      if (range === undefined || address.includes('/')) continue;
      (range.family === 4 ? v4 : v6).set(address, nft.entry.ingress);
    }
  }
  return {
    chains,
    sets,
    ingress,
    egress,
    ...(options.flowtable === true ? { flowtable: new Set(ingress.keys()) } : {}),
    ...(options.redirectedMatch === undefined ? {} : { redirected: { match: options.redirectedMatch, v4, v6 } }),
  };
}
