// The eBPF policy dataplane: tcx programs on each endpoint's host-side veth reading
// pinned maps that the policy engine's diffs keep up to date (see driver.ts and
// apps/agent/bpf/policy.bpf.c).

import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

import { type L7Mark } from '@twill/policy-engine';

import { EbpfDataplane } from './driver.js';
import { encodeL7Value } from './layout.js';
import { openEbpfKernel } from './sys/kernel.js';

export { EbpfDataplane, type EbpfDataplaneParts } from './driver.js';
export { FLOW_EVENT, FLOW_EVENT_SIZE, FlowEventDecoder, type EbpfFlowEvent, type FlowEventContext } from './flow-event.js';
export { EBPF_LOST_SOURCE, EbpfFlowReader } from './flow-reader.js';
export { EBPF_DATAPLANE_ERROR_CODE, EbpfDataplaneError, type EbpfDataplaneErrorCode } from './errors.js';
export { openEbpfKernel, type EbpfKernelOptions, type EbpfKernelPort, type FlowRingPort, type PinnedLink, type TcxHook } from './sys/kernel.js';

/** Where the maps and links are pinned unless told otherwise. */
export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/twill';

/** The object `npm run build:bpf` builds (apps/agent/build/bpf), from src/ or dist/ alike. */
export const DEFAULT_OBJECT_PATH = fileURLToPath(new URL('../../../build/bpf/policy.bpf.o', import.meta.url));

/** Options of {@link createEbpfDataplane}. */
export interface EbpfDataplaneOptions {
  /** The named network namespace whose interfaces to attach to (as `ip netns`); the current one when absent. */
  readonly netns?: string;
  /** The bpffs folder for the pinned maps and links; {@link DEFAULT_PIN_ROOT} when absent. bpffs must be mounted above it. */
  readonly pinRoot?: string;
  /** The compiled object; {@link DEFAULT_OBJECT_PATH} when absent. */
  readonly objectPath?: string;
  /**
   * The firewall marks of traffic that went through the L7 proxy (the redirect's mark on
   * the client's packets, and the one the proxy's upstream sockets carry; at most 4
   * values): an Allow with L7 rules then admits a new connection into the pod only when
   * its packets carry one of them (`skb->mark & mask`), and drops it otherwise as a
   * policy drop of that rule (flow event reason `not-proxied`), so with the redirect
   * missing protected traffic is denied rather than let through. Out of the pod such an
   * Allow stays a plain allow: the tc hook there runs before the redirect marks anything.
   * Written to a pinned map at every start (no reload needed for a new mark). Absent: an
   * Allow with L7 rules is a plain allow.
   */
  readonly l7Mark?: L7Mark;
}

/**
 * The eBPF dataplane (the port's `Dataplane`). Loads the object, reusing the maps pinned under `pinRoot` (a
 * previous process's state keeps enforcing: its links stay attached), and adopts the
 * pinned links. Pinned maps of another size or layout (another version's) are created
 * anew beside their pins while the old programs keep them; the first full apply fills the
 * new maps, moves the links to this load's programs and the new pins into place (see
 * `status().upgrade`). The first `apply` with attachments must carry the full state
 * (`PolicyIndex.allEffectiveRules()` as `changed`, `ipIdentities()` in the ipcache, every
 * attached endpoint); it removes whatever no attached endpoint claims.
 * Needs root (CAP_BPF and CAP_NET_ADMIN), Linux 6.6 for tcx links, bpffs mounted at or
 * above `pinRoot`.
 * @throws {EbpfDataplaneError} `no-object` when the object is not built, `load-failed`
 *   when the kernel refuses it (a program the verifier rejects, a map type it lacks).
 * @throws {RangeError} for a bad `l7Mark` (naming `l7Mark.mask`, `l7Mark.values` or
 *   `l7Mark.values[i]`), before anything is loaded.
 */
export async function createEbpfDataplane(options: EbpfDataplaneOptions = {}): Promise<EbpfDataplane> {
  encodeL7Value(options.l7Mark);
  const kernel = openEbpfKernel({
    objectPath: options.objectPath ?? DEFAULT_OBJECT_PATH,
    pinRoot: options.pinRoot ?? DEFAULT_PIN_ROOT,
    ...(options.netns === undefined ? {} : { netns: options.netns }),
  });
  return new EbpfDataplane({ kernel, now: () => performance.now(), ...(options.l7Mark === undefined ? {} : { l7Mark: options.l7Mark }) });
}
