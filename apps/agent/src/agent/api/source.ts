// What the API answers from: the agent's running parts, as agent.ts hands them over.
// Tests build one over a memory store.
import { type PoolAllocator } from '@twill/ipam';

import { type EndpointRecord } from '../../plugin/ports.js';
import { type BgpControllerStatus, type BgpRouteFilter, type BgpRouteView } from '../controllers/bgp.js';
import { type ResourceDatastore } from '../ports.js';

/** The BGP controller as the API reads it. */
export interface ApiBgpSource {
  status(): BgpControllerStatus;
  /**
   * Every path held, the best first per prefix; `prefix` keeps routes equal to or inside the CIDR.
   * @throws BgpInvalidArgument for a peer or prefix it cannot read.
   */
  routes(filter: BgpRouteFilter): readonly BgpRouteView[];
}

/** A part that is not running, and why (in words, for the 503). */
export interface ApiUnavailable {
  readonly unavailable: string;
}

/** The agent's parts the API answers from. */
export interface ApiSource {
  /** The resource datastore (its `store` holds the IPAM pools and the endpoint records too). */
  readonly datastore: ResourceDatastore;
  /** The `/v1/status` document (`AgentStatus`). */
  status(): Promise<unknown>;
  /** The endpoint records of every node, of the agent's network. */
  endpoints(): Promise<readonly EndpointRecord[]>;
  /** The pool allocator on the datastore's store with the pools the plugin allocates from. */
  readonly pools: PoolAllocator;
  /** The pools' key root in the store (default `twill-pools`, the plugin's). */
  readonly poolRoot?: string;
  /** The BGP controller, or why there is none (routing is not `bgp`). */
  readonly bgp: ApiBgpSource | ApiUnavailable;
}
