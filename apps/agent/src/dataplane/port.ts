// The one port both policy dataplanes implement (nftables and eBPF). The agent's policy
// controller feeds it the policy engine's incremental diffs plus which endpoints are
// attached to this node; the driver programs the kernel. Drivers are chosen by
// configuration (`dataplane: "nftables" | "ebpf"`).
import { type BpfRuleRef, type PolicyIndexDiff } from '@twill/policy-engine';

/** The dataplane drivers Twill ships. */
export const DATAPLANE_DRIVERS = ['nftables', 'ebpf'] as const;
export type DataplaneDriverName = (typeof DATAPLANE_DRIVERS)[number];

/** The nflog group the agent's nftables driver gives Log rules (`log group N`); drops for flows go to another one. */
export const LOG_RULES_GROUP = 1;

/**
 * An endpoint on this node: the policy index's key (`x/a`) and the host side of its
 * veth (`tw<hash>`), where the driver enforces both directions. Ingress to the pod is
 * traffic leaving the host through this interface; egress from the pod enters through it.
 */
export interface EndpointAttachment {
  /** The endpoint's key in the policy index (`namespace/name`). */
  readonly key: string;
  /** The host-side interface name. */
  readonly hostInterface: string;
  /** Its ifindex in the host namespace, when the caller knows it (saves a lookup). */
  readonly ifindex?: number;
}

/**
 * One change to program, applied atomically as far as the driver's kernel interface
 * allows. `policy` is the index's diff for the same step (it may name endpoints of other
 * nodes: drivers keep their rules but program only attached endpoints). An endpoint in
 * `attach` whose rules are not known yet is programmed fail-closed (all traffic dropped)
 * until its rules arrive, never open.
 */
export interface DataplaneChange {
  readonly policy: PolicyIndexDiff;
  /** Endpoints that appeared on this node (or whose interface changed). */
  readonly attach?: readonly EndpointAttachment[];
  /** Keys of endpoints that left this node: remove everything programmed for them. */
  readonly detach?: readonly string[];
}

/** What one `apply` did, for metrics and logs. */
export interface ApplyReport {
  /** Endpoints whose programming changed on this node. */
  readonly endpoints: number;
  /** Kernel operations issued (nft transactions, map updates, attaches). */
  readonly operations: number;
  /** Wall time of the apply, in milliseconds. */
  readonly durationMs: number;
}

/** What the driver has programmed, read back from the kernel where it can be. */
export interface DataplaneStatus {
  readonly driver: DataplaneDriverName;
  /** Attached endpoints and whether each is fully programmed. */
  readonly endpoints: readonly { readonly key: string; readonly hostInterface: string; readonly programmed: boolean }[];
  /** Disagreements between the intended and the kernel's state, in words; empty when in sync. */
  readonly drift: readonly string[];
}

/**
 * A policy dataplane. `apply` calls are serialised by the caller. After a process
 * restart, a new driver instance adopts what the kernel holds (the nft table, pinned
 * maps and links) without opening anything; the first `apply` with the full state
 * (`PolicyIndex.allEffectiveRules()` as `changed`) makes it exact again.
 */
export interface Dataplane {
  readonly driver: DataplaneDriverName;
  apply(change: DataplaneChange): Promise<ApplyReport>;
  status(): Promise<DataplaneStatus>;
  /** Removes every table, chain, program, link and pinned object the driver created. */
  cleanup(): Promise<void>;
  /**
   * Starts reading the kernel's verdicts (eBPF: the tw_events ring buffer; nftables:
   * NFLOG messages of the drop rules and conntrack new-connection events). One reader
   * at a time; `close()` stops it (and, for eBPF, the program's event writing).
   * The kernel never waits for the reader: what it could not queue is reported through
   * `handler.lost`.
   */
  readFlows?(handler: DataplaneFlowHandler): DataplaneFlowReader;
}

/**
 * The deciding rule as the kernel reported it (the eBPF program's rule id resolved by
 * the compiler). `kind: 'default'`: no policy selected the endpoint in that direction.
 */
export type DataplaneRuleRef = BpfRuleRef;

/** One verdict the kernel reported: a new connection's, or one dropped packet's. */
export interface DataplaneFlowEvent {
  /** Wall-clock time of the kernel's event, in milliseconds since the epoch (fractional: microseconds kept). */
  readonly timeMs: number;
  /** The endpoint's host-side ifindex (0 when the kernel did not say). */
  readonly ifindex: number;
  /** The endpoint's policy key (`namespace/name`) when the driver knows it. */
  readonly endpoint?: string;
  /** The endpoint's direction the packet took: `ingress` into the pod, `egress` out of it. */
  readonly direction: 'ingress' | 'egress';
  readonly verdict: 'allow' | 'deny';
  /**
   * `policy`: programmed policy decided (a rule, a tier's default deny, or no policy);
   * `no-entry`: the endpoint's rules were not programmed yet and it is held fail-closed.
   */
  readonly reason: 'policy' | 'no-entry';
  /**
   * What decided, when the kernel says it (eBPF). Absent when the driver cannot tell
   * which rule (nftables merges rules into set lookups): the agent evaluates the flow
   * against its policy snapshot instead.
   */
  readonly rule?: DataplaneRuleRef;
  /**
   * nftables: what kind of drop rule logged it (`deny`: a Deny rule's run; `isolated`: a
   * tier's default deny; `no-entry`: fail-closed), to cross-check the evaluation.
   */
  readonly dropKind?: 'deny' | 'isolated' | 'no-entry';
  /** The remote side's identity or peer class number, when the kernel looked it up (eBPF). */
  readonly remoteIdentity?: number;
  /** IP protocol number. */
  readonly protocol: number;
  readonly source: string;
  readonly destination: string;
  /** TCP, UDP and SCTP ports (ICMP echo: the id as source port); 0 otherwise. */
  readonly sourcePort: number;
  readonly destinationPort: number;
  /** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80), when known. */
  readonly tcpFlags?: number;
  /** ICMP or ICMPv6 type and code. */
  readonly icmp?: { readonly type: number; readonly code: number };
  /**
   * The packet is a reply of a connection the dataplane tracks (it goes the other way:
   * `source` is the connection's responder). eBPF reports each connection's first reply
   * at each endpoint, allowed because the connection was (`rule`: what allowed it);
   * absent or false otherwise (nftables: a conntrack NEW event or a logged drop, never
   * a reply).
   */
  readonly isReply?: boolean;
}

/** Where a flow reader delivers. Called on the event loop; must not block. */
export interface DataplaneFlowHandler {
  /**
   * Events in batches (one per wake-up, at most a few thousand), in kernel order per
   * source: the nftables driver reads conntrack events on one socket per direction, so
   * its allow events are in order within a direction only.
   */
  events(batch: readonly DataplaneFlowEvent[]): void;
  /**
   * Events the kernel could not deliver (a full ring buffer or socket queue), counted
   * where the kernel counts them, in events; `source` says where (`ebpf-ringbuf`, `nflog`,
   * `conntrack`: exact, from the sockets' drop counters behind a filter that keeps only
   * the endpoints' connections).
   */
  lost(count: number, source: string): void;
  /** A read failed; reading goes on where it can. */
  error(error: unknown): void;
}

/** A running flow reader. */
export interface DataplaneFlowReader {
  close(): void;
}
