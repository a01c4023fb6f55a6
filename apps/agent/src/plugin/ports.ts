// What the plugin's handlers need from the outside world, as ports: the kernel plumbing
// (sys/veth-plumbing.ts), the embedded datastore (an @twill/ipam Store), and delegated
// IPAM plugins (cni-core's delegate helpers). Tests substitute any of them.
import { type CniResult, type DelegateOptions } from '@twill/cni-core';
import { type Store } from '@twill/ipam';

import { type TwillConfig, type TwillDatastoreType } from './config.js';

/** What ADD plumbs: a veth pair between the node and the pod. */
export interface PodPlumbingRequest {
  /** The pod's network namespace (CNI_NETNS). */
  readonly netns: string;
  /** The pod side's name (CNI_IFNAME). */
  readonly ifName: string;
  /** The host side's name (`tw<hash>`). */
  readonly hostInterface: string;
  /** MTU of both ends, in bytes. */
  readonly mtu: number;
  /** The pod's addresses, full length (`10.244.0.5/32`, `fd00::5/128`). */
  readonly addresses: readonly string[];
}

/** What ADD plumbed, for the result's `interfaces`. */
export interface PlumbedPod {
  readonly hostMac?: string;
  readonly podMac?: string;
}

/** Which attachment DEL removes; the namespace may be gone. */
export interface PodUnplumbRequest {
  readonly netns: string | undefined;
  readonly ifName: string;
  readonly hostInterface: string;
}

/** The kernel side of the plugin: veth pairs, addresses, routes, sysctls. */
export interface Plumbing {
  /**
   * Creates the veth pair and configures both ends. All or nothing: on failure what it
   * made is removed (never a link someone else owns) and the error is thrown.
   * @throws LinkExistsError (120) on a name clash; NetnsMissingError (3) for a missing netns.
   */
  add(request: PodPlumbingRequest): Promise<PlumbedPod>;
  /** Removes the pair (through the host side, or the pod side if that alone is left). Idempotent. */
  remove(request: PodUnplumbRequest): Promise<void>;
  /**
   * The differences between the kernel and `request`, in words; empty when all is in place.
   * @throws NetnsMissingError (3) for a missing netns.
   */
  check(request: PodPlumbingRequest): Promise<readonly string[]>;
}

/** One pod attachment on this node, as the datastore records it. */
export interface EndpointRecord {
  readonly network: string;
  readonly containerId: string;
  readonly ifName: string;
  readonly hostInterface: string;
  /** The pod's addresses, full length. */
  readonly addresses: readonly string[];
  readonly netns?: string;
  /** K8S_POD_NAMESPACE from CNI_ARGS. */
  readonly namespace?: string;
  /** K8S_POD_NAME from CNI_ARGS. */
  readonly pod?: string;
  /** When ADD registered it (milliseconds since the epoch). */
  readonly since: number;
  /**
   * The node it is on: pool mode's `ipam.nodeName`, else the host name. Absent in records
   * written before nodes were recorded (read as this node's).
   */
  readonly node?: string;
}

/**
 * Where endpoints are registered: the standalone plugin records them in the embedded
 * store ({@link StoreEndpointRegistry}); the agent will satisfy it with its endpoint
 * controller (labels, policy in place before ADD returns).
 */
export interface EndpointRegistry {
  /** Records (or replaces) the endpoint of `record.containerId`. */
  register(record: EndpointRecord): Promise<void>;
  /** The endpoint of a container, if one is recorded. */
  get(network: string, containerId: string): Promise<EndpointRecord | undefined>;
  /** Forgets the endpoint of a container; idempotent. */
  unregister(network: string, containerId: string): Promise<void>;
  /** Every endpoint of a network. */
  list(network: string): Promise<readonly EndpointRecord[]>;
  /**
   * Puts the endpoint's policy in place: ADD calls it once the links exist and returns
   * only after it resolves (the agent's policy controller; the standalone plugin has none).
   * A rejection fails the ADD, which undoes every step.
   */
  enforce?(record: EndpointRecord): Promise<void>;
  /** CHECK's part for policy: how the endpoint's enforcement differs from what it should be, in words; empty when in place. */
  checkPolicy?(record: EndpointRecord): Promise<readonly string[]>;
}

/** What the agent adds to the registry of the plugin it serves (see `serveTwill`). */
export interface EndpointPolicyHooks {
  /** Resolves once the endpoint's policy is programmed. */
  enforce(record: EndpointRecord): Promise<void>;
  /** Drops what was programmed for a container's endpoint; called after the record is gone. */
  forget(network: string, containerId: string): Promise<void>;
  /** For CHECK: differences between the endpoint's enforcement and what it should be, in words. */
  check?(record: EndpointRecord): Promise<readonly string[]>;
}

/** The embedded datastore a call works on. */
export interface Datastore {
  readonly store: Store;
  readonly endpoints: EndpointRegistry;
  /** Where it lives, for messages. */
  readonly location: string;
}

/** Delegated IPAM (cni-core's delegateAdd/Del/Check signatures). */
export interface DelegateIpam {
  add(type: string, config: Uint8Array, options: DelegateOptions): Promise<CniResult>;
  del(type: string, config: Uint8Array, options: DelegateOptions): Promise<void>;
  check(type: string, config: Uint8Array, options: DelegateOptions): Promise<void>;
}

/** Where the plugin logs: a pino logger fits (`obj` first, then the message). */
export interface TwillLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * The Kubernetes Pods the plugin attaches, when twill-agent serves it on the Kubernetes
 * datastore: ADD looks its Pod up first and records the Pod's addresses on it; DEL removes them.
 */
export interface PodDirectory {
  /**
   * Checks that the Pod exists (ADD's first step: nothing is allocated for a stale request).
   * @throws PodNotFoundError (123) naming namespace/name; a TwillPluginError code 11 when
   * the API cannot be asked.
   */
  require(namespace: string, pod: string): Promise<void>;
  /** After a successful ADD: records the endpoint's addresses and container on its Pod. Never throws (logs). */
  added(record: EndpointRecord): Promise<void>;
  /** After DEL: removes what {@link added} recorded, when the Pod still names this container. Never throws (logs). */
  deleted(record: EndpointRecord): Promise<void>;
}

/** Everything the handlers need. */
export interface TwillPluginPorts {
  readonly plumbing: Plumbing;
  /**
   * The datastore for a configuration; `release()` when done (the standalone plugin
   * closes it, a warm server keeps it open).
   * @throws DatastoreNotReadyError (50) when it cannot be opened.
   */
  openDatastore(config: TwillConfig): Promise<{ readonly datastore: Datastore; release(): Promise<void> }>;
  readonly delegate: DelegateIpam;
  /** The node's name: pool mode's default `ipam.nodeName`. */
  hostname(): string;
  /** The clock (milliseconds since the epoch). */
  now(): number;
  /** The logger for a configuration (`logLevel`, `logFile`); without it nothing is logged. */
  logger?(config: TwillConfig): TwillLogger;
  /** The process environment delegates inherit beneath the CNI_* variables. */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * The datastore the agent serving these calls runs on; absent for the standalone plugin,
   * which opens the configuration's SQLite store itself and so refuses `datastore:
   * "kubernetes"` (AgentNotRunningError). A configuration naming another datastore than the
   * agent's is DatastoreMismatchError.
   */
  readonly datastore?: TwillDatastoreType;
  /** The Pods, on the Kubernetes datastore (see {@link PodDirectory}). */
  readonly pods?: PodDirectory;
}
