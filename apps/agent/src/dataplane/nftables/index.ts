// The nftables policy dataplane: one `inet twill` table programmed with atomic
// `nft -f -` transactions from the policy engine's diffs.

import { performance } from 'node:perf_hooks';

import { NFT_FAMILY, NFT_TABLE } from '@twill/policy-engine';

import { type Dataplane } from '../port.js';
import { NftablesDataplane } from './driver.js';
import { readKernelTable } from './read-back.js';
import { createNftPort, type NftPort } from './sys/nft.js';
import { createSysctlPort } from './sys/sysctl.js';

export { CONNTRACK_CHECKSUM_SYSCTL, NftablesDataplane, compareWithKernel } from './driver.js';
export { NFTABLES_ERROR_CODE, NftablesDataplaneError, type NftablesErrorCode } from './errors.js';
export { readKernelTable, type KernelTable } from './read-back.js';
export { createNftPort, type NftPort } from './sys/nft.js';
export { createSysctlPort, type SysctlPort } from './sys/sysctl.js';

/** Options of {@link createNftablesDataplane}. */
export interface NftablesDataplaneOptions {
  /** The named network namespace to program (as `ip netns`); the current one when absent. */
  readonly netns?: string;
  /** The nflog group of Log rules (`log group N`); 1 when absent. */
  readonly logGroup?: number;
  /** Another way to run `nft` (tests); the `nft` program when absent. */
  readonly nft?: NftPort;
  /**
   * Whether conntrack verifies the TCP/UDP checksum of every packet it tracks
   * (`net.netfilter.nf_conntrack_checksum` of the namespace; the kernel's default is to
   * verify). `false`: the driver turns verification off after its first apply and puts
   * the previous setting back at `cleanup()`. Where senders leave checksums to offload
   * (veths with tx checksumming on, the default) conntrack skips them anyway; with
   * offloads off it sums every byte of every forwarded packet once more, the largest
   * per-packet cost of this dataplane at any number of rules (BENCHMARKS.md, dataplane),
   * and the receiving pod verifies the checksum anyway. Packets with a bad checksum are
   * then tracked instead of being `invalid`. Absent or `true`: the setting is left as it is.
   */
  readonly conntrackChecksums?: boolean;
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
  return new NftablesDataplane({
    nft,
    adopted,
    logGroup: options.logGroup ?? 1,
    now: () => performance.now(),
    ...(options.conntrackChecksums === false ? { skipConntrackChecksums: createSysctlPort(options.netns === undefined ? {} : { netns: options.netns }) } : {}),
  });
}
