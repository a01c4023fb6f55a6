// Graceful restart (RFC 4724) decisions, pure: the capability this speaker sends, what
// a peer's capability allows as helper (keep its routes when its session drops), and
// which families' stale routes must go when it comes back without its forwarding state.
import { type Capability, type GracefulRestartCapability } from '../codec/capabilities.js';
import { AFI, SAFI } from '../codec/constants.js';
import { type DownReason } from '../fsm/types.js';

import { type SessionFamilies } from './updates.js';

/** Graceful restart settings of a speaker (RFC 4724). */
export interface GracefulRestartConfig {
  /** Seconds peers should keep this speaker's routes while it restarts (the capability's Restart Time, at most 4095; default 120). */
  readonly restartTime?: number;
  /**
   * This speaker has just restarted and kept its forwarding state (the agent left the
   * kernel routes in place): the R and F bits are set, and each graceful-restart peer
   * gets this speaker's table and End-of-RIB only after the peer's own End-of-RIB or
   * `selectionDeferralTime` (RFC 4724 §4.1), so that it replaces what the peer kept.
   */
  readonly restarting?: boolean;
  /** Seconds to wait for peers' End-of-RIB after a restart (default `restartTime`). */
  readonly selectionDeferralTime?: number;
  /** As helper: seconds to keep a restarted peer's stale routes once its session is back, waiting for its End-of-RIB (default 360). */
  readonly staleRoutesTime?: number;
}

/** The default Restart Time, s (RFC 4724 §3 suggests a value no greater than the hold time; 120 is common practice). */
export const DEFAULT_RESTART_TIME = 120;

/** The capability this speaker sends for `families`. */
export function gracefulRestartCapability(config: GracefulRestartConfig, families: readonly { afi: number; safi: number }[]): GracefulRestartCapability {
  const restarting = config.restarting ?? false;
  return {
    kind: 'graceful-restart',
    restarting,
    notification: false,
    restartTime: Math.min(4095, config.restartTime ?? DEFAULT_RESTART_TIME),
    families: families.map((f) => ({ afi: f.afi, safi: f.safi, forwardingPreserved: restarting })),
  };
}

/** The peer's graceful restart capability, if it sent one. */
export function peerGracefulRestart(capabilities: readonly Capability[]): GracefulRestartCapability | undefined {
  return capabilities.find((c): c is GracefulRestartCapability => c.kind === 'graceful-restart');
}

/**
 * As helper (RFC 4724 §4.2): how many seconds to keep the routes of a peer whose session
 * just ended, or 0 to drop them. Only a TCP failure counts as a restart (a NOTIFICATION
 * ends the session for good without RFC 8538, which this speaker does not announce),
 * and only when both sides announced graceful restart with a non-zero restart time.
 */
export function helperRetention(local: GracefulRestartConfig | undefined, peer: GracefulRestartCapability | undefined, reason: DownReason): number {
  if (!local || !peer || peer.restartTime === 0 || peer.families.length === 0) return 0;
  return reason.kind === 'connection-failed' ? peer.restartTime : 0;
}

/** The IP families (4, 6) whose unicast routes the peer asked to have kept. */
export function retainedFamilies(peer: GracefulRestartCapability): Set<4 | 6> {
  const out = new Set<4 | 6>();
  for (const f of peer.families) {
    if (f.safi !== SAFI.UNICAST) continue;
    if (f.afi === AFI.IPV4) out.add(4);
    if (f.afi === AFI.IPV6) out.add(6);
  }
  return out;
}

/**
 * RFC 4724 §4.2: on the new session, stale routes of a family go at once when the peer's
 * new OPEN does not name it with the F bit (forwarding state lost), or has no
 * capability at all; the others wait for its End-of-RIB.
 */
export function familiesToFlush(peer: GracefulRestartCapability | undefined): Set<4 | 6> {
  const out = new Set<4 | 6>([4, 6]);
  for (const f of peer?.families ?? []) {
    if (f.safi !== SAFI.UNICAST || !f.forwardingPreserved) continue;
    if (f.afi === AFI.IPV4) out.delete(4);
    if (f.afi === AFI.IPV6) out.delete(6);
  }
  return out;
}

/** The unicast families of a session as AFI/SAFI pairs. */
export function afiSafis(families: SessionFamilies): { afi: number; safi: number }[] {
  const out: { afi: number; safi: number }[] = [];
  if (families.ipv4) out.push({ afi: AFI.IPV4, safi: SAFI.UNICAST });
  if (families.ipv6) out.push({ afi: AFI.IPV6, safi: SAFI.UNICAST });
  return out;
}
