// The conformance suite's options, ports and report. The suite itself is pure: plugins
// run through the PluginExec port and throwaway pod namespaces come from the
// NamespacePort, whose Linux implementations live in sys/.
import { type PluginExec, type ResultCache } from '../invoke/types.js';

/** A throwaway pod network namespace made by a {@link NamespacePort}. */
export interface ThrowawayNetns {
  /** The path given to plugins as `CNI_NETNS` (`/run/netns/NAME` on Linux). */
  readonly path: string;
}

/**
 * Creates and removes the throwaway pod namespaces the suite attaches to.
 * `linuxNamespaces()` (sys/) makes real ones; tests may inject a fake.
 */
export interface NamespacePort {
  /** Creates a new, empty network namespace. */
  create(): Promise<ThrowawayNetns>;
  /** Removes a namespace this port created; no error when it is already gone. */
  remove(netns: ThrowawayNetns): Promise<void>;
}

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /**
   * The network configuration under test: a configuration list (`.conflist`) or a single
   * configuration (`.conf`), as bytes or text. Every plugin it names (and every IPAM
   * plugin they delegate to) is checked.
   */
  readonly config: Uint8Array | string;
  /** Folders searched for the plugin executables, in order (CNI_PATH). */
  readonly path: readonly string[];
  /** Makes and removes the throwaway pod namespaces. */
  readonly namespaces: NamespacePort;
  /**
   * Runs plugins. Default: real executables (`nodePluginExec`) with a minimal base
   * environment (`PATH` only), so no `CNI_*` variable of the caller leaks into the
   * environment checks. A custom port must not add `CNI_*` variables either.
   * Exclusive with {@link ConformanceOptions.hostNetns}.
   */
  readonly exec?: PluginExec;
  /**
   * Path of a network namespace the plugins run in, as if it were the host (`nsenter
   * --net=PATH`): the bridge plugin creates its bridge there, ptp its host-side veth.
   * Exclusive with {@link ConformanceOptions.exec}.
   */
  readonly hostNetns?: string;
  /** Where the runtime keeps ADD results between calls (default: in memory). */
  readonly cache?: ResultCache;
  /** Each plugin call is killed after this many milliseconds (default 30 000). */
  readonly timeoutMs?: number;
  /** The `CNI_IFNAME` of the attachments (default `eth0`). */
  readonly ifName?: string;
  /**
   * Prefix of the container ids the suite makes (default `cnct-` and a random part), each
   * followed by a counter. Must be a valid container id.
   */
  readonly containerIdPrefix?: string;
  /** Called with each check as soon as it is decided, for progress output. */
  readonly onCheck?: (check: ConformanceCheck) => void;
}

/** The outcome of one check. */
export const CHECK_STATUS = {
  PASSED: 'passed',
  FAILED: 'failed',
  /** The check does not apply (a version the plugins do not claim), or a prerequisite failed. */
  NOT_APPLICABLE: 'not-applicable',
} as const;

/** One of {@link CHECK_STATUS}. */
export type CheckStatus = (typeof CHECK_STATUS)[keyof typeof CHECK_STATUS];

/** One decided check of a {@link ConformanceReport}. */
export interface ConformanceCheck {
  /** Stable id, such as `version`, `env.missing-command`, `add@1.0.0`, `del.twice`. */
  readonly id: string;
  /** What is checked, in words. */
  readonly title: string;
  /** The executable a per-plugin check ran (VERSION and error checks); absent for the network's checks. */
  readonly plugin?: string;
  /** Whether it passed, failed or does not apply. */
  readonly status: CheckStatus;
  /** Why it failed or does not apply; for a pass, a short note of what was seen. */
  readonly reason: string;
}

/** Counts of a report's checks by status. */
export interface ConformanceSummary {
  /** Checks that passed. */
  readonly passed: number;
  /** Checks that failed. */
  readonly failed: number;
  /** Checks that do not apply to these plugins. */
  readonly notApplicable: number;
}

/** What {@link runConformance} found. */
export interface ConformanceReport {
  /** The network's name. */
  readonly network: string;
  /** The executables checked: the list's plugin types, then the IPAM types they name. */
  readonly plugins: readonly string[];
  /** The versions each executable claims in its VERSION answer (absent when that answer was bad). */
  readonly claimedVersions: Readonly<Record<string, readonly string[]>>;
  /** The version of the lifecycle checks (CHECK, DEL, GC, STATUS): the highest all plugins claim. */
  readonly version: string;
  /** Every check, in the order run. */
  readonly checks: readonly ConformanceCheck[];
  /** The checks counted by status. */
  readonly summary: ConformanceSummary;
  /** Things that went wrong outside the checks, such as a cleanup DEL that failed. */
  readonly notes: readonly string[];
}
