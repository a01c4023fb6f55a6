// The nftables policy dataplane: one `inet twill` table programmed with atomic
// `nft -f -` transactions from the policy engine's diffs.

import { performance } from 'node:perf_hooks';

import { NFT_FAMILY, NFT_TABLE } from '@twill/policy-engine';

import { type Dataplane } from '../port.js';
import { NftablesDataplane } from './driver.js';
import { readKernelTable } from './read-back.js';
import { createNftPort, type NftPort } from './sys/nft.js';

export { NftablesDataplane, compareWithKernel } from './driver.js';
export { NFTABLES_ERROR_CODE, NftablesDataplaneError, type NftablesErrorCode } from './errors.js';
export { readKernelTable, type KernelTable } from './read-back.js';
export { createNftPort, type NftPort } from './sys/nft.js';

/** Options of {@link createNftablesDataplane}. */
export interface NftablesDataplaneOptions {
  /** The named network namespace to program (as `ip netns`); the current one when absent. */
  readonly netns?: string;
  /** The nflog group of Log rules (`log group N`); 1 when absent. */
  readonly logGroup?: number;
  /** Another way to run `nft` (tests); the `nft` program when absent. */
  readonly nft?: NftPort;
}

/**
 * The nftables dataplane. Reads the existing `inet twill` table, if any, and leaves it
 * enforcing until the first `apply`, which must carry the full state
 * (`PolicyIndex.allEffectiveRules()` as `changed`, every attached endpoint and the
 * ipcache): that apply rewrites every chain and set in place in one transaction.
 * Needs root (CAP_NET_ADMIN) and `nft` (nftables 1.0 or later; kernel 5.7 or later for
 * concatenated interval sets).
 * @throws {NftablesDataplaneError} when the existing table cannot be read.
 */
export async function createNftablesDataplane(options: NftablesDataplaneOptions = {}): Promise<Dataplane> {
  const nft = options.nft ?? createNftPort(options.netns === undefined ? {} : { netns: options.netns });
  const adopted = readKernelTable(await nft.listTable(NFT_FAMILY, NFT_TABLE));
  return new NftablesDataplane({ nft, adopted, logGroup: options.logGroup ?? 1, now: () => performance.now() });
}
