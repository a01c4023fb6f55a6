// The flow record and the observer API's messages as TypeScript values. Field names are
// the lowerCamelCase of Twill's .proto files (proto/flow.proto, proto/observer.proto),
// which follow Hubble's flow.proto and observer.proto wherever the meaning is the same,
// so a flow reads the same in `twill observe -o json` and to a Hubble user. Pure.

/** What happened to the flow. */
export const VERDICT = {
  VERDICT_UNKNOWN: 'VERDICT_UNKNOWN',
  /** Allowed by policy and passed on. */
  FORWARDED: 'FORWARDED',
  /** Dropped (see `dropReasonDesc`). */
  DROPPED: 'DROPPED',
  /** Processing failed. */
  ERROR: 'ERROR',
  /** Would have been dropped, but policy is in audit mode. */
  AUDIT: 'AUDIT',
  /** Redirected to a proxy (L7 policy). */
  REDIRECTED: 'REDIRECTED',
} as const;
/** One of {@link VERDICT}. */
export type Verdict = (typeof VERDICT)[keyof typeof VERDICT];

/** Why a flow was dropped: Hubble's names (and numbers, in the .proto) for the reasons Twill reports. */
export const DROP_REASON = {
  DROP_REASON_UNKNOWN: 'DROP_REASON_UNKNOWN',
  /** Policies select the endpoint and none allowed the flow (a tier's default deny, or fail-closed). */
  POLICY_DENIED: 'POLICY_DENIED',
  /** An explicit Deny rule matched. */
  POLICY_DENY: 'POLICY_DENY',
} as const;
/** One of {@link DROP_REASON}. */
export type DropReason = (typeof DROP_REASON)[keyof typeof DROP_REASON];

/** Which way the flow crossed the endpoint it was observed at. */
export const TRAFFIC_DIRECTION = {
  TRAFFIC_DIRECTION_UNKNOWN: 'TRAFFIC_DIRECTION_UNKNOWN',
  INGRESS: 'INGRESS',
  EGRESS: 'EGRESS',
} as const;
/** One of {@link TRAFFIC_DIRECTION}. */
export type TrafficDirection = (typeof TRAFFIC_DIRECTION)[keyof typeof TRAFFIC_DIRECTION];

/** A protobuf Timestamp: seconds and nanoseconds since the epoch. */
export interface FlowTime {
  readonly seconds: number;
  readonly nanos: number;
}

/** The IP layer. */
export interface FlowIp {
  readonly source: string;
  readonly destination: string;
  readonly ipVersion: 'IPv4' | 'IPv6';
}

/** TCP flags, as Hubble names them; only the set ones are present. */
export interface TcpFlags {
  readonly FIN?: boolean;
  readonly SYN?: boolean;
  readonly RST?: boolean;
  readonly PSH?: boolean;
  readonly ACK?: boolean;
  readonly URG?: boolean;
  readonly ECE?: boolean;
  readonly CWR?: boolean;
}

/** Ports of TCP, UDP or SCTP. */
export interface PortPair {
  readonly sourcePort: number;
  readonly destinationPort: number;
}

/** The transport layer: exactly one of its members (a protobuf oneof). */
export type Layer4 =
  | { readonly TCP: PortPair & { readonly flags?: TcpFlags } }
  | { readonly UDP: PortPair }
  | { readonly SCTP: PortPair }
  | { readonly ICMPv4: { readonly type: number; readonly code: number } }
  | { readonly ICMPv6: { readonly type: number; readonly code: number } };

/** One side of a flow. */
export interface FlowEndpoint {
  /** The endpoint's numeric id on its node (0: not an endpoint of this cluster). */
  readonly ID: number;
  /** Its security identity (Cilium-style numeric; reserved ones: 1 host, 2 world, ...). */
  readonly identity: number;
  readonly namespace?: string;
  /** `source:key=value`, as Hubble writes them (`k8s:app=frontend`, `reserved:world`). */
  readonly labels: readonly string[];
  readonly podName?: string;
}

/** A policy that allowed or denied the flow (Hubble's `Policy`). */
export interface FlowPolicy {
  readonly name: string;
  readonly namespace?: string;
  readonly labels: readonly string[];
  readonly revision: number;
  /** `NetworkPolicy`, `GlobalNetworkPolicy`, `CiliumNetworkPolicy`, ... */
  readonly kind: string;
}

/**
 * Twill's own field: exactly what decided the verdict at the enforcement point the flow
 * was observed at, pointing into the source object (`twill policy explain --flow`).
 */
export interface DecidingRule {
  /**
   * `rule`: an Allow or Deny rule; `isolated`: a tier's default deny (`isolatedBy`);
   * `not-selected`: no policy selects the endpoint (allowed); `passed`: every tier
   * passed (allowed); `no-entry`: the endpoint's policy was not programmed yet (fail-closed).
   */
  readonly reason: 'rule' | 'isolated' | 'not-selected' | 'passed' | 'no-entry';
  readonly direction: 'ingress' | 'egress';
  /** The deciding policy, when `reason` is `rule`. */
  readonly policy?: FlowPolicy;
  readonly tier?: string;
  /** The rule's index among the policy's IR rules of that direction. */
  readonly ruleIndex?: number;
  /** The rule's path in the source document: `spec.ingress[0]`, with the part when split (`spec.ingress[0] from[1]`). */
  readonly rulePath?: string;
  /** `allow` or `deny`, when `reason` is `rule`. */
  readonly action?: 'allow' | 'deny';
  /** The isolating policies, when `reason` is `isolated`. */
  readonly isolatedBy?: readonly FlowPolicy[];
  /**
   * How the rule was found: `kernel` (the dataplane reported the rule, eBPF) or
   * `evaluated` (the agent evaluated the flow against its policy snapshot, nftables).
   */
  readonly attribution: 'kernel' | 'evaluated';
  /** One sentence, as `twill policy explain` words it. */
  readonly message: string;
}

/** One flow record. */
export interface Flow {
  readonly time: FlowTime;
  /** Unique per flow (a UUID), what `twill policy explain --flow` takes. */
  readonly uuid: string;
  readonly verdict: Verdict;
  /** Only for `DROPPED`. */
  readonly dropReasonDesc?: DropReason;
  readonly IP: FlowIp;
  readonly l4?: Layer4;
  readonly source: FlowEndpoint;
  readonly destination: FlowEndpoint;
  /** `L3_L4` for packet verdicts, `L7` for proxy records (issue 14). */
  readonly Type: 'L3_L4' | 'L7';
  readonly nodeName: string;
  /** Whether the packet is a reply of an established connection. */
  readonly isReply: boolean;
  readonly trafficDirection: TrafficDirection;
  readonly egressAllowedBy: readonly FlowPolicy[];
  readonly ingressAllowedBy: readonly FlowPolicy[];
  readonly egressDeniedBy: readonly FlowPolicy[];
  readonly ingressDeniedBy: readonly FlowPolicy[];
  /** The host-side interface the flow was observed at. */
  readonly interface?: { readonly index: number; readonly name: string };
  /** Human-readable one line (`TCP Flags: SYN`). */
  readonly Summary: string;
  /** Twill: what decided. */
  readonly decidedBy?: DecidingRule;
}

/** Events a source could not deliver (Hubble's `LostEvent`). */
export interface LostEvent {
  /** `ebpf-ringbuf`, `nflog`, `conntrack`, `observer` (sampled out by the agent's budget) or `ring` (a reader fell behind the ring). */
  readonly source: string;
  readonly numEventsLost: number;
}

/**
 * A flow filter (Hubble's `FlowFilter`, the fields Twill serves). Within one filter every
 * non-empty field must match (AND); within one field any value may (OR). A request
 * matches a flow when one of its whitelist filters matches (or there are none) and no
 * blacklist filter does.
 */
export interface FlowFilter {
  readonly uuid?: readonly string[];
  /** Addresses or CIDRs. */
  readonly sourceIp?: readonly string[];
  /** `namespace/` or `namespace/pod-prefix` (Hubble's semantics: a pod name prefix). */
  readonly sourcePod?: readonly string[];
  /** Label selectors over the endpoint's labels (`k8s:app=frontend`, `app in (a,b)`). */
  readonly sourceLabel?: readonly string[];
  readonly destinationIp?: readonly string[];
  readonly destinationPod?: readonly string[];
  readonly destinationLabel?: readonly string[];
  readonly verdict?: readonly Verdict[];
  readonly dropReasonDesc?: readonly DropReason[];
  /** Ports as decimal strings (Hubble's type). */
  readonly sourcePort?: readonly string[];
  readonly destinationPort?: readonly string[];
  /** `tcp`, `udp`, `sctp`, `icmp`, `icmpv4`, `icmpv6` (case-insensitive). */
  readonly protocol?: readonly string[];
  readonly trafficDirection?: readonly TrafficDirection[];
  readonly nodeName?: readonly string[];
  readonly reply?: readonly boolean[];
  /** Twill: the deciding policy, `kind/namespace/name` or `namespace/name` or `name`. */
  readonly policy?: readonly string[];
}

/** The observer's GetFlows request. */
export interface GetFlowsRequest {
  /** How many past flows (the newest ones, unless `first`); 0 with `follow`: none. */
  readonly number?: number;
  /** Take the oldest `number` flows rather than the newest. */
  readonly first?: boolean;
  /** Keep the stream open and send new flows as they come. */
  readonly follow?: boolean;
  readonly whitelist?: readonly FlowFilter[];
  readonly blacklist?: readonly FlowFilter[];
  /** Only flows at or after this time. */
  readonly since?: FlowTime;
  /** Only flows before this time. */
  readonly until?: FlowTime;
}

/** One message of the GetFlows stream: a flow, or a count of lost events. */
export type GetFlowsResponse =
  | { readonly flow: Flow; readonly nodeName: string; readonly time: FlowTime }
  | { readonly lostEvents: LostEvent; readonly nodeName: string; readonly time: FlowTime };

/** The observer's ServerStatus answer. */
export interface ServerStatus {
  /** Flows in the ring now. */
  readonly numFlows: number;
  /** The ring's capacity. */
  readonly maxFlows: number;
  /** Flows seen since start. */
  readonly seenFlows: number;
  readonly uptimeNs: number;
  /** Events lost since start, all sources. */
  readonly numLostEvents: number;
  readonly nodeName: string;
  readonly version: string;
}
