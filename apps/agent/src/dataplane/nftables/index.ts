// The nftables policy dataplane: one `inet twill` table programmed with atomic
// `nft -f -` transactions from the policy engine's diffs.

import { performance } from 'node:perf_hooks';

import { type L7Mark, NFT_FAMILY, NFT_TABLE } from '@twill/policy-engine';

import { NftablesDataplane } from './driver.js';
import { readKernelTable } from './read-back.js';
import { readConntrackEventsSetting } from './sys/conntrack-sysctl.js';
import { resolveIfindexes } from './sys/links.js';
import { netfilterSocketOpener } from './sys/netfilter-socket.js';
import { createNftPort, type NftPort } from './sys/nft.js';

export { NftablesDataplane, compareWithKernel, type NftablesDataplaneStatus, type NftablesDriverOptions, type NftablesFlowPorts, type NftablesFlowtableStatus } from './driver.js';
export { FlowEndpoints } from './flows/endpoints.js';
export { startFlowReader, type FlowReaderOptions, type NftablesFlowReader, type NetfilterSocket, type NetfilterSocketEvents, type OpenNetfilterSocket } from './flows/reader.js';
export { NFTABLES_ERROR_CODE, NftablesDataplaneError, type NftablesErrorCode } from './errors.js';
export { EMPTY_KERNEL_TABLE, readKernelTable, type KernelTable } from './read-back.js';
export { createNftPort, type NftPort } from './sys/nft.js';

// A flowtable in a table that check mode never commits: refused (ENOENT) by a kernel without CONFIG_NF_FLOW_TABLE.
const FLOWTABLE_PROBE = `add table ${NFT_FAMILY} twill_probe\nadd flowtable ${NFT_FAMILY} twill_probe ft_probe { hook ingress priority filter; }\n`;

/** Why the kernel refuses flowtables, or undefined when it takes them. */
async function flowtableRefusal(nft: NftPort): Promise<string | undefined> {
  try {
    await nft.check(FLOWTABLE_PROBE);
    return undefined;
  } catch (error) {
    return `the kernel refused a flowtable (built without CONFIG_NF_FLOW_TABLE?): ${(error as Error).message.split('\n')[0] ?? ''}`;
  }
}

/** Options of {@link createNftablesDataplane}. */
export interface NftablesDataplaneOptions {
  /** The named network namespace to program (as `ip netns`); the current one when absent. */
  readonly netns?: string;
  /** The nflog group of Log rules (`log group N`); 1 when absent. */
  readonly logGroup?: number;
  /**
   * The nflog group every drop also logs to (`counter log prefix "twill:…" group N drop`),
   * which `readFlows` reads deny events from; absent: drops do not log (and `readFlows`
   * gives allow events only). Another group than `logGroup` keeps Log rules' messages
   * out of the reader's way; one socket per namespace can bind a group.
   */
  readonly dropLogGroup?: number;
  /**
   * `SO_RCVBUF` of the flow readers' sockets, in bytes (the kernel doubles it; forced past net.core.rmem_max when the agent has CAP_NET_ADMIN, capped by it otherwise); when absent, each conntrack socket gets 4 MiB and the NFLOG socket the system default (net.core.rmem_default).
   */
  readonly flowRecvBufferSize?: number;
  /**
   * The flowtable fast path: established TCP and UDP flows between two attached endpoints
   * are offloaded to a software flowtable on their host-side interfaces (`ft_endpoints`),
   * so their packets skip routing, the netfilter hooks and conntrack's per-packet state
   * updates (and its TCP window checks: a packet that conntrack would call invalid is
   * forwarded). Established flows are accepted before any rule whether or not it is on,
   * and no Log rule or drop counter sees them, so verdicts do not change. Needs a kernel
   * with CONFIG_NF_FLOW_TABLE (probed at start; without it the driver runs without, and
   * `status().flowtable.reason` says why). Off when absent.
   */
  readonly flowtable?: boolean;
  /**
   * The mark of traffic through the agent's L7 proxy: an Allow with L7 rules allows only
   * packets carrying it (the redirect marks the client's packets, the proxy its own
   * connections), so L7-protected traffic that misses the proxy is denied. Absent: L7
   * rules allow at L3/L4.
   */
  readonly l7Mark?: L7Mark;
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
export async function createNftablesDataplane(options: NftablesDataplaneOptions = {}): Promise<NftablesDataplane> {
  const nft = options.nft ?? createNftPort(options.netns === undefined ? {} : { netns: options.netns });
  const adopted = readKernelTable(await nft.listTable(NFT_FAMILY, NFT_TABLE));
  const { netns, dropLogGroup, flowRecvBufferSize, l7Mark } = options;
  const flowtableUnavailable = options.flowtable === true ? await flowtableRefusal(nft) : undefined;
  return new NftablesDataplane({
    nft,
    adopted,
    ...(options.flowtable === true ? flowtableUnavailable === undefined ? { flowtable: true } : { flowtableUnavailable } : {}),
    existingInterfaces: async (names) => new Set((await resolveIfindexes(netns, names)).keys()),
    logGroup: options.logGroup ?? 1,
    ...(dropLogGroup === undefined ? {} : { dropLogGroup }),
    ...(l7Mark === undefined ? {} : { l7Mark }),
    flows: {
      open: netfilterSocketOpener(netns),
      resolveIfindexes: (names) => resolveIfindexes(netns, names),
      conntrackEventsSetting: () => readConntrackEventsSetting(netns),
      // The wall clock as the kernel's NFLOG timestamps are (performance's origin drifts from it when the clock is set).
      now: () => Date.now(),
      ...(flowRecvBufferSize === undefined ? {} : { recvBufferSize: flowRecvBufferSize }),
    },
    now: () => performance.now(),
  });
}
