// The dashboard's own view of the JSON the agent's UI API answers (apps/agent
// src/agent/ui/): the UI imports no workspace package, so these are declared here and
// kept to what the views read.

/** One pod's endpoint (`GET /api/ui/endpoints`). */
export interface UiEndpoint {
  readonly namespace: string;
  readonly pod: string;
  /** The node its record names (absent: the agent's own). */
  readonly node?: string;
  /** Its addresses without prefix length. */
  readonly addresses: readonly string[];
  /** The Pod's labels (empty when the pod is unknown). */
  readonly labels: Readonly<Record<string, string>>;
  /** Its app: the `app` or `app.kubernetes.io/name` label, else the pod name without its last `-suffix`. */
  readonly app: string;
}

/** One side of a flow. */
export interface UiPeer {
  readonly namespace?: string;
  readonly pod?: string;
  readonly ip: string;
  /** `x/web`, or what the address is (`reserved:world`, the IP). */
  readonly label: string;
}

/** An HTTP request's fields (Hubble's `l7.http` without the headers). */
export interface UiHttp {
  /** The response's status; 0 when none was sent. */
  readonly code: number;
  /** The request's method as sent (`GET`); `''` when it had none. */
  readonly method: string;
  /** `http://host/path?query` when the request named its host, else the request target. */
  readonly url: string;
  /** `HTTP/1.1`. */
  readonly protocol: string;
}

/** What an L7 flow (a request through the agent's proxy) carries. */
export interface UiL7 {
  /** `REQUEST` (no response came) or `RESPONSE`. */
  readonly type: string;
  /** Nanoseconds from the request's headers to the end of the response. */
  readonly latencyNs: number;
  /** The HTTP fields; absent for another L7 protocol. */
  readonly http?: UiHttp;
}

/** One flow (an SSE `flows` event carries a list of them). */
export interface UiFlow {
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly timeMs: number;
  /** Hubble's verdict names: `FORWARDED`, `DROPPED`, `ERROR`, `AUDIT`, `REDIRECTED`. */
  readonly verdict: string;
  readonly dropReason?: string;
  /** `TCP`, `UDP`, `SCTP`, `ICMPv4`, `ICMPv6`, or `''`. */
  readonly protocol: string;
  readonly from: UiPeer;
  readonly to: UiPeer;
  readonly sourcePort?: number;
  readonly destinationPort?: number;
  readonly reply: boolean;
  /** What decided, in words (`ingress: NetworkPolicy x/deny spec.ingress[0]`). */
  readonly decidedBy?: string;
  readonly node: string;
  readonly summary: string;
  /** The request, for an L7 flow. */
  readonly l7?: UiL7;
}

/** A policy as the policy view shows it. */
export interface UiPolicyRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** `networkpolicies.networking.k8s.io/x/deny@42`: the stored object. */
  readonly source?: string;
}

/** One effective rule. */
export interface UiRule {
  readonly action: string;
  readonly policy: UiPolicyRef;
  /** `spec.ingress[0]` (with the part when split). */
  readonly rule: string;
  /** The peer and ports, in words. */
  readonly match: string;
}

/** One tier of one direction. */
export interface UiTier {
  readonly tier: string;
  readonly rules: readonly UiRule[];
  /** `deny` (isolated: no rule matched) or `pass`. */
  readonly end: string;
  readonly isolatedBy: readonly UiPolicyRef[];
}

/** `GET /api/ui/policy?pod=ns/name`. */
export interface UiPodPolicy {
  readonly pod: string;
  readonly selectedBy: readonly UiPolicyRef[];
  readonly ingress: readonly UiTier[];
  readonly egress: readonly UiTier[];
  /** Objects the engine refused, one line each. */
  readonly leftOut: readonly string[];
}

/** `GET /api/ui/explain`: the JSON of `twill policy explain -o json`. */
export interface UiProbe {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  readonly verdict: 'allow' | 'deny';
  readonly decidedBy: {
    readonly direction: string;
    readonly endpoint: string;
    readonly reason: string;
    readonly policy?: UiPolicyRef;
    readonly tier?: string;
    readonly rule?: string;
    readonly ruleSource?: string;
    readonly action?: string;
    readonly isolatedBy?: readonly UiPolicyRef[];
  };
  readonly explanation: string;
}

/** One BGP peer (`GET /api/v1/bgp/peers` `peers[]`: the speaker's PeerStatus), the fields the view reads. */
export interface UiBgpPeer {
  readonly address: string;
  readonly asn: number;
  /** RFC 4271 §8.2.2: `Idle`, `Connect`, `Active`, `OpenSent`, `OpenConfirm`, `Established`. */
  readonly state: string;
  readonly uptimeSeconds?: number;
  readonly receivedPrefixes: number;
  readonly advertisedPrefixes: number;
  /** The latest problem in words. */
  readonly lastError?: string;
}

/** `GET /api/v1/bgp/peers`. */
export interface UiBgpStatus {
  readonly localAs?: number;
  readonly routerId?: string;
  readonly peers: readonly UiBgpPeer[];
  readonly originated: readonly string[];
}

/** A pool's usage (`GET /api/v1/ipam?blocks=true` `pools[]`); counts are decimal strings. */
export interface UiPool {
  readonly pool: string;
  readonly cidr: string;
  readonly size: string;
  readonly allocated: string;
  readonly reserved: string;
  readonly cooling: string;
  readonly free: string;
  readonly blocks: string;
  readonly claimedBlocks: string;
}

/** A block of a pool. */
export interface UiBlock {
  readonly cidr: string;
  readonly pool: string;
  readonly affinity?: string;
  readonly allocated: number;
  readonly free: number;
  readonly handles: number;
}

/** `GET /api/v1/ipam?blocks=true`. */
export interface UiIpam {
  readonly pools: readonly UiPool[];
  readonly blocks?: readonly UiBlock[];
}

/** `GET /api/v1/ipam/why?ip=`: the address's state and the fields that go with it. */
export interface UiWhyHeld {
  readonly state: string;
  readonly ip: string;
  readonly [field: string]: unknown;
}
