// Typed views of Calico's node and routing kinds as the datastore stores them (validated
// by validate-calico.ts), and the defaults a Calico user expects when a field is absent.
import { type StoredResource } from '../ports.js';

/** Calico's defaults for BGPConfiguration (what a cluster without one runs with). */
export const BGP_CONFIGURATION_DEFAULTS = Object.freeze({
  /** The private AS every node is in unless configured (Calico's 64512). */
  asNumber: 64512,
  /** A full mesh of BGP sessions between the nodes. */
  nodeToNodeMeshEnabled: true,
  /** BGP's port (RFC 4271 §8.2.1). */
  listenPort: 179,
});

/** Calico's default IPAM block sizes: /26 for IPv4 pools, /122 for IPv6. */
export const IP_POOL_BLOCK_SIZE_DEFAULTS = Object.freeze({ 4: 26, 6: 122 });

/** `spec` of a Calico Node (`nodes.projectcalico.org`). */
export interface CalicoNodeSpec {
  readonly bgp?: {
    /** The node's IPv4 address with its subnet's prefix length: `10.0.0.1/24`. */
    readonly ipv4Address?: string;
    /** The node's IPv6 address with its prefix length: `fd00::1/64`. */
    readonly ipv6Address?: string;
    /** The node's own AS; the BGPConfiguration's when absent. */
    readonly asNumber?: number;
    /**
     * Makes the node a route reflector (RFC 4456) with this CLUSTER_ID, a dotted quad: its
     * iBGP peers that are not reflectors of the same cluster are its clients, and it takes
     * no part in the node-to-node mesh.
     */
    readonly routeReflectorClusterID?: string;
  };
  readonly addresses?: readonly { readonly address: string; readonly type?: 'CalicoNodeIP' | 'InternalIP' | 'ExternalIP' }[];
}

/** A key of a Secret in the agent's own namespace (Kubernetes' SecretKeySelector, as Calico uses it). */
export interface SecretKeyRef {
  /** The Secret's name. */
  readonly name: string;
  /** The key in its `data`. */
  readonly key: string;
}

/**
 * A TCP MD5 password (RFC 2385): Calico's `{secretKeyRef}`, read through the datastore's
 * Secrets when the session starts, or the password inline (twill's form for a datastore
 * without Secrets).
 */
export type BgpPassword = string | { readonly secretKeyRef: SecretKeyRef };

/** `spec` of a BGPPeer (`bgppeers.projectcalico.org`). */
export interface BgpPeerSpec {
  /** The node that peers; every node (or `nodeSelector`'s) when absent. */
  readonly node?: string;
  /** A Calico selector of the nodes that peer. */
  readonly nodeSelector?: string;
  /** The peer's address, optionally with a port: `10.0.0.254`, `10.0.0.254:1179`, `[fd00::fe]:1179`. */
  readonly peerIP?: string;
  /** The peer's AS (with `peerIP`). */
  readonly asNumber?: number;
  /** A Calico selector of Calico nodes to peer with (instead of `peerIP`), each with its own AS. */
  readonly peerSelector?: string;
  /**
   * `Auto` (the default): the nodes `peerSelector` picks peer back with the nodes this
   * BGPPeer applies to, so one BGPPeer configures both ends; `Manual`: only this direction.
   */
  readonly reversePeering?: 'Auto' | 'Manual';
  readonly keepOriginalNextHop?: boolean;
  readonly sourceAddress?: 'UseNodeIP' | 'None';
  /** GTSM (RFC 5082): how many hops away the peer may be. */
  readonly ttlSecurity?: number;
  /** The TCP MD5 password (RFC 2385). */
  readonly password?: BgpPassword;
  readonly maxRestartTime?: string;
  readonly numAllowedLocalASNumbers?: number;
  readonly filters?: readonly string[];
  readonly reachableBy?: string;
}

/** `spec` of a BGPConfiguration (`bgpconfigurations.projectcalico.org`). */
export interface BgpConfigurationSpec {
  readonly asNumber?: number;
  readonly nodeToNodeMeshEnabled?: boolean;
  readonly listenPort?: number;
  readonly logSeverityScreen?: 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal';
  readonly serviceClusterIPs?: readonly { readonly cidr: string }[];
  readonly serviceExternalIPs?: readonly { readonly cidr: string }[];
  readonly serviceLoadBalancerIPs?: readonly { readonly cidr: string }[];
  readonly bindMode?: 'None' | 'NodeIP';
  /** The mesh sessions' TCP MD5 password. */
  readonly nodeMeshPassword?: BgpPassword;
  readonly nodeMeshMaxRestartTime?: string;
  readonly ignoredInterfaces?: readonly string[];
}

/** `spec` of an IPPool (`ippools.projectcalico.org`). */
export interface IpPoolSpec {
  /** The pool's network: `192.168.0.0/16`. */
  readonly cidr: string;
  /** The prefix length of the blocks nodes take from it (default {@link IP_POOL_BLOCK_SIZE_DEFAULTS}). */
  readonly blockSize?: number;
  /** A Calico selector of the nodes that allocate from it (all when absent). */
  readonly nodeSelector?: string;
  /** No new allocations from a disabled pool. */
  readonly disabled?: boolean;
  readonly ipipMode?: 'Never' | 'Always' | 'CrossSubnet';
  readonly vxlanMode?: 'Never' | 'Always' | 'CrossSubnet';
  readonly natOutgoing?: boolean;
  readonly disableBGPExport?: boolean;
  readonly allowedUses?: readonly ('Workload' | 'Tunnel' | 'LoadBalancer')[];
}

/** The BGP settings in effect on a node, every default filled in. */
export interface EffectiveBgpConfiguration {
  readonly asNumber: number;
  readonly nodeToNodeMeshEnabled: boolean;
  readonly listenPort: number;
  readonly spec: BgpConfigurationSpec;
}

/** The `spec` of a stored Calico resource, typed by what validation let through. */
export function calicoSpec<T>(resource: StoredResource): T {
  return (resource['spec'] ?? {}) as T;
}

/**
 * The BGP settings in effect on `nodeName`: Calico's `default` BGPConfiguration, with
 * `node.<nodeName>`'s fields over it, and {@link BGP_CONFIGURATION_DEFAULTS} for what
 * neither sets.
 */
export function effectiveBgpConfiguration(configurations: readonly StoredResource[], nodeName: string): EffectiveBgpConfiguration {
  const byName = new Map(configurations.map((c) => [c.metadata.name, calicoSpec<BgpConfigurationSpec>(c)]));
  const spec: BgpConfigurationSpec = { ...byName.get('default'), ...byName.get(`node.${nodeName}`) };
  return {
    asNumber: spec.asNumber ?? BGP_CONFIGURATION_DEFAULTS.asNumber,
    nodeToNodeMeshEnabled: spec.nodeToNodeMeshEnabled ?? BGP_CONFIGURATION_DEFAULTS.nodeToNodeMeshEnabled,
    listenPort: spec.listenPort ?? BGP_CONFIGURATION_DEFAULTS.listenPort,
    spec,
  };
}

/** An IP pool's block size: its own, or Calico's default for its family. */
export function ipPoolBlockSize(spec: IpPoolSpec): number {
  return spec.blockSize ?? IP_POOL_BLOCK_SIZE_DEFAULTS[spec.cidr.includes(':') ? 6 : 4];
}
