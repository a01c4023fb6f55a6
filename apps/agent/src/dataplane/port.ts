// The one port both policy dataplanes implement (nftables and eBPF). The agent's policy
// controller feeds it the policy engine's incremental diffs plus which endpoints are
// attached to this node; the driver programs the kernel. Drivers are chosen by
// configuration (`dataplane: "nftables" | "ebpf"`).
import { type PolicyIndexDiff } from '@twill/policy-engine';

/** The dataplane drivers Twill ships. */
export const DATAPLANE_DRIVERS = ['nftables', 'ebpf'] as const;
export type DataplaneDriverName = (typeof DATAPLANE_DRIVERS)[number];

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
}
