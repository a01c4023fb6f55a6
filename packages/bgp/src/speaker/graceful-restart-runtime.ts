// Graceful restart (RFC 4724) at run time, for the speaker: as helper, keeping a
// restarting peer's routes stale under the Restart and stale-routes timers; as
// restarting speaker, holding each peer's table until its End-of-RIB.
import { type GracefulRestartCapability } from '../codec/capabilities.js';
import { AFI } from '../codec/constants.js';
import { type DownReason } from '../fsm/types.js';
import { type Rib } from '../rib/rib.js';

import { type GracefulRestartConfig, DEFAULT_RESTART_TIME, familiesToFlush, helperRetention, retainedFamilies } from './graceful-restart.js';
import { type PeerRuntime, type SpeakerTimerName, SPEAKER_TIMER } from './peer-runtime.js';
import { type SpeakerLogger } from './types.js';

/** What the runtime needs from the speaker. */
export interface GracefulRestartDeps {
  readonly rib: Rib;
  readonly config: GracefulRestartConfig | undefined;
  readonly logger?: SpeakerLogger;
  /** Starts (or restarts) one of the peer's timers. */
  startTimer(peer: PeerRuntime, timer: SpeakerTimerName, seconds: number, fire: () => void): void;
  /** Asks for a RIB flush soon. */
  scheduleFlush(): void;
}

/** The speaker's graceful restart behaviour, both roles. */
export class GracefulRestartRuntime {
  constructor(private readonly deps: GracefulRestartDeps) {}

  /**
   * An Established session ended: its routes go, unless the peer is restarting
   * gracefully (RFC 4724 §4.2): then they stay, marked stale, for its Restart Time.
   */
  sessionDown(peer: PeerRuntime, reason: DownReason): void {
    const { rib } = this.deps;
    const gr = peer.peerGracefulRestart;
    const keepSeconds = helperRetention(this.deps.config, gr, reason);
    peer.cancel(SPEAKER_TIMER.STALE);
    if (keepSeconds > 0 && gr) {
      rib.peerDown(peer.id, { gracefulRestart: true });
      // Only the families the peer asked to have kept.
      const kept = retainedFamilies(gr);
      for (const family of [4, 6] as const) if (!kept.has(family)) rib.sweepStale(peer.id, family);
      this.deps.logger?.info({ peer: peer.config.address, seconds: keepSeconds }, 'bgp peer restarting: keeping its routes as stale');
      this.deps.startTimer(peer, SPEAKER_TIMER.RESTART, keepSeconds, () => this.sweep(peer, `peer ${peer.config.address} did not come back within its restart time of ${keepSeconds} s`));
    } else {
      peer.cancel(SPEAKER_TIMER.RESTART);
      rib.peerDown(peer.id);
    }
    this.deps.scheduleFlush();
  }

  /**
   * This speaker stops for a restart while the session is up: the peer's routes stay,
   * marked stale, until its End-of-RIB on the next session (or `staleRoutesTime`).
   */
  localRestart(peer: PeerRuntime): void {
    this.deps.rib.peerDown(peer.id, { gracefulRestart: true });
    peer.cancel(SPEAKER_TIMER.RESTART);
    peer.localRestart = true;
  }

  /**
   * The session is Established again (after `Rib.peerUp`): as helper, stale routes of
   * families whose forwarding state the peer lost go now and the rest wait for its
   * End-of-RIB (RFC 4724 §4.2); as restarting speaker, this peer's table is held until
   * its End-of-RIB or the selection deferral time (§4.1).
   */
  sessionUp(peer: PeerRuntime, gr: GracefulRestartCapability | undefined): void {
    const { rib, config } = this.deps;
    peer.endOfRibReceived.clear();
    const wasRestarting = peer.timers.has(SPEAKER_TIMER.RESTART);
    peer.cancel(SPEAKER_TIMER.RESTART);
    const weRestarted = peer.localRestart;
    peer.localRestart = false;
    if (peer.inRib && rib.peerStats(peer.id).stale > 0) {
      // After our own restart the peer lost nothing: all its stale routes wait for its End-of-RIB.
      if (!weRestarted) for (const family of familiesToFlush(wasRestarting ? gr : undefined)) rib.sweepStale(peer.id, family);
      const staleTime = config?.staleRoutesTime ?? 360;
      if (rib.peerStats(peer.id).stale > 0) {
        this.deps.startTimer(peer, SPEAKER_TIMER.STALE, staleTime, () => this.sweep(peer, `peer ${peer.config.address} sent no End-of-RIB within ${staleTime} s of its restart`));
      }
    }
    if (config?.restarting && gr && !peer.restartDone) {
      peer.restartDone = true;
      peer.deferred = [];
      const deferral = config.selectionDeferralTime ?? config.restartTime ?? DEFAULT_RESTART_TIME;
      this.deps.startTimer(peer, SPEAKER_TIMER.DEFERRAL, deferral, () => this.release(peer));
    }
  }

  /** The peer's End-of-RIB for a family: its stale routes are gone (the RIB swept them); a held table may go out. */
  endOfRib(peer: PeerRuntime, afi: number): void {
    if (afi === AFI.IPV4) peer.endOfRibReceived.add(4);
    if (afi === AFI.IPV6) peer.endOfRibReceived.add(6);
    if (this.deps.rib.peerStats(peer.id).stale === 0) peer.cancel(SPEAKER_TIMER.STALE);
    const waiting = (peer.families.ipv4 && !peer.endOfRibReceived.has(4)) || (peer.families.ipv6 && !peer.endOfRibReceived.has(6));
    if (peer.deferred && !waiting) this.release(peer);
  }

  /** The session ended: nothing held is sent any more. */
  forgetDeferred(peer: PeerRuntime): void {
    peer.deferred = undefined;
    peer.cancel(SPEAKER_TIMER.DEFERRAL);
  }

  /** Restarting: sends what was held for the peer. */
  private release(peer: PeerRuntime): void {
    const held = peer.deferred;
    this.forgetDeferred(peer);
    if (!held || !peer.connection) return;
    for (const m of held) peer.connection.write(m);
    peer.messagesSent += held.length;
  }

  /** Drops a peer's stale routes (a graceful restart timer ran out). */
  private sweep(peer: PeerRuntime, why: string): void {
    const removed = this.deps.rib.sweepStale(peer.id);
    this.deps.logger?.warn({ peer: peer.config.address, removed }, why);
    if (removed > 0) this.deps.scheduleFlush();
  }
}
