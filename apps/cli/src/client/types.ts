// The documents of the agent's API (apps/agent/API.md), as the CLI reads them. Apps do
// not import each other, so these mirror the agent's own types; the agent only ever
// adds fields, so every reader tolerates more than is listed here.

/** A resource's metadata, as Kubernetes objects carry it. */
export interface ResourceMetadata {
  readonly name: string;
  /** Absent for cluster-wide kinds. */
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** The store's revision; sent back on apply, a compare-and-swap condition. */
  readonly resourceVersion?: string;
  /** ISO 8601, set by the datastore on the first write. */
  readonly creationTimestamp?: string;
  readonly uid?: string;
}

/** A resource as users write it. */
export interface AgentResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ResourceMetadata;
  readonly [field: string]: unknown;
}

/** A resource read back from the agent: it has its version, creation time and uid. */
export interface StoredResource extends AgentResource {
  readonly metadata: ResourceMetadata & { readonly resourceVersion: string; readonly creationTimestamp: string; readonly uid: string };
}

/** One kind the agent serves (`GET /v1/kinds`). */
export interface KindInfo {
  /** kubectl's name: `networkpolicies.networking.k8s.io`, `pods` for the core group. */
  readonly id: string;
  /** What documents carry in `kind`: `NetworkPolicy`. */
  readonly kind: string;
  /** The `apiVersion`s documents of this kind may carry; the first is the preferred one. */
  readonly apiVersions: readonly string[];
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly namespaced: boolean;
}

/** What `POST /v1/resources` did (or, with dryRun, would do) to one item. */
export interface ApplyResult {
  /** The kind's id. */
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly action: 'created' | 'configured' | 'unchanged';
}

/** What `DELETE /v1/resources/...` deleted. */
export interface DeletedRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** A pod's attachment as the CNI plugin recorded it. */
export interface EndpointRecord {
  readonly network: string;
  readonly containerId: string;
  readonly ifName: string;
  readonly hostInterface: string;
  /** The pod's addresses, full length (`10.0.0.5/32`). */
  readonly addresses: readonly string[];
  readonly netns?: string;
  readonly namespace?: string;
  readonly pod?: string;
  /** When ADD registered it, in milliseconds since the epoch. */
  readonly since: number;
  readonly node?: string;
}

/** The policy dataplane's status in `/v1/status`. */
export interface DataplaneStatusView {
  /** `nftables`, `ebpf` or `none`. */
  readonly driver: string;
  readonly endpoints?: readonly { readonly key: string; readonly hostInterface: string; readonly programmed: boolean }[];
  /** Disagreements with the kernel, in words; empty when in sync. */
  readonly drift?: readonly string[];
  /** Set when the driver could not report. */
  readonly error?: string;
}

/** A BGP session, as the speaker reports it. */
export interface PeerStatus {
  readonly address: string;
  readonly asn: number;
  /** `Idle`, `Connect`, `Active`, `OpenSent`, `OpenConfirm`, `Established`. */
  readonly state: string;
  /** Seconds since Established; absent (or null) when it is not. */
  readonly uptimeSeconds?: number | null;
  readonly receivedPrefixes: number;
  readonly stalePrefixes?: number;
  readonly advertisedPrefixes: number;
  readonly filteredPrefixes?: number;
  readonly messagesReceived?: number;
  readonly messagesSent?: number;
  readonly updatesReceived?: number;
  /** Why the session last went down, in words. */
  readonly lastDown?: string | null;
  /** The latest problem in words. */
  readonly lastError?: string | null;
  readonly [field: string]: unknown;
}

/** The BGP controller's status (`GET /v1/bgp/peers`, and `controllers.bgp` of `/v1/status`). */
export interface BgpStatus {
  readonly localAs?: number | null;
  readonly routerId?: string | null;
  readonly peers: readonly PeerStatus[];
  /** BGPPeers that could not be used, and why. */
  readonly problems: readonly { readonly peer: string; readonly reason: string }[];
  /** Prefixes this node originates. */
  readonly originated: readonly string[];
  /** Learned routes the kernel refused. */
  readonly fibProblems: readonly { readonly dst: string; readonly error: string }[];
}

/** The policy controller's status in `/v1/status`. */
export interface PolicyControllerView {
  readonly ready: boolean;
  readonly endpoints: readonly unknown[];
  /** Policies in the index. */
  readonly policies: number;
  readonly lastApplyError?: string;
  readonly problems: readonly string[];
}

/** The `/v1/status` document. */
export interface AgentStatus {
  readonly node: string;
  readonly network: string;
  readonly ready: boolean;
  /** The parts that are not ready. */
  readonly notReady: readonly string[];
  /**
   * The datastore: `type` and `location` (the SQLite file, or the Kubernetes API server's
   * URL) from agents that have them; `path` is the location, for older agents.
   */
  readonly datastore: { readonly type?: 'sqlite' | 'kubernetes'; readonly location?: string; readonly path: string; readonly open: boolean };
  readonly cniSocket: { readonly path: string; readonly listening: boolean; readonly inFlight: number };
  /** The API's socket (the one `twill` talks to). */
  readonly apiSocket: { readonly path: string; readonly listening: boolean };
  readonly dataplane: DataplaneStatusView;
  /** This node's endpoints. */
  readonly endpoints: readonly EndpointRecord[];
  /** The flow observer (agents from before flows have none). */
  readonly flows?: FlowsStatusView;
  /** The web dashboard (agents from before issue 15 have none). */
  readonly ui?: UiStatusView;
  /** The L7 proxy and its tproxy redirect (agents from before issue 14 have none). */
  readonly l7?: L7StatusView;
  /** Each controller's status by name: `policy`, `routes`, and `bgp` when routing is BGP. */
  readonly controllers: {
    readonly policy?: PolicyControllerView;
    readonly routes?: { readonly routes: readonly unknown[]; readonly problems: readonly { readonly dst: string; readonly error: string }[] };
    readonly bgp?: BgpStatus;
    readonly [name: string]: unknown;
  };
  readonly [field: string]: unknown;
}

/**
 * The flow observer's part of `/v1/status`: off with why, or its socket (and TCP
 * address), whether it serves and reads, its last failures, flows seen and events lost.
 */
export type FlowsStatusView =
  | { readonly enabled: false; readonly reason: string }
  | {
      readonly enabled: true;
      readonly socket: string;
      readonly listen?: { readonly host: string; readonly port: number };
      readonly listening: boolean;
      /** Why the observer is not served; the agent runs on without it. */
      readonly serveError?: string;
      /** Whether the dataplane's verdicts are being read. */
      readonly reading: boolean;
      /** The reader's last failure and when (ISO 8601). */
      readonly readError?: { readonly message: string; readonly time: string };
      readonly seen: number;
      readonly lost: number;
      readonly capacity: number;
    };

/** The L7 proxy's connection counters in `/v1/status`. */
export interface L7ProxyCountersView {
  /** Connections being served now. */
  readonly connections: number;
  /** Connections closed because L3/L4 policy denied them. */
  readonly deniedConnections: number;
  /** Connections refused because the proxy's connection limit was reached. */
  readonly refusedConnections: number;
}

/** The tproxy redirect that sends L7-ruled connections to the proxy, as `/v1/status` reports it. */
export interface L7RedirectView {
  /** Whether its nftables table, `fwmark` rules and `local` routes are all in the kernel. */
  readonly installed: boolean;
  /** What is missing from the kernel, in words (empty when installed). */
  readonly missing: readonly string[];
  /** How many set elements (address or interface, with a port range) it redirects. */
  readonly targets: { readonly ingress4: number; readonly ingress6: number; readonly egress: number };
  /** Its last failure to change the kernel, in words. */
  readonly lastError?: string;
}

/**
 * The L7 proxy's part of `/v1/status`: off with why (`--no-l7`), or whether it runs (it
 * listens and its redirect is installed), why not, and whether traffic an HTTP rule
 * decides is then denied (`failClosed`, the nftables dataplane) or admitted at L4 (eBPF).
 */
export type L7StatusView =
  | { readonly enabled: false; readonly reason: string }
  | {
      readonly enabled: true;
      /** Whether the proxy listens and its redirect is installed. */
      readonly running: boolean;
      /** Why it does not run (a port in use, no nft_tproxy). */
      readonly error?: string;
      /** Whether traffic an HTTP rule decides is denied while it misses the proxy. */
      readonly failClosed: boolean;
      /** The proxy's port and address (absent when it did not start). */
      readonly listening?: { readonly port: number; readonly address: string };
      /** Its connection counters (absent when it did not start). */
      readonly proxy?: L7ProxyCountersView;
      /** Its redirect (absent when it did not start). */
      readonly redirect?: L7RedirectView;
    };

/** The web dashboard's part of `/v1/status`: off with why, or its URL and whether it serves. */
export type UiStatusView =
  | { readonly enabled: false; readonly reason: string }
  | {
      readonly enabled: true;
      /** What a browser on the agent's host opens (`http://127.0.0.1:9098/`). */
      readonly url: string;
      readonly listen: { readonly host: string; readonly port: number };
      readonly listening: boolean;
      /** Why it is not served; the agent runs on without it. */
      readonly serveError?: string;
      /** Browsers following live flows now. */
      readonly clients: number;
    };

/** A count that may exceed 2^53 (IPv6 pools): a number, or its decimal digits. */
export type BigCount = number | string;

/** One pool's usage (`GET /v1/ipam`). */
export interface PoolUsage {
  readonly pool: string;
  readonly cidr: string;
  readonly size: BigCount;
  readonly allocated: BigCount;
  readonly reserved: BigCount;
  readonly cooling: BigCount;
  readonly free: BigCount;
  readonly blocks: BigCount;
  readonly claimedBlocks: BigCount;
  readonly [field: string]: unknown;
}

/** One block (`GET /v1/ipam?blocks=true`). */
export interface BlockView {
  readonly cidr: string;
  /** The pool it was cut from. */
  readonly pool: string;
  /** The node it is affine to. */
  readonly affinity?: string;
  readonly allocated: number;
  readonly free: number;
  readonly handles: number;
  readonly [field: string]: unknown;
}

/** What holds an address, or why it is free (`GET /v1/ipam/why`): `state` says which. */
export interface PoolAddressStatus {
  readonly state: string;
  readonly ip: string;
  readonly [field: string]: unknown;
}

/** `GET /v1/ipam`. */
export interface IpamView {
  readonly pools: readonly PoolUsage[];
  readonly blocks?: readonly BlockView[];
  readonly address?: PoolAddressStatus;
}

/** `GET /v1/ipam/check`: the pools' consistency report (a 200 even when inconsistent). */
export interface PoolCheckReport {
  readonly problems: readonly { readonly kind: string; readonly [field: string]: unknown }[];
  readonly [field: string]: unknown;
}

/** One path the BGP speaker holds (`GET /v1/bgp/routes`). */
export interface BgpRouteView {
  readonly prefix: string;
  readonly best: boolean;
  /** `local`, or the peer's address. */
  readonly from: string;
  readonly nextHop: string;
  readonly asPath: readonly number[];
  readonly origin: 'igp' | 'egp' | 'incomplete';
  readonly localPref?: number;
  readonly med?: number;
  readonly communities: readonly string[];
  /** RFC 8092 large communities, `global:local1:local2`. */
  readonly largeCommunities: readonly string[];
  readonly stale: boolean;
}

/** The error body of every answer other than 2xx. */
export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
  /** The field's path in the resource, for `Invalid`. */
  readonly field?: string;
  /** The item of the batch, for `Invalid` on `POST /v1/resources`. */
  readonly index?: number;
  /** Of a failed `POST /v1/resources`: how many items (the first ones) were written before it failed. */
  readonly applied?: number;
}
