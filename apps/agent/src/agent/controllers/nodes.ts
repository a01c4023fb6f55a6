// The node controller: this node's Calico Node resource (`nodes.projectcalico.org`), as
// calico-node registers it: the BGP addresses (and AS, when configured) the other nodes
// peer with and route to. Kept: re-applied when someone deletes it or changes what the
// agent's configuration sets; fields the configuration does not set (labels, an AS given
// with `twill apply`) are left as they are.
import { type AgentController, type AgentLogger, type AgentResource, type ResourceDatastore, type ResourceEvent, type ResourceWatch, type StoredResource } from '../ports.js';

import { NODE_KIND } from './route-model.js';

/** This node's addresses, as the agent's configuration gives them (`10.0.0.1/24`). */
export interface NodeAddresses {
  readonly ipv4?: string;
  readonly ipv6?: string;
}

/** Options of {@link NodeController}. */
export interface NodeControllerOptions {
  readonly datastore: ResourceDatastore;
  /** The Node resource's name (default host name, chosen by the agent's configuration). */
  readonly nodeName: string;
  /** `spec.bgp.ipv4Address` / `ipv6Address`. */
  readonly addresses: NodeAddresses;
  /** `spec.bgp.asNumber`, when the configuration gives this node its own AS. */
  readonly asNumber?: number;
  readonly logger?: AgentLogger;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * The Node resource to store for this node: `current` (when there is one) with the BGP
 * fields the configuration sets. Pure.
 */
export function nodeResource(options: Pick<NodeControllerOptions, 'nodeName' | 'addresses' | 'asNumber'>, current: AgentResource | undefined): AgentResource {
  const spec = record(current?.['spec']);
  const bgp: Record<string, unknown> = { ...record(spec['bgp']) };
  if (options.addresses.ipv4 !== undefined) bgp['ipv4Address'] = options.addresses.ipv4;
  if (options.addresses.ipv6 !== undefined) bgp['ipv6Address'] = options.addresses.ipv6;
  if (options.asNumber !== undefined) bgp['asNumber'] = options.asNumber;
  const metadata = current?.metadata;
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: {
      name: options.nodeName,
      ...(metadata?.labels === undefined ? {} : { labels: metadata.labels }),
      ...(metadata?.annotations === undefined ? {} : { annotations: metadata.annotations }),
    },
    spec: { ...spec, bgp },
  };
}

/** Whether `current` already says what the configuration sets. */
function upToDate(options: NodeControllerOptions, current: StoredResource | undefined): boolean {
  if (!current) return false;
  const bgp = record(record(current['spec'])['bgp']);
  const { ipv4, ipv6 } = options.addresses;
  return (
    (ipv4 === undefined || bgp['ipv4Address'] === ipv4) && (ipv6 === undefined || bgp['ipv6Address'] === ipv6) && (options.asNumber === undefined || bgp['asNumber'] === options.asNumber)
  );
}

/** Registers this node's Node resource and keeps it. */
export class NodeController implements AgentController {
  readonly name = 'nodes';
  private watch: ResourceWatch | undefined;
  private applied = false;
  private stopped = false;

  constructor(private readonly options: NodeControllerOptions) {}

  /**
   * Applies the Node resource and starts watching it.
   * @throws what the datastore's `apply` throws (ResourceValidationError for a bad address).
   */
  async start(): Promise<void> {
    this.stopped = false;
    await this.ensure(await this.options.datastore.get(NODE_KIND, this.options.nodeName));
    this.watch = await this.options.datastore.watch([NODE_KIND], (events) => this.onEvents(events));
  }

  ready(): boolean {
    return this.applied && !this.stopped;
  }

  /** Stops watching; the Node resource stays (the node still exists while the agent restarts). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.watch?.close();
    this.watch = undefined;
  }

  private async onEvents(events: readonly ResourceEvent[]): Promise<void> {
    let last: ResourceEvent | undefined;
    for (const event of events) if (event.resource.metadata.name === this.options.nodeName) last = event;
    if (!last || this.stopped) return;
    try {
      await this.ensure(last.type === 'delete' ? undefined : last.resource);
    } catch (error) {
      // The next change retries; the node keeps working with what it has.
      this.options.logger?.error({ node: this.options.nodeName, err: error }, 'could not restore this node\'s Node resource');
    }
  }

  private async ensure(current: StoredResource | undefined): Promise<void> {
    if (upToDate(this.options, current)) {
      this.applied = true;
      return;
    }
    const outcome = await this.options.datastore.apply(nodeResource(this.options, current));
    this.applied = true;
    this.options.logger?.info({ node: this.options.nodeName, action: outcome.action }, current ? 'node resource updated' : 'node resource registered');
  }
}
