// The flow record and the observer API's messages as TypeScript values. Field names are
// the lowerCamelCase of Twill's .proto files (proto/flow.proto, proto/observer.proto),
// which follow Hubble's flow.proto and observer.proto wherever the meaning is the same,
// so a flow reads the same in `twill observe -o json` and to a Hubble user. Pure.

/** What happened to the flow. */
export const VERDICT = {
  /** No verdict (proto3's zero value). */
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
  /** No reason known (proto3's zero value). */
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
  /** Not known (proto3's zero value). */
  TRAFFIC_DIRECTION_UNKNOWN: 'TRAFFIC_DIRECTION_UNKNOWN',
  /** Into the endpoint: its ingress policy applies. */
  INGRESS: 'INGRESS',
  /** Out of the endpoint: its egress policy applies. */
  EGRESS: 'EGRESS',
} as const;
/** One of {@link TRAFFIC_DIRECTION}. */
export type TrafficDirection = (typeof TRAFFIC_DIRECTION)[keyof typeof TRAFFIC_DIRECTION];

/** What an L7 record is (Hubble's `L7FlowType`). */
export const L7_FLOW_TYPE = {
  /** Not known (proto3's zero value). */
  UNKNOWN_L7_TYPE: 'UNKNOWN_L7_TYPE',
  /** A request, with no response (Twill: the connection closed before a status was sent). */
  REQUEST: 'REQUEST',
  /** A response: Twill's proxy reports each request once it was answered, with the status and the latency. */
  RESPONSE: 'RESPONSE',
  /** A sample (Hubble's; Twill does not report these). */
  SAMPLE: 'SAMPLE',
} as const;
/** One of {@link L7_FLOW_TYPE}. */
export type L7FlowType = (typeof L7_FLOW_TYPE)[keyof typeof L7_FLOW_TYPE];

/** An HTTP header of an L7 record (Hubble's `HTTPHeader`). */
export interface HttpHeader {
  /** The header's name. */
  readonly key: string;
  /** Its value. */
  readonly value: string;
}

/** An HTTP request and its answer, as the proxy saw them (Hubble's `HTTP`). */
export interface FlowHttp {
  /** The status sent to the client (`200`, `403`); 0 when none was sent. */
  readonly code: number;
  /** The method (`GET`); `''` when the request was too malformed to have one. */
  readonly method: string;
  /** `http://host/path?query` when the request named its host, else the request target alone (`/path?query`); `''` when unknown. */
  readonly url: string;
  /** `HTTP/1.1`, `HTTP/1.0` or `HTTP/2`. */
  readonly protocol: string;
  /** Headers recorded with the request (Twill's proxy records none: empty). */
  readonly headers: readonly HttpHeader[];
}

/** The L7 part of a flow (Hubble's `Layer7`), set on flows of `Type` `L7`. */
export interface Layer7 {
  /** Whether the record is of a request or of its response. */
  readonly type: L7FlowType;
  /** Nanoseconds from the request's headers to the end of the response (or the close); an integer. */
  readonly latencyNs: number;
  /** The HTTP fields; absent for another L7 protocol (a Hubble server's DNS or Kafka record). */
  readonly http?: FlowHttp;
}

/** A protobuf Timestamp: seconds and nanoseconds since the epoch. */
export interface FlowTime {
  /** Whole seconds since the Unix epoch (1970-01-01T00:00:00Z); an integer. */
  readonly seconds: number;
  /** Nanoseconds after `seconds`: an integer from 0 to 999,999,999. */
  readonly nanos: number;
}

/** The IP layer. */
export interface FlowIp {
  /** The packet's source address, as text (`10.0.1.5`, `fd00::5`). */
  readonly source: string;
  /** The packet's destination address, as text. */
  readonly destination: string;
  /** The addresses' family (Hubble's `IPVersion`; its `IP_NOT_USED` is never a flow's). */
  readonly ipVersion: 'IPv4' | 'IPv6';
}

/** TCP flags, as Hubble names them; only the set ones are present. */
export interface TcpFlags {
  /** FIN: the sender has no more data (RFC 9293 §3.1). */
  readonly FIN?: boolean;
  /** SYN: synchronize sequence numbers, the opening of a connection. */
  readonly SYN?: boolean;
  /** RST: reset the connection. */
  readonly RST?: boolean;
  /** PSH: push the data to the application. */
  readonly PSH?: boolean;
  /** ACK: the acknowledgment number is significant. */
  readonly ACK?: boolean;
  /** URG: the urgent pointer is significant. */
  readonly URG?: boolean;
  /** ECE: ECN-Echo (RFC 3168 §6.1). */
  readonly ECE?: boolean;
  /** CWR: congestion window reduced (RFC 3168 §6.1). */
  readonly CWR?: boolean;
}

/** Ports of TCP, UDP or SCTP. */
export interface PortPair {
  /** The packet's source port, 0 to 65535. */
  readonly sourcePort: number;
  /** The packet's destination port, 0 to 65535. */
  readonly destinationPort: number;
}

/** The transport layer: exactly one of its members (a protobuf oneof). */
export type Layer4 =
  | {
      /** A TCP segment: its ports and flags. */
      readonly TCP: PortPair & {
        /** The segment's flags; absent when the dataplane did not report them. */
        readonly flags?: TcpFlags;
      };
    }
  | {
      /** A UDP datagram: its ports. */
      readonly UDP: PortPair;
    }
  | {
      /** An SCTP packet: its ports. */
      readonly SCTP: PortPair;
    }
  | {
      /** An ICMP message (IPv4). */
      readonly ICMPv4: {
        /** The ICMP type, 0 to 255 (8 echo request, 0 echo reply, 3 destination unreachable, ...). */
        readonly type: number;
        /** The ICMP code within the type, 0 to 255. */
        readonly code: number;
      };
    }
  | {
      /** An ICMPv6 message. */
      readonly ICMPv6: {
        /** The ICMPv6 type, 0 to 255 (128 echo request, 129 echo reply, 135 neighbor solicitation, ...). */
        readonly type: number;
        /** The ICMPv6 code within the type, 0 to 255. */
        readonly code: number;
      };
    };

/** One side of a flow. */
export interface FlowEndpoint {
  /** The endpoint's numeric id on its node (0: not an endpoint of this cluster). */
  readonly ID: number;
  /** Its security identity (Cilium-style numeric; reserved ones: 1 host, 2 world, ...). */
  readonly identity: number;
  /** The pod's Kubernetes namespace; absent when the side is not a pod (the host, the world). */
  readonly namespace?: string;
  /** `source:key=value`, as Hubble writes them (`k8s:app=frontend`, `reserved:world`). */
  readonly labels: readonly string[];
  /** The pod's name; absent when the side is not a pod. */
  readonly podName?: string;
}

/** A policy that allowed or denied the flow (Hubble's `Policy`). */
export interface FlowPolicy {
  /** The policy object's `metadata.name`. */
  readonly name: string;
  /** Its namespace; absent for a cluster-wide policy (`GlobalNetworkPolicy`). */
  readonly namespace?: string;
  /**
   * `source:key=value` labels naming the policy, as Hubble's `Policy.labels`: Cilium's
   * `k8s:io.cilium.k8s.policy.name=...` (`.derived-from`, `.namespace`, `.uid`) and Twill's
   * `k8s:io.twill.policy.dialect=...` (`.kind`, `.name`, `.namespace`).
   */
  readonly labels: readonly string[];
  /**
   * The stored object's revision the decision was made with (its `metadata.resourceVersion`
   * as a number); 0 when not known.
   */
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
  /**
   * Which policy direction decided: `ingress` (the destination's ingress rules) or
   * `egress` (the source's egress rules).
   */
  readonly direction: 'ingress' | 'egress';
  /** The deciding policy, when `reason` is `rule`. */
  readonly policy?: FlowPolicy;
  /**
   * The tier of the deciding policy, or of the isolating ones (policies that name no
   * tier are in `default`); absent when no tier decided (`not-selected`, `passed`, `no-entry`).
   */
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
   * `evaluated` (the agent evaluated the flow against its policy snapshot: nftables, and
   * L7 flows, whose requests the agent's proxy matched against the snapshot's HTTP rules).
   */
  readonly attribution: 'kernel' | 'evaluated';
  /** One sentence, as `twill policy explain` words it. */
  readonly message: string;
}

/** One flow record. */
export interface Flow {
  /** When the dataplane saw the packet (Twill's agent records microseconds). */
  readonly time: FlowTime;
  /** Unique per flow (a UUID), what `twill policy explain --flow` takes. */
  readonly uuid: string;
  /** What happened to the packet (Twill's agent records `FORWARDED` and `DROPPED`). */
  readonly verdict: Verdict;
  /** Only for `DROPPED`. */
  readonly dropReasonDesc?: DropReason;
  /** The packet's addresses. */
  readonly IP: FlowIp;
  /** The packet's transport layer; absent for an IP protocol other than TCP, UDP, SCTP and ICMP (`Summary` names its number). */
  readonly l4?: Layer4;
  /** The packet's sender (for a reply: the side that accepted the connection). */
  readonly source: FlowEndpoint;
  /** The packet's receiver. */
  readonly destination: FlowEndpoint;
  /** `L3_L4` for packet verdicts, `L7` for proxy records (issue 14). */
  readonly Type: 'L3_L4' | 'L7';
  /** What the L7 proxy saw of the request: set on flows of `Type` `L7`. */
  readonly l7?: Layer7;
  /** The node whose agent observed the flow. */
  readonly nodeName: string;
  /** Whether the packet is a reply of an established connection. */
  readonly isReply: boolean;
  /**
   * The connection's direction at the endpoint it was observed at, as in Hubble: a
   * reply has its connection's direction, not the opposite one.
   */
  readonly trafficDirection: TrafficDirection;
  /** The policies whose egress rules allowed the flow (Twill: the deciding one, when an egress Allow rule decided); often empty. */
  readonly egressAllowedBy: readonly FlowPolicy[];
  /** The policies whose ingress rules allowed the flow (Twill: the deciding one, when an ingress Allow rule decided); often empty. */
  readonly ingressAllowedBy: readonly FlowPolicy[];
  /** The policies that denied the flow at egress: the deciding Deny rule's policy, or the isolating ones (a tier's default deny). */
  readonly egressDeniedBy: readonly FlowPolicy[];
  /** The policies that denied the flow at ingress: the deciding Deny rule's policy, or the isolating ones (a tier's default deny). */
  readonly ingressDeniedBy: readonly FlowPolicy[];
  /** The host-side interface the flow was observed at. */
  readonly interface?: {
    /** Its interface index on the node (ifindex). */
    readonly index: number;
    /** Its name (the pod's host-side veth); `''` when the agent could not name it. */
    readonly name: string;
  };
  /** Human-readable one line (`TCP Flags: SYN`). */
  readonly Summary: string;
  /** Twill: what decided. */
  readonly decidedBy?: DecidingRule;
}

/** Events a source could not deliver (Hubble's `LostEvent`). */
export interface LostEvent {
  /** `ebpf-ringbuf`, `nflog`, `conntrack`, `observer` (sampled out by the agent's budget) or `ring` (a reader fell behind the ring). */
  readonly source: string;
  /** How many events from `source` were lost. */
  readonly numEventsLost: number;
}

/**
 * A flow filter (Hubble's `FlowFilter`, the fields Twill serves). Within one filter every
 * non-empty field must match (AND); within one field any value may (OR). A request
 * matches a flow when one of its whitelist filters matches (or there are none) and no
 * blacklist filter does.
 */
export interface FlowFilter {
  /** Flow uuids, matched exactly against {@link Flow.uuid}. */
  readonly uuid?: readonly string[];
  /** Addresses or CIDRs. */
  readonly sourceIp?: readonly string[];
  /** `namespace/` or `namespace/pod-prefix` (Hubble's semantics: a pod name prefix). */
  readonly sourcePod?: readonly string[];
  /** Label selectors over the endpoint's labels (`k8s:app=frontend`, `app in (a,b)`). */
  readonly sourceLabel?: readonly string[];
  /** Addresses or CIDRs, matched against the destination address (`IP.destination`). */
  readonly destinationIp?: readonly string[];
  /** As `sourcePod`, for the destination endpoint. */
  readonly destinationPod?: readonly string[];
  /** As `sourceLabel`, over the destination endpoint's labels. */
  readonly destinationLabel?: readonly string[];
  /** Verdicts (`FORWARDED`, `DROPPED`, ...). */
  readonly verdict?: readonly Verdict[];
  /** Drop reasons; a flow without one (not `DROPPED`) matches none. */
  readonly dropReasonDesc?: readonly DropReason[];
  /** Ports as decimal strings (Hubble's type). */
  readonly sourcePort?: readonly string[];
  /** Destination ports as decimal strings; a flow without ports (ICMP) matches none. */
  readonly destinationPort?: readonly string[];
  /** `tcp`, `udp`, `sctp`, `icmp`, `icmpv4`, `icmpv6`, or `http` (L7 flows with HTTP fields); case-insensitive. */
  readonly protocol?: readonly string[];
  /**
   * HTTP status codes: `404` (exactly), or a prefix ending in `+` (`4+`: 400 to 499,
   * `40+`: 400 to 409), as Hubble's `http_status_code`. A flow without a status (not
   * L7, or no status sent) matches none.
   */
  readonly httpStatusCode?: readonly string[];
  /** HTTP methods, compared case-insensitively (`GET`); a flow without a method matches none. */
  readonly httpMethod?: readonly string[];
  /**
   * Regular expressions (an RE2 subset: see `compileFlowFilters`) searched in the path of
   * the flow's URL, percent-decoded and without its query (`^/api/v1/`, `users`).
   */
  readonly httpPath?: readonly string[];
  /** Regular expressions, as `httpPath`, searched in the whole URL (`http://api.prod:8080/api/v1/users?limit=1`). */
  readonly httpUrl?: readonly string[];
  /** Traffic directions (`INGRESS`, `EGRESS`). */
  readonly trafficDirection?: readonly TrafficDirection[];
  /**
   * Node names; `*` stands for any run of characters (`worker-*`). At most
   * {@link MAX_NODE_PATTERN_LENGTH} characters; Hubble's `cluster/node` form is refused.
   */
  readonly nodeName?: readonly string[];
  /** `true` matches replies, `false` the rest (see {@link Flow.isReply}). */
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
  /** Filters that select flows: a flow must match at least one; absent or empty selects every flow. Hubble's name (an allow list). */
  readonly whitelist?: readonly FlowFilter[];
  /** Filters that exclude flows: a flow matching any of them is left out, whatever the whitelist says. Hubble's name (a deny list). */
  readonly blacklist?: readonly FlowFilter[];
  /** Only flows at or after this time. */
  readonly since?: FlowTime;
  /** Only flows before this time; with `follow`, the stream ends at the first flow at or after it. */
  readonly until?: FlowTime;
}

/** One message of the GetFlows stream: a flow, or a count of lost events. */
export type GetFlowsResponse =
  | {
      /** The flow. */
      readonly flow: Flow;
      /** The node the flow comes from: its `nodeName`, or the observer's when the flow has none. */
      readonly nodeName: string;
      /** The flow's time. */
      readonly time: FlowTime;
    }
  | {
      /** The count of events lost, and where. */
      readonly lostEvents: LostEvent;
      /** The observer's node. */
      readonly nodeName: string;
      /** When the loss was recorded (counts added together: the latest; `ring`: when the reader was found behind). */
      readonly time: FlowTime;
    };

/** The observer's ServerStatus answer. */
export interface ServerStatus {
  /** Flows in the ring now. */
  readonly numFlows: number;
  /** The ring's capacity. */
  readonly maxFlows: number;
  /** Flows seen since start. */
  readonly seenFlows: number;
  /** Nanoseconds since the observer's ring was made (by its clock). */
  readonly uptimeNs: number;
  /** Events lost since start, all sources. */
  readonly numLostEvents: number;
  /** The observer's node. */
  readonly nodeName: string;
  /** The observer's version (`''` when it has none to tell). */
  readonly version: string;
}
