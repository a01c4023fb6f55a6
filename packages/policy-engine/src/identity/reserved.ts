// Numeric security identities, numbered as Cilium numbers them
// (pkg/identity/numericidentity.go), so flows and maps read the same in both.

/** A numeric security identity. */
export type NumericIdentity = number & {
  /** A type-only brand: a `NumericIdentity` is a plain number at run time. */
  readonly __brand: 'NumericIdentity';
};

/** The reserved identities, with Cilium's numbers. */
export const RESERVED_IDENTITY = {
  /** No identity: not a valid identity of anything (Cilium's `unknown`). */
  UNKNOWN: 0 as NumericIdentity,
  /** The local node. */
  HOST: 1 as NumericIdentity,
  /** Anything outside the cluster. */
  WORLD: 2 as NumericIdentity,
  /** Pods not managed by the CNI. */
  UNMANAGED: 3 as NumericIdentity,
  /** Cilium's health-check endpoints (label `reserved:health`). */
  HEALTH: 4 as NumericIdentity,
  /** Endpoints whose labels are not yet known. */
  INIT: 5 as NumericIdentity,
  /** Other nodes of the cluster. */
  REMOTE_NODE: 6 as NumericIdentity,
  /** The Kubernetes API server's addresses (Cilium's `kube-apiserver` entity). */
  KUBE_APISERVER: 7 as NumericIdentity,
  /** Cilium's ingress proxy, the source of traffic it forwards (kept for Cilium's numbering). */
  INGRESS: 8 as NumericIdentity,
  /** IPv4 addresses outside the cluster: `world`, restricted to IPv4 (Cilium's dual-stack split). */
  WORLD_IPV4: 9 as NumericIdentity,
  /** IPv6 addresses outside the cluster: `world`, restricted to IPv6 (Cilium's dual-stack split). */
  WORLD_IPV6: 10 as NumericIdentity,
} as const;

/** The first identity given to a label set (Cilium's MinimalNumericIdentity); below it all are reserved. */
export const FIRST_LABEL_IDENTITY = 256;

/** The last identity given to a label set: cluster-local identities are 16 bits. */
export const LAST_LABEL_IDENTITY = 65535;

const RESERVED_NAMES: Readonly<Record<number, string>> = {
  0: 'unknown',
  1: 'host',
  2: 'world',
  3: 'unmanaged',
  4: 'health',
  5: 'init',
  6: 'remote-node',
  7: 'kube-apiserver',
  8: 'ingress',
  9: 'world-ipv4',
  10: 'world-ipv6',
};

/** The name of a reserved identity (`world`), or `undefined` for an allocated one. */
export function reservedIdentityName(identity: NumericIdentity): string | undefined {
  return RESERVED_NAMES[identity];
}

/** Whether `identity` is reserved (below {@link FIRST_LABEL_IDENTITY}). */
export function isReservedIdentity(identity: NumericIdentity): boolean {
  return identity < FIRST_LABEL_IDENTITY;
}
