// The dataplane chosen by configuration (`dataplane: "nftables" | "ebpf"`).
import { createEbpfDataplane, type EbpfDataplaneOptions } from './ebpf/index.js';
import { createNftablesDataplane, type NftablesDataplaneOptions } from './nftables/index.js';
import { DATAPLANE_DRIVERS, type Dataplane, type DataplaneDriverName, LOG_RULES_GROUP } from './port.js';

/** Which driver, with that driver's options. */
export type DataplaneOptions =
  | ({ readonly driver: 'nftables' } & NftablesDataplaneOptions)
  | ({ readonly driver: 'ebpf' } & EbpfDataplaneOptions);

/** A configured dataplane name that is not one of {@link DATAPLANE_DRIVERS}. */
export class UnknownDataplaneError extends Error {
  readonly code = 'unknown-dataplane';
  constructor(readonly driver: string) {
    super(`unknown dataplane ${JSON.stringify(driver)}: one of ${DATAPLANE_DRIVERS.join(', ')}`);
    this.name = 'UnknownDataplaneError';
  }
}

/** Whether `name` (from a config file or a flag) names a driver. */
export function isDataplaneDriver(name: string): name is DataplaneDriverName {
  return (DATAPLANE_DRIVERS as readonly string[]).includes(name);
}

/**
 * The options of the agent's dataplane: with flows on, the nftables driver also logs
 * every drop to `flows.dropLogGroup` (what its `readFlows` reads deny events from); the
 * eBPF driver always writes its events. With the L7 proxy on, both drivers get the
 * proxy's marks (the redirect's and the proxy's upstream sockets'): an Allow with L7
 * rules admits only traffic carrying one, so L7-protected traffic that misses the proxy
 * is denied. The nftables driver checks at every hook; the eBPF programs check on the
 * way into the pod (out of the pod their hook runs before the redirect marks anything).
 */
export function agentDataplaneOptions(
  driver: DataplaneDriverName,
  flows: { readonly enabled: boolean; readonly dropLogGroup: number },
  l7?: { readonly enabled: boolean; readonly mark: number; readonly upstreamMark: number; readonly mask: number },
): DataplaneOptions {
  if (driver === 'nftables') {
    return {
      driver,
      logGroup: LOG_RULES_GROUP,
      ...(flows.enabled ? { dropLogGroup: flows.dropLogGroup } : {}),
      // The redirect's own mark also has redirected connections checked against their destination's ingress rules.
      ...(l7?.enabled === true ? { l7Mark: { mask: l7.mask, values: [l7.mark, l7.upstreamMark], redirect: l7.mark } } : {}),
    };
  }
  return { driver, ...(l7?.enabled === true ? { l7Mark: { mask: l7.mask, values: [l7.mark, l7.upstreamMark] } } : {}) };
}

/**
 * Creates the driver `options.driver` names; see `createNftablesDataplane` and
 * `createEbpfDataplane` for what each needs of the kernel and adopts from it.
 * @throws {UnknownDataplaneError} for another name (configuration read as JSON is not typed).
 */
export async function createDataplane(options: DataplaneOptions): Promise<Dataplane> {
  const driver: string = options.driver;
  if (options.driver === 'nftables') return createNftablesDataplane(options);
  if (options.driver === 'ebpf') return createEbpfDataplane(options);
  throw new UnknownDataplaneError(driver);
}
