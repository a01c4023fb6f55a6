// A flow: one packet's worth of question for the policy engine.

import { type EndpointRef, type ProtocolNumber } from './endpoint.js';

/** Which enforcement points a flow passes. */
export const FLOW_DIRECTION = {
  /** Only the destination's ingress policy (a packet arriving from outside the cluster's view). */
  INGRESS: 'ingress',
  /** Only the source's egress policy. */
  EGRESS: 'egress',
  /** Both: the source's egress, then the destination's ingress (pod to pod). */
  BOTH: 'both',
} as const;

/** One of {@link FLOW_DIRECTION}. */
export type FlowDirection = (typeof FLOW_DIRECTION)[keyof typeof FLOW_DIRECTION];

/**
 * One side of a flow: an endpoint of the snapshot (optionally with the address used,
 * when it has several), or a bare address (an endpoint's address resolves to it; any
 * other is outside the cluster).
 */
export type FlowPeer =
  | { readonly endpoint: EndpointRef; readonly ip?: string }
  | { readonly ip: string };

/** A flow to evaluate. */
export interface Flow {
  /** Where the packet comes from: an endpoint of the snapshot or an address. */
  readonly source: FlowPeer;
  /** Where the packet goes: an endpoint of the snapshot or an address. */
  readonly destination: FlowPeer;
  /** An IP protocol number (see `PROTOCOL`) or a name such as `TCP`. */
  readonly protocol: ProtocolNumber | string;
  /** The source port, when the protocol has ports. */
  readonly sourcePort?: number;
  /** The destination port, when the protocol has ports. */
  readonly destinationPort?: number;
  /** ICMP type and code, for ICMP and ICMPv6. */
  readonly icmp?: {
    /** The ICMP type, 0-255. */
    readonly type: number;
    /** The ICMP code, 0-255; absent: the flow matches only rules that name no code. */
    readonly code?: number;
  };
  /** Which enforcement points to evaluate; `both` when absent. */
  readonly direction?: FlowDirection;
}
