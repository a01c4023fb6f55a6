// What policies select: endpoints (pods and host interfaces), namespaces and network sets.

import { type Labels } from './labels.js';

/** The protocol numbers of IANA's registry that the dialects name. */
export const PROTOCOL = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ICMPV6: 58,
  SCTP: 132,
  UDPLITE: 136,
} as const;

/** An IP protocol number, 0-255. */
export type ProtocolNumber = number;

const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  1: 'ICMP',
  6: 'TCP',
  17: 'UDP',
  58: 'ICMPv6',
  132: 'SCTP',
  136: 'UDPLite',
};

/** The usual name of a protocol number (`TCP`), or the number itself as text. */
export function protocolName(protocol: ProtocolNumber): string {
  return PROTOCOL_NAMES[protocol] ?? String(protocol);
}

/**
 * The number of a protocol given by name (case-insensitive: TCP, UDP, SCTP, ICMP,
 * ICMPv6, UDPLite) or as a number 0-255; `undefined` for anything else.
 */
export function protocolNumber(protocol: string | number): ProtocolNumber | undefined {
  if (typeof protocol === 'number') {
    return Number.isInteger(protocol) && protocol >= 0 && protocol <= 255 ? protocol : undefined;
  }
  const upper = protocol.toUpperCase();
  for (const [number, name] of Object.entries(PROTOCOL_NAMES)) {
    if (name.toUpperCase() === upper) return Number(number);
  }
  return /^(0|[1-9]\d{0,2})$/.test(protocol) && Number(protocol) <= 255 ? Number(protocol) : undefined;
}

/** A container port with a name, which policies can refer to by that name. */
export interface NamedPort {
  /** The port's name (a container port's `name`), as rules refer to it. */
  readonly name: string;
  /** The port's IP protocol number (see {@link PROTOCOL}); a rule's named port matches only with the same protocol. */
  readonly protocol: ProtocolNumber;
  /** 1-65535. */
  readonly port: number;
}

/** A namespace: a name and labels (Kubernetes adds `kubernetes.io/metadata.name` itself; so should callers). */
export interface Namespace {
  /** The namespace name. */
  readonly name: string;
  /** The namespace's labels, which namespace selectors match. */
  readonly labels: Labels;
}

/** A service account, whose name and labels Calico rules can select on. */
export interface ServiceAccount {
  /** The service account name, unique within its namespace. */
  readonly name: string;
  /** The service account's labels, which Calico's `serviceAccounts.selector` matches. */
  readonly labels: Labels;
}

/** The kinds of endpoint that policy is enforced on. */
export const ENDPOINT_KIND = {
  /** A pod's interface (Calico WorkloadEndpoint, a Cilium endpoint). */
  WORKLOAD: 'workload',
  /** A node's own interfaces (Calico HostEndpoint; Cilium's reserved host / remote-node). */
  HOST: 'host',
} as const;

/** One of {@link ENDPOINT_KIND}. */
export type EndpointKind = (typeof ENDPOINT_KIND)[keyof typeof ENDPOINT_KIND];

/**
 * An endpoint: a pod or a host. Workloads live in a namespace; hosts do not. Cilium's
 * special endpoints (health, init, unmanaged) are workloads carrying the label
 * `reserved:health` (and so on), as Cilium labels them.
 */
export interface Endpoint {
  /** A pod (`workload`) or a host: see {@link ENDPOINT_KIND}. */
  readonly kind: EndpointKind;
  /** The pod name, or the host endpoint's name. Unique per namespace (hosts: cluster-wide). */
  readonly name: string;
  /** The namespace name; required for workloads, absent for hosts. */
  readonly namespace?: string;
  /** The endpoint's labels (a pod's labels), which endpoint selectors match. */
  readonly labels: Labels;
  /** The name of the service account the pod runs as, in its namespace; absent when it has none (or for hosts). */
  readonly serviceAccount?: string;
  /** The endpoint's addresses; CIDR rules match flows by these. */
  readonly ips: readonly string[];
  /** The endpoint's named container ports, which a rule's named port resolves against; absent: none. */
  readonly namedPorts?: readonly NamedPort[];
  /** The node it runs on: tells Cilium's `host` (this node) from `remote-node`. */
  readonly node?: string;
}

/** A set of networks with labels, selectable like an endpoint (Calico NetworkSet / GlobalNetworkSet). */
export interface NetworkSet {
  /** The network set's name, unique per namespace (global sets: cluster-wide). */
  readonly name: string;
  /** Absent for a global network set. */
  readonly namespace?: string;
  /** The set's labels, which selectors match as they match an endpoint's. */
  readonly labels: Labels;
  /** CIDRs. */
  readonly nets: readonly string[];
}

/** How an endpoint is named in traces and flows: a namespace and a name, or a name alone for hosts (see {@link formatEndpointRef}). */
export interface EndpointRef {
  /** The namespace of a workload; absent for a host endpoint. */
  readonly namespace?: string;
  /** The pod name, or the host endpoint's name. */
  readonly name: string;
}

/** The text of an endpoint reference: `x/a` for pods, `host:node-1` for hosts. */
export function formatEndpointRef(ref: EndpointRef): string {
  return ref.namespace === undefined ? `host:${ref.name}` : `${ref.namespace}/${ref.name}`;
}
