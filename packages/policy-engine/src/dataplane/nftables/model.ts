// What the generator produces: the desired content of the `inet twill` table, as plain
// data a driver can keep, compare with the previous one and turn into a delta script.

/** A named set: its nft type, whether it holds intervals, and its elements as nft text. */
export interface NftSet {
  /** `ipv4_addr`, `ipv4_addr . inet_proto . inet_service`, ... */
  readonly type: string;
  /** `flags interval`: elements may be prefixes and ranges. */
  readonly interval: boolean;
  /**
   * Distinct elements, each as nft writes it (`10.0.0.0/8 . 6 . 80-81`); disjoint in an
   * interval set. Interval sets' are sorted; a hash set's are in no particular order.
   */
  readonly elements: readonly string[];
  /**
   * How this set differs from an earlier version of it (`base`, held weakly): when the
   * table model being replaced holds exactly `base`, renderDelta writes these instead of
   * comparing every element.
   */
  readonly changes?: NftSetChanges;
}

/** A set's elements added and removed since `base`. */
export interface NftSetChanges {
  /** The earlier version of the set these changes apply to (weak: it may have been collected). */
  readonly base: WeakRef<NftSet>;
  /** Elements in this set that `base` lacks, as nft writes them. */
  readonly added: readonly string[];
  /** Elements of `base` this set no longer has. */
  readonly removed: readonly string[];
}

/** The chains and sets of one endpoint (both directions). */
export interface EndpointNft {
  /** Regular chains, by name: their rules in order, as nft rule text. */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  /** Named sets, by name. */
  readonly sets: ReadonlyMap<string, NftSet>;
  /** The entry chains the verdict maps jump to. */
  readonly entry: {
    /** The chain of traffic into the pod (leaving through its host-side interface). */
    readonly ingress: string;
    /** The chain of traffic out of the pod (entering from its host-side interface). */
    readonly egress: string;
  };
  /** Identities whose addresses the rules were built from (recompile when they move). */
  readonly identities: ReadonlySet<number>;
  /** Whether the rules look at the cluster sets (`world` peers). */
  readonly usesWorld: boolean;
}

/**
 * The whole desired table beyond its fixed base objects: every attached endpoint's
 * chains and sets, the verdict map elements, and the cluster address sets.
 */
export interface NftTableModel {
  /** Regular chains of every attached endpoint, by name: their rules in order, as nft rule text. */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  /** Named sets of every attached endpoint and the cluster sets, by name. */
  readonly sets: ReadonlyMap<string, NftSet>;
  /** Host-side interface → the chain its ingress traffic (leaving through it) jumps to. */
  readonly ingress: ReadonlyMap<string, string>;
  /** Host-side interface → the chain its egress traffic (entering from it) jumps to. */
  readonly egress: ReadonlyMap<string, string>;
  /**
   * The devices of the `ft_endpoints` flowtable (the attached endpoints' host-side
   * interfaces); absent: the table has no flowtable and no flow is offloaded.
   */
  readonly flowtable?: ReadonlySet<string>;
  /**
   * Connections the L7 redirect hands to the local proxy (`match`: the redirect's mark)
   * are checked in the input hook against their destination endpoint's ingress chain, by
   * destination address, so what L3/L4 denies is dropped before the proxy accepts it.
   * Absent: no such check (no L7 redirect).
   */
  readonly redirected?: NftRedirectedModel;
}

/** See {@link NftTableModel.redirected}. */
export interface NftRedirectedModel {
  /** What marks a redirected packet (`meta mark & 0x00000f00 == 0x00000200`). */
  readonly match: string;
  /** Attached endpoints' IPv4 addresses → their ingress chains. */
  readonly v4: ReadonlyMap<string, string>;
  /** Attached endpoints' IPv6 addresses → their ingress chains. */
  readonly v6: ReadonlyMap<string, string>;
}

/** An empty model (a table holding only its base objects). */
export const EMPTY_TABLE_MODEL: NftTableModel = { chains: new Map(), sets: new Map(), ingress: new Map(), egress: new Map() };
