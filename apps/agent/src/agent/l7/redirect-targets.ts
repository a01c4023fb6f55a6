// Which TCP traffic goes to the L7 proxy: the contract between the policy side (what the
// endpoints' effective rules ask for) and the redirect (the nftables tproxy rules that
// carry it out). Pure data.

/** A TCP port range, both ends included (`first === last` for one port). */
export interface L7PortRange {
  /** The first port, 1-65535. */
  readonly first: number;
  /** The last port, `first`-65535. */
  readonly last: number;
}

/** Traffic to an endpoint that its ingress L7 rules decide: to `address` on `ports`. */
export interface L7IngressTarget {
  /** The endpoint's address (IPv4 or IPv6, canonical text, no prefix length). */
  readonly address: string;
  /** The endpoint ports some ingress L7 rule covers. */
  readonly ports: readonly L7PortRange[];
}

/** Traffic from an endpoint that its egress L7 rules decide: from its host-side interface to `ports`. */
export interface L7EgressTarget {
  /** The endpoint's host-side interface on this node (its traffic enters the node there). */
  readonly hostInterface: string;
  /** The destination ports some egress L7 rule covers. */
  readonly ports: readonly L7PortRange[];
}

/** Everything the proxy must see on this node; all other traffic is left alone. */
export interface L7RedirectTargets {
  /** Connections to these endpoints' addresses and ports. */
  readonly ingress: readonly L7IngressTarget[];
  /** Connections from these endpoints to these ports. */
  readonly egress: readonly L7EgressTarget[];
}

/** No traffic redirected. */
export const NO_L7_TARGETS: L7RedirectTargets = Object.freeze({ ingress: [], egress: [] });
