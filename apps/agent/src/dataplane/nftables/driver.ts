// The nftables dataplane: keeps every endpoint's effective rules, the address →
// identity map and the attachments, compiles the attached endpoints with the policy
// engine's generator, and programs the difference as one `nft -f -` transaction.

import {
  buildTableModel,
  compileEndpointNft,
  failClosedEndpointNft,
  identityAddresses,
  l7RedirectedMatch,
  NFT_BASE,
  NFT_FAMILY,
  NFT_TABLE,
  renderDeleteTable,
  renderDelta,
  renderFullSync,
  type EndpointNft,
  type EndpointPolicy,
  type L7Mark,
  type NftTableModel,
  type NumericIdentity,
} from '@twill/policy-engine';

import {
  type ApplyReport,
  type Dataplane,
  type DataplaneChange,
  type DataplaneFlowHandler,
  type DataplaneFlowReader,
  type DataplaneStatus,
  type EndpointAttachment,
} from '../port.js';
import { NFTABLES_ERROR_CODE, NftablesDataplaneError } from './errors.js';
import { FlowEndpoints } from './flows/endpoints.js';
import { startFlowReader, type NftablesFlowReader, type OpenNetfilterSocket } from './flows/reader.js';
import { readKernelTable, type KernelTable } from './read-back.js';
import { type NftPort } from './sys/nft.js';

/** What `readFlows` needs of the kernel: the sockets, and the ifindexes of host-side interfaces. */
export interface NftablesFlowPorts {
  readonly open: OpenNetfilterSocket;
  /** The ifindex of each named interface that exists. @throws when the links cannot be listed. */
  readonly resolveIfindexes: (names: readonly string[]) => Promise<ReadonlyMap<string, number>>;
  /** The wall clock, in milliseconds since the epoch (fractional). */
  readonly now: () => number;
  /**
   * `SO_RCVBUF` of the flow readers' sockets, in bytes (the kernel doubles it; forced past net.core.rmem_max when the agent has CAP_NET_ADMIN, capped by it otherwise); when absent, each conntrack socket gets 4 MiB and the NFLOG socket the system default (net.core.rmem_default).
   */
  readonly recvBufferSize?: number;
  /** net.netfilter.nf_conntrack_events where the driver enforces (`undefined`: conntrack not loaded). */
  readonly conntrackEventsSetting?: () => string | undefined;
}

/** Options of the driver once its port is made. */
export interface NftablesDriverOptions {
  readonly nft: NftPort;
  /** The nflog group of Log rules. */
  readonly logGroup: number;
  /** The nflog group every drop also logs to (what `readFlows` reads); absent: drops do not log. */
  readonly dropLogGroup?: number;
  /** What `readFlows` reads through; absent: the driver has no `readFlows` reader to open. */
  readonly flows?: NftablesFlowPorts;
  /**
   * Offload established flows between attached endpoints to the `ft_endpoints` flowtable
   * of their host-side interfaces (the caller checked the kernel has flowtables,
   * CONFIG_NF_FLOW_TABLE); absent or false: no flowtable, and one the kernel holds goes.
   */
  readonly flowtable?: boolean;
  /**
   * Which of the named interfaces exist where the driver enforces (with `flowtable`: a
   * delta the kernel refused is tried again without deleting devices that are gone).
   */
  readonly existingInterfaces?: (names: readonly string[]) => Promise<ReadonlySet<string>>;
  /** Why a flowtable that was asked for is off (the kernel has none), for status(). */
  readonly flowtableUnavailable?: string;
  /**
   * The mark of traffic that went through the agent's L7 proxy: an Allow with L7 rules then
   * allows only the proxy's traffic (compileEndpointNft's `l7Mark`), so with the proxy or
   * its redirect missing such traffic is denied, not let through at L4. Absent: L7 rules
   * allow at L3/L4.
   */
  readonly l7Mark?: L7Mark;
  /** What the kernel held when the driver started (adopted, enforced until the first apply). */
  readonly adopted: KernelTable;
  /** A monotonic clock in milliseconds (for `durationMs`). */
  readonly now: () => number;
}

/** The flowtable fast path as {@link NftablesDataplane.status} reports it. */
export interface NftablesFlowtableStatus {
  /** Whether the driver programs the `ft_endpoints` flowtable and the rule that offloads into it. */
  readonly enabled: boolean;
  /** Whether the kernel's table holds the flowtable with every attached endpoint's interface. */
  readonly active: boolean;
  /** How many devices the kernel's flowtable holds (0 without one). */
  readonly devices: number;
  /** Why it is not enabled although asked for, or not active although enabled; absent otherwise. */
  readonly reason?: string;
}

/** The nftables driver's status: the port's, and the flowtable's. */
export interface NftablesDataplaneStatus extends DataplaneStatus {
  /** Whether established flows between attached endpoints are offloaded, and why not. */
  readonly flowtable: NftablesFlowtableStatus;
}

const keyOf = (ref: { readonly namespace?: string; readonly name: string }): string => (ref.namespace === undefined ? `host:${ref.name}` : `${ref.namespace}/${ref.name}`);

/** The driver; see {@link createNftablesDataplane}. */
export class NftablesDataplane implements Dataplane {
  readonly driver = 'nftables' as const;
  readonly #options: NftablesDriverOptions;
  readonly #rules = new Map<string, EndpointPolicy>();
  readonly #attached = new Map<string, EndpointAttachment>();
  readonly #ipcache = new Map<string, NumericIdentity>();
  readonly #hosts = new Map<string, readonly string[]>();
  readonly #compiled = new Map<string, EndpointNft>();
  /** Each identity's addresses, rebuilt only when some moved (compiled rule matches are kept per map). */
  #identities: ReadonlyMap<NumericIdentity, readonly string[]> | undefined;
  /** Every ipcache prefix and host address, rebuilt with {@link #identities}. */
  #clusterAddresses: readonly string[] | undefined;
  /** What the kernel holds since our last successful apply; undefined before the first. */
  #model: NftTableModel | undefined;
  /** What a full sync starts from: the adopted table, or the table read back after a refused delta. */
  #baseline: KernelTable;
  /** The attached endpoints as the flow readers see them (kept whether or not a reader runs). */
  readonly #flowEndpoints = new FlowEndpoints();
  /** The running flow reader, and where its lookup failures go. */
  #flowReader: { readonly reader: DataplaneFlowReader; readonly handler: DataplaneFlowHandler } | undefined;
  /** What marks a connection the L7 redirect hands to the proxy (checked against its destination's ingress rules in the input hook). */
  readonly #redirectedMatch: string | undefined;

  /** @throws {NftablesNameError} for a bad `l7Mark`. */
  constructor(options: NftablesDriverOptions) {
    this.#options = options;
    this.#baseline = options.adopted;
    const mark = options.l7Mark;
    this.#redirectedMatch = mark?.redirect === undefined ? undefined : l7RedirectedMatch(mark.mask, mark.redirect);
  }

  async apply(change: DataplaneChange): Promise<ApplyReport> {
    const started = this.#options.now();
    const moved = new Set<number>();
    const dirty = new Set<string>();
    const { policy } = change;
    for (const ref of policy.removed) {
      const key = keyOf(ref);
      this.#rules.delete(key);
      dirty.add(key);
      if (this.#hosts.delete(key)) moved.add(1).add(6);
    }
    for (const changed of policy.changed) {
      const { changed: _, ...rules } = changed;
      this.#rules.set(changed.key, rules);
      dirty.add(changed.key);
      if (changed.endpoint.namespace === undefined) {
        this.#hosts.set(changed.key, changed.addresses);
        moved.add(1).add(6);
      }
    }
    for (const prefix of policy.ipcache.removed) {
      const before = this.#ipcache.get(prefix);
      if (before !== undefined) moved.add(before);
      this.#ipcache.delete(prefix);
    }
    for (const { prefix, identity } of policy.ipcache.set) {
      const before = this.#ipcache.get(prefix);
      if (before !== undefined) moved.add(before);
      moved.add(identity);
      this.#ipcache.set(prefix, identity);
    }
    for (const key of change.detach ?? []) {
      this.#attached.delete(key);
      this.#compiled.delete(key);
      this.#flowEndpoints.detach(key);
    }
    for (const attachment of change.attach ?? []) {
      this.#attached.set(attachment.key, attachment);
      dirty.add(attachment.key);
      this.#flowEndpoints.attach(attachment.key, attachment.hostInterface, attachment.ifindex);
    }
    // Rules built from an identity whose addresses moved are built again.
    if (moved.size > 0) for (const [key, nft] of this.#compiled) if ([...nft.identities].some((id) => moved.has(id))) dirty.add(key);

    // Rebuilt only when addresses moved: the same array object lets the generator reuse
    // the cluster sets (no per-apply work proportional to every address of the cluster).
    if (this.#identities === undefined || this.#clusterAddresses === undefined || moved.size > 0) {
      const hostAddresses = [...this.#hosts.values()].flat();
      this.#identities = identityAddresses(this.#ipcache, hostAddresses);
      this.#clusterAddresses = [...this.#ipcache.keys(), ...hostAddresses];
    }
    const identities = this.#identities;
    let endpoints = 0;
    const { dropLogGroup, l7Mark } = this.#options;
    for (const key of dirty) {
      if (!this.#attached.has(key)) continue;
      const rules = this.#rules.get(key);
      // The flow readers learn the endpoint's addresses from its effective rules.
      this.#flowEndpoints.setAddresses(key, rules?.addresses ?? []);
      // Attached without known rules: everything dropped until they come (fail closed).
      // The previous compilation lets unchanged runs of rules cost nothing and changed ones their rules' elements.
      const previous = this.#compiled.get(key);
      this.#compiled.set(key, rules === undefined
        ? failClosedEndpointNft(key, dropLogGroup === undefined ? {} : { dropLogGroup })
        : compileEndpointNft(rules, {
          identities,
          logGroup: this.#options.logGroup,
          ...(dropLogGroup === undefined ? {} : { dropLogGroup }),
          ...(l7Mark === undefined ? {} : { l7Mark }),
          ...(previous === undefined ? {} : { previous }),
        }));
      endpoints += 1;
    }
    const next = buildTableModel(
      [...this.#attached.values()].flatMap((a) => {
        const nft = this.#compiled.get(a.key);
        return nft === undefined ? [] : [{ hostInterface: a.hostInterface, nft, addresses: this.#rules.get(a.key)?.addresses ?? [] }];
      }),
      this.#clusterAddresses,
      { flowtable: this.#options.flowtable === true, ...(this.#redirectedMatch === undefined ? {} : { redirectedMatch: this.#redirectedMatch }) },
    );
    const script = this.#model === undefined ? renderFullSync(next, this.#baseline) : renderDelta(this.#model, next);
    let applied = script;
    if (script !== '') {
      try {
        await this.#options.nft.apply(script);
      } catch (error) {
        if (this.#model === undefined) throw error;
        const retry = await this.#withoutVanishedDevices(this.#model, next);
        if (retry === undefined || !(await this.#options.nft.apply(retry).then(() => true, () => false))) {
          // A delta holds only what changed since our last apply; the kernel refuses it when
          // the table was changed behind the driver's back (an element deleted by hand). Make
          // the table exact from what it holds now, as after a restart; if that fails too,
          // the error stands and the next apply starts from a full sync again.
          this.#model = undefined;
          this.#baseline = readKernelTable(await this.#options.nft.listTable(NFT_FAMILY, NFT_TABLE));
          applied = renderFullSync(next, this.#baseline);
          await this.#options.nft.apply(applied);
        } else {
          applied = retry;
        }
      }
    }
    this.#model = next;
    if (this.#flowReader !== undefined && (change.attach?.length ?? 0) > 0) this.#resolveFlowIfindexes(this.#flowReader.handler);
    const operations = applied === '' ? 0 : applied.split('\n').length - 1;
    return { endpoints, operations, durationMs: this.#options.now() - started };
  }

  // A kernel before 6.16 drops a deleted interface from the flowtable itself, and then refuses
  // to delete it again: a detach after the pod's veth is gone (the usual order) would fail.
  // The delta again, without the devices that no longer exist; undefined when none vanished.
  async #withoutVanishedDevices(previous: NftTableModel, next: NftTableModel): Promise<string | undefined> {
    const { existingInterfaces } = this.#options;
    if (previous.flowtable === undefined || next.flowtable === undefined || existingInterfaces === undefined) return undefined;
    const leaving = [...previous.flowtable].filter((d) => !next.flowtable?.has(d));
    if (leaving.length === 0) return undefined;
    const existing = await existingInterfaces(leaving).catch(() => undefined);
    if (existing === undefined || leaving.every((d) => existing.has(d))) return undefined;
    return renderDelta({ ...previous, flowtable: new Set([...previous.flowtable].filter((d) => next.flowtable?.has(d) === true || existing.has(d))) }, next);
  }

  /** The programmed endpoints, drift against the kernel's table, and whether the flowtable fast path is in force. */
  async status(): Promise<NftablesDataplaneStatus> {
    const kernel = readKernelTable(await this.#options.nft.listTable(NFT_FAMILY, NFT_TABLE));
    const model = this.#model;
    const drift: string[] = [];
    if (model === undefined) {
      drift.push(kernel.chains.size === 0 ? 'nothing programmed yet' : 'adopted table not yet synchronised (no apply since start)');
    } else {
      drift.push(...compareWithKernel(model, kernel));
    }
    const endpoints = [...this.#attached.values()].map((a) => {
      const nft = this.#compiled.get(a.key);
      const programmed = model !== undefined && nft !== undefined && this.#rules.has(a.key)
        && kernel.ingress.get(a.hostInterface) === nft.entry.ingress && kernel.egress.get(a.hostInterface) === nft.entry.egress;
      return { key: a.key, hostInterface: a.hostInterface, programmed };
    });
    return { driver: 'nftables', endpoints, drift, flowtable: this.#flowtableStatus(model, kernel) };
  }

  #flowtableStatus(model: NftTableModel | undefined, kernel: KernelTable): NftablesFlowtableStatus {
    const held = kernel.flowtables.get(NFT_BASE.FLOWTABLE);
    const devices = held?.size ?? 0;
    const { flowtable, flowtableUnavailable } = this.#options;
    if (flowtable !== true) return { enabled: false, active: false, devices, ...(flowtableUnavailable === undefined ? {} : { reason: flowtableUnavailable }) };
    if (model === undefined) return { enabled: true, active: false, devices, reason: 'no apply since start' };
    const missing = [...model.flowtable ?? []].filter((d) => held?.has(d) !== true);
    if (held === undefined) return { enabled: true, active: false, devices, reason: `flowtable ${NFT_BASE.FLOWTABLE} is missing` };
    return missing.length === 0 ? { enabled: true, active: true, devices } : { enabled: true, active: false, devices, reason: `flowtable ${NFT_BASE.FLOWTABLE} lacks ${missing.join(', ')}` };
  }

  /**
   * Reads the kernel's verdicts: deny events from the NFLOG messages of the drop rules
   * (`dropLogGroup`; none without it) and allow events from conntrack's new-connection
   * events whose source or destination is an attached endpoint's address (as its
   * effective rules give them: an endpoint attached without known rules has none), one
   * per enforcement point on this node. Events name the endpoint; allow events carry no
   * rule (the agent evaluates them). Conntrack reports a connection once it is
   * confirmed, and only with `net.netfilter.nf_conntrack_events` 1 (or 2, the default
   * since Linux 6.0: on while someone listens) in the driver's namespace.
   * @throws {NftablesDataplaneError} `flow-read-failed` when a reader is open already or the driver was made without flow ports.
   */
  readFlows(handler: DataplaneFlowHandler): NftablesFlowReader {
    const ports = this.#options.flows;
    if (ports === undefined) throw new NftablesDataplaneError(NFTABLES_ERROR_CODE.FLOW_READ_FAILED, 'this nftables driver was made without flow sockets');
    if (this.#flowReader !== undefined) throw new NftablesDataplaneError(NFTABLES_ERROR_CODE.FLOW_READ_FAILED, 'a flow reader is open already: close it first');
    const { dropLogGroup } = this.#options;
    const reader = startFlowReader({
      open: ports.open,
      endpoints: this.#flowEndpoints,
      now: ports.now,
      ...(dropLogGroup === undefined ? {} : { dropLogGroup }),
      ...(ports.recvBufferSize === undefined ? {} : { recvBufferSize: ports.recvBufferSize }),
    }, handler);
    const running = {
      handler,
      reader: {
        ready: reader.ready,
        close: () => {
          if (this.#flowReader === running) this.#flowReader = undefined;
          reader.close();
        },
      },
    };
    this.#flowReader = running;
    this.#resolveFlowIfindexes(handler);
    try {
      // 0 turns conntrack's events off for the namespace: no allow event would ever come.
      if (ports.conntrackEventsSetting?.() === '0') handler.error(new NftablesDataplaneError(NFTABLES_ERROR_CODE.FLOW_READ_FAILED, 'net.netfilter.nf_conntrack_events is 0 where the driver enforces: no allow events until it is 1 (or 2, on while someone listens)'));
    } catch (error) {
      handler.error(new NftablesDataplaneError(NFTABLES_ERROR_CODE.FLOW_READ_FAILED, `cannot read net.netfilter.nf_conntrack_events: ${(error as Error).message}`, { cause: error }));
    }
    return running.reader;
  }

  // Allow events carry the endpoint's ifindex: looked up for attachments that did not give it.
  #resolveFlowIfindexes(handler: DataplaneFlowHandler): void {
    const names = this.#flowEndpoints.unresolved();
    const ports = this.#options.flows;
    if (names.length === 0 || ports === undefined) return;
    ports.resolveIfindexes(names).then(
      (found) => {
        for (const [name, ifindex] of found) this.#flowEndpoints.setIfindex(name, ifindex);
      },
      (error: unknown) => {
        if (this.#flowReader?.handler === handler) handler.error(new NftablesDataplaneError(NFTABLES_ERROR_CODE.FLOW_READ_FAILED, `cannot look up the ifindexes of ${names.join(', ')}: ${(error as Error).message}`, { cause: error }));
      },
    );
  }

  async cleanup(): Promise<void> {
    this.#flowReader?.reader.close();
    if ((await this.#options.nft.listTable(NFT_FAMILY, NFT_TABLE)) !== undefined) await this.#options.nft.apply(renderDeleteTable());
    this.#options.nft.close?.();
    this.#model = undefined;
  }
}

/** Differences between the intended model and the kernel's table, in words. */
export function compareWithKernel(model: NftTableModel, kernel: KernelTable): string[] {
  const drift: string[] = [];
  for (const [name, rules] of model.chains) {
    if (!kernel.chains.has(name)) drift.push(`chain ${name} is missing`);
    else if ((kernel.rules.get(name) ?? 0) !== rules.length) drift.push(`chain ${name} has ${kernel.rules.get(name) ?? 0} rules, expected ${rules.length}`);
  }
  for (const name of kernel.chains) if (!model.chains.has(name) && !name.startsWith('hook_')) drift.push(`chain ${name} is not ours`);
  for (const [name, set] of model.sets) {
    const held = kernel.sets.get(name);
    if (held === undefined) drift.push(`set ${name} is missing`);
    else if (held.type !== set.type) drift.push(`set ${name} has type ${held.type}, expected ${set.type}`);
    else if ((kernel.elements.get(name) ?? 0) !== set.elements.length) drift.push(`set ${name} has ${kernel.elements.get(name) ?? 0} elements, expected ${set.elements.length}`);
  }
  for (const name of kernel.sets.keys()) if (!model.sets.has(name)) drift.push(`set ${name} is not ours`);
  for (const [label, intended, held] of [['ingress', model.ingress, kernel.ingress], ['egress', model.egress, kernel.egress]] as const) {
    for (const [ifname, chain] of intended) if (held.get(ifname) !== chain) drift.push(`${label} map: ${ifname} should jump to ${chain}, kernel has ${held.get(ifname) ?? 'nothing'}`);
    for (const ifname of held.keys()) if (!intended.has(ifname)) drift.push(`${label} map: ${ifname} is not attached`);
  }
  const devices = kernel.flowtables.get(NFT_BASE.FLOWTABLE);
  if (model.flowtable !== undefined && devices === undefined) drift.push(`flowtable ${NFT_BASE.FLOWTABLE} is missing`);
  else if (model.flowtable !== undefined && devices !== undefined) {
    for (const device of model.flowtable) if (!devices.has(device)) drift.push(`flowtable ${NFT_BASE.FLOWTABLE}: ${device} is missing`);
    for (const device of devices) if (!model.flowtable.has(device)) drift.push(`flowtable ${NFT_BASE.FLOWTABLE}: ${device} is not attached`);
  }
  for (const name of kernel.flowtables.keys()) if (name !== NFT_BASE.FLOWTABLE || model.flowtable === undefined) drift.push(`flowtable ${name} is not ours`);
  return drift;
}
