// The speaker: owns the peers, runs each one's FSM (RFC 4271 §8) with real timers and a
// connection, feeds received UPDATEs to the RIB and sends what the RIB's flush returns.
// All I/O goes through the clock and transport ports (real ones in sys/).
import { type Capability, type GracefulRestartCapability } from '../codec/capabilities.js';
import { AFI, MESSAGE_TYPE, SAFI } from '../codec/constants.js';
import { splitMessages } from '../codec/header.js';
import { type BgpMessage, decodeMessage, encodeMessage } from '../codec/message.js';
import { INITIAL_NEGOTIATED_STATE } from '../codec/negotiated.js';
import { type BgpPrefix, type Nlri, parsePrefix } from '../codec/prefix.js';
import { type DecodedUpdate, type PackedUpdate, decodeUpdatePacked } from '../codec/update.js';
import { BgpInvalidArgument, BgpNotification } from '../errors.js';
import { createFsm, step } from '../fsm/step.js';
import { type FsmAction, type FsmEvent, type SessionParameters, type TimerName, SESSION_STATE, TIMER } from '../fsm/types.js';
import { peerId } from '../ids.js';
import { type RouteAttributes } from '../rib/attributes.js';
import { Rib } from '../rib/rib.js';

import { afiSafis, gracefulRestartCapability, peerGracefulRestart } from './graceful-restart.js';
import { GracefulRestartRuntime } from './graceful-restart-runtime.js';
import { type SpeakerTimerName, OPEN_WAIT_REPORT_SECONDS, PeerRuntime, describeConnectTimeout, describeOpenWait } from './peer-runtime.js';
import { type CancelTimer, type Connection, type ConnectionEvents, type ConnectTarget, type IncomingConnection, unmapAddress } from './ports.js';
import { type BgpSpeakerOptions, type PeerStatus, type SpeakerPeerConfig } from './types.js';
import { type HeldRoute, type RouteFilter, queryRoutes } from './route-query.js';
import { sessionFamilies, ttlOptions } from './session-options.js';
import { coalesce, encodeEndOfRib, encodeOutgoing } from './updates.js';

const TIMER_EVENT: Readonly<Record<TimerName, FsmEvent>> = {
  [TIMER.CONNECT_RETRY]: { type: 'ConnectRetryTimerExpires' },
  [TIMER.HOLD]: { type: 'HoldTimerExpires' },
  [TIMER.KEEPALIVE]: { type: 'KeepaliveTimerExpires' },
  [TIMER.DELAY_OPEN]: { type: 'DelayOpenTimerExpires' },
  [TIMER.IDLE_HOLD]: { type: 'IdleHoldTimerExpires' },
};

/**
 * Changed prefixes per flush slice: a full table of a million routes goes out in about
 * 30 writes apart, each about 128 KiB of /24s, so the peer starts on it at once.
 */
const FLUSH_SLICE = 32_768;

/**
 * Changed prefixes from which a flush is not delayed: a change this large (a full table
 * arriving, read by read) gains nothing from waiting for more, and each read's routes
 * reach the FibSink and the peers as soon as it is taken in rather than `flushDelayMs`
 * later.
 */
const EAGER_FLUSH = 4096;

/**
 * Changed prefixes that keep a burst going once a large change started it: a table
 * arriving at the pace of its sender comes a read or two at a time, each with hundreds
 * of prefixes (an UPDATE of 4096 octets carries ~1000 /24s), and each read is flushed at
 * once while the reads keep coming; a smaller change (a table's last read) is flushed
 * at once too, and ends the burst.
 */
const BURST_READ = 256;

/** Default of `BgpSpeakerOptions.standbyReleaseMs`. */
const DEFAULT_STANDBY_RELEASE_MS = 60_000;

const DEFAULT_CAPABILITIES: readonly Capability[] = [
  { kind: 'multiprotocol', afi: AFI.IPV4, safi: SAFI.UNICAST },
  { kind: 'multiprotocol', afi: AFI.IPV6, safi: SAFI.UNICAST },
  { kind: 'route-refresh' },
];

/**
 * A BGP-4 speaker: per peer, an FSM driven by real timers and a TCP connection (both
 * injected), one {@link Rib} for all of them, and this node's own routes. Changes are
 * gathered for `flushDelayMs` and then sent as UPDATEs that fit the negotiated size,
 * with End-of-RIB after each new session's initial table.
 *
 * Graceful restart (RFC 4724) when `gracefulRestart` is set: as helper it keeps a
 * restarting peer's routes, marked stale, until its End-of-RIB or the timers; as
 * restarting speaker ({@link BgpSpeaker.stopForRestart}, then a new speaker with
 * `restarting: true`) it lets peers keep its routes until its End-of-RIB.
 *
 * Not yet: connection collision detection with two live connections (§6.8: a second
 * connection while the first is past Connect/Active is refused).
 */
export class BgpSpeaker {
  /** The routing tables, for queries (`best`, `adjRibIn`, ...). Do not feed it directly. */
  readonly rib: Rib;
  private readonly peerMap = new Map<string, PeerRuntime>();
  private readonly capabilities: readonly Capability[];
  private readonly restart: GracefulRestartRuntime;
  private flushTimer: CancelTimer | undefined;
  /** The flush timer is set for now (a large change), not for `flushDelayMs`. */
  private flushSoon = false;
  /**
   * The last flush took a large change (a table arriving read by read), or a read of one
   * that started so ({@link BURST_READ}): what comes next is more of it or its tail,
   * flushed at once too rather than `flushDelayMs` later (a table's reads are as urgent
   * at its end as at its start, and each is usually smaller than {@link EAGER_FLUSH}).
   */
  private inBurst = false;
  private started = false;
  /** Releases the RIB's standby memory once no flush came for `standbyReleaseMs`. */
  private standbyTimer: CancelTimer | undefined;
  /** When the last flush ran (the clock's time). */
  private lastFlushAt = 0;
  /** `BgpSpeakerOptions.standbyReleaseMs` or its default. */
  private readonly standbyReleaseMs: number;

  constructor(private readonly options: BgpSpeakerOptions) {
    this.standbyReleaseMs = options.standbyReleaseMs ?? DEFAULT_STANDBY_RELEASE_MS;
    this.rib = new Rib({ localAs: options.localAs, routerId: options.routerId, ...(options.clusterId === undefined ? {} : { clusterId: options.clusterId }), fib: options.fib });
    const base = options.capabilities ?? DEFAULT_CAPABILITIES;
    const gr = options.gracefulRestart;
    const families = base.filter((c) => c.kind === 'multiprotocol').map((c) => ({ afi: c.afi, safi: c.safi }));
    this.capabilities =
      gr && !base.some((c) => c.kind === 'graceful-restart')
        ? [...base, gracefulRestartCapability(gr, families.length > 0 ? families : [{ afi: AFI.IPV4, safi: SAFI.UNICAST }])]
        : base;
    this.restart = new GracefulRestartRuntime({
      rib: this.rib,
      config: gr,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      startTimer: (peer, timer, seconds, fire) => this.startTimer(peer, timer, seconds, fire),
      scheduleFlush: () => this.scheduleFlush(),
    });
  }

  /**
   * Starts listening (when the transport can) and starts every peer's FSM.
   * @throws what the transport's `listen` throws (e.g. EADDRINUSE, EACCES for port 179 without CAP_NET_BIND_SERVICE).
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.options.transport.listen?.((incoming) => this.accept(incoming));
    for (const peer of this.peerMap.values()) this.feed(peer, { type: 'ManualStart', passive: peer.config.passive ?? false });
  }

  /** Stops every session (Cease / Administrative Shutdown with `communication`) and closes the transport. */
  async stop(communication?: string): Promise<void> {
    for (const peer of this.peerMap.values()) this.feed(peer, communication === undefined ? { type: 'ManualStop' } : { type: 'ManualStop', communication });
    this.cancelTimers();
    this.started = false;
    for (const peer of this.peerMap.values()) peer.cancelAll();
    await this.options.transport.close();
  }

  /**
   * Stops like a crash, for a graceful restart (RFC 4724 §4.1): every connection is closed
   * without a NOTIFICATION, so peers that support graceful restart keep this speaker's
   * routes (marked stale) until the new speaker, started with `gracefulRestart.restarting`,
   * sends its End-of-RIB. Nothing is withdrawn from the FibSink.
   */
  async stopForRestart(): Promise<void> {
    for (const peer of this.peerMap.values()) {
      peer.cancelAll();
      peer.connection = undefined;
      // Back to Idle quietly: no NOTIFICATION, no `down`. What the peer sent stays, stale,
      // until its End-of-RIB on the next session (RFC 4724 §4.1); what it was sent is forgotten.
      if (peer.fsm.state === SESSION_STATE.ESTABLISHED) this.restart.localRestart(peer);
      peer.fsm = createFsm(peer.fsm.config);
    }
    this.cancelTimers();
    this.started = false;
    await this.options.transport.close();
  }

  /**
   * Asks an Established peer to send its routes again (ROUTE-REFRESH, RFC 2918 §3), for
   * each family of the session.
   * @throws {BgpInvalidArgument} when the peer is unknown, not Established, or did not announce route refresh.
   */
  requestRefresh(address: string): void {
    const peer = this.peerMap.get(address);
    if (!peer) throw new BgpInvalidArgument(`peer ${address} is not configured`);
    if (peer.fsm.state !== SESSION_STATE.ESTABLISHED) throw new BgpInvalidArgument(`peer ${address} is ${peer.fsm.state}, not Established: nothing to refresh`);
    if (!peer.peerRouteRefresh) throw new BgpInvalidArgument(`peer ${address} did not announce the route refresh capability (RFC 2918)`);
    for (const f of afiSafis(peer.families)) this.send(peer, { type: 'route-refresh', afi: f.afi, safi: f.safi, subtype: 0 });
  }

  /**
   * Adds a neighbour; it starts at once when the speaker runs.
   * @throws {BgpInvalidArgument} when the address is empty or already configured, or the TTL options are invalid.
   * @throws what the transport's `addPeer` throws (a password or TTL it cannot set).
   */
  addPeer(config: SpeakerPeerConfig): void {
    const id = peerId(config.address);
    if (this.peerMap.has(config.address)) throw new BgpInvalidArgument(`peer ${config.address} is already configured`);
    ttlOptions(config);
    const fsm = createFsm({
      peerAddress: config.address,
      localAs: this.options.localAs,
      localId: this.options.routerId,
      peerAs: config.asn,
      capabilities: this.capabilities,
      idleHold: config.idleHold ?? { initial: 5, max: 120 },
      ...(config.holdTime === undefined ? {} : { holdTime: config.holdTime }),
      ...(config.keepaliveTime === undefined ? {} : { keepaliveTime: config.keepaliveTime }),
      ...(config.connectRetryTime === undefined ? {} : { connectRetryTime: config.connectRetryTime }),
    });
    this.options.transport.addPeer?.({
      address: config.address,
      ...(config.md5Password === undefined ? {} : { md5Password: config.md5Password }),
      ...ttlOptions(config),
    });
    const peer = new PeerRuntime(config, id, fsm);
    this.peerMap.set(config.address, peer);
    if (this.started) this.feed(peer, { type: 'ManualStart', passive: config.passive ?? false });
  }

  /**
   * Removes a neighbour: a session past OpenSent ends with Cease / Peer De-configured
   * (RFC 4486 §4), the connection closes, its timers stop, the routes it sent (stale ones
   * too) leave the Loc-RIB, and the FibSink and the other peers learn it before this
   * returns; what it was advertised is forgotten. Nothing happens for an address that is
   * not configured. The address may be added again with {@link BgpSpeaker.addPeer}.
   */
  async removePeer(address: string): Promise<void> {
    const peer = this.peerMap.get(address);
    if (!peer) return;
    // Ends the session the FSM's way: NOTIFICATION, connection dropped, `down` (routes withdrawn).
    if (peer.fsm.state !== SESSION_STATE.IDLE) this.feed(peer, { type: 'ManualStop', deconfigured: true });
    peer.cancelAll();
    peer.connection?.close();
    peer.connection = undefined;
    this.restart.forgetDeferred(peer);
    this.peerMap.delete(address);
    this.options.transport.removePeer?.(address);
    if (peer.inRib) {
      this.rib.removePeer(peer.id);
      // Now rather than after the flush delay: the caller may reuse the address at once.
      this.flushNow(true);
    }
    await Promise.resolve();
  }

  /** Announces one of this node's prefixes (`"10.244.1.0/26"` or a {@link BgpPrefix}) to every peer. */
  originate(prefix: BgpPrefix | string, attributes: Partial<RouteAttributes> = {}): void {
    this.rib.originate(typeof prefix === 'string' ? parsePrefix(prefix) : prefix, attributes);
    this.scheduleFlush();
  }

  /** Withdraws a prefix given to {@link BgpSpeaker.originate}. */
  withdraw(prefix: BgpPrefix | string): void {
    this.rib.withdrawOriginated(typeof prefix === 'string' ? parsePrefix(prefix) : prefix);
    this.scheduleFlush();
  }

  /**
   * Every path held (received, kept stale, originated), the best first per prefix and
   * prefixes in address order; `filter.peer` keeps those from one peer (`"local"`: the
   * originated ones), `filter.prefix` those equal to or inside a CIDR. A prefix filter
   * looks up the prefixes inside it rather than walking the table (cost: route-query.ts).
   * @throws {BgpInvalidArgument} when a filter is not an address or a prefix.
   */
  routes(filter: RouteFilter = {}): HeldRoute[] {
    return queryRoutes(this.rib, Array.from(this.peerMap.values(), (p) => ({ address: p.config.address, id: p.id })), filter);
  }

  /** Every peer's state and counters, and why its session last went down. */
  peers(): PeerStatus[] {
    const now = this.options.clock.now();
    return Array.from(this.peerMap.values(), (p) => {
      const stats = p.inRib ? this.rib.peerStats(p.id) : undefined;
      const established = p.fsm.state === SESSION_STATE.ESTABLISHED && p.fsm.establishedAt !== undefined;
      return {
        address: p.config.address,
        asn: p.config.asn,
        state: p.fsm.state,
        uptimeSeconds: established ? Math.floor((now - (p.fsm.establishedAt ?? now)) / 1000) : undefined,
        receivedPrefixes: stats?.received ?? 0,
        stalePrefixes: stats?.stale ?? 0,
        advertisedPrefixes: established ? (stats?.advertised ?? 0) : 0,
        filteredPrefixes: stats?.filtered ?? 0,
        messagesReceived: p.messagesReceived,
        messagesSent: p.messagesSent,
        updatesReceived: p.updatesReceived,
        lastDown: p.fsm.lastDown?.text,
        lastError:
          p.fsm.state === SESSION_STATE.OPEN_SENT && now - p.stateSince >= OPEN_WAIT_REPORT_SECONDS * 1000
            ? describeOpenWait(p.config, Math.floor((now - p.stateSince) / 1000))
            : p.lastError,
        lastDownReason: p.fsm.lastDown,
      };
    });
  }

  private feed(peer: PeerRuntime, event: FsmEvent): void {
    const before = peer.fsm.state;
    if (event.type === 'ConnectRetryTimerExpires' && before === SESSION_STATE.CONNECT && peer.connection) {
      // The attempt is still unanswered: the FSM only retries, so say why here.
      peer.lastError = describeConnectTimeout(peer.config, peer.config.connectRetryTime ?? 120, peer.connectAttempts);
      this.options.logger?.warn({ peer: peer.config.address }, peer.lastError);
    }
    const result = step(peer.fsm, event, this.options.clock.now());
    peer.fsm = result.state;
    peer.negotiated = result.state.session?.negotiated ?? INITIAL_NEGOTIATED_STATE;
    if (before !== result.state.state) peer.stateSince = this.options.clock.now();
    if (before !== result.state.state) this.options.logger?.info({ peer: peer.config.address, from: before, to: result.state.state, event: event.type }, 'bgp session state');
    for (const action of result.actions) this.execute(peer, action);
  }

  private execute(peer: PeerRuntime, action: FsmAction): void {
    switch (action.type) {
      case 'connect':
        return this.connect(peer);
      case 'drop-connection':
        peer.connection?.close();
        peer.connection = undefined;
        peer.buffer = new Uint8Array(0);
        return;
      case 'send-open':
        return this.send(peer, action.open);
      case 'send-keepalive':
        return this.send(peer, { type: 'keepalive' });
      case 'send-notification':
        return this.send(peer, action.notification);
      case 'start-timer': {
        const event = TIMER_EVENT[action.timer];
        return this.startTimer(peer, action.timer, action.seconds, () => this.feed(peer, event));
      }
      case 'stop-timer':
        return peer.cancel(action.timer);
      case 'established':
        return this.established(peer, action.session);
      case 'down':
        this.options.logger?.warn({ peer: peer.config.address, kind: action.reason.kind }, action.reason.text);
        peer.lastError = action.reason.text;
        if (action.wasEstablished) this.restart.sessionDown(peer, action.reason);
        peer.endOfRibPending = false;
        this.restart.forgetDeferred(peer);
        return;
    }
  }

  private startTimer(peer: PeerRuntime, timer: TimerName | SpeakerTimerName, seconds: number, fire: () => void): void {
    peer.cancel(timer);
    peer.timers.set(
      timer,
      this.options.clock.setTimer(seconds * 1000, () => {
        peer.timers.delete(timer);
        fire();
      }),
    );
  }

  private connect(peer: PeerRuntime): void {
    const c = peer.config;
    peer.connectAttempts += 1;
    const target: ConnectTarget = {
      address: c.address,
      port: c.port ?? 179,
      ...(c.localAddress === undefined ? {} : { localAddress: c.localAddress }),
      ...(c.md5Password === undefined ? {} : { md5Password: c.md5Password }),
      ...ttlOptions(c),
    };
    let connection: Connection | undefined;
    const events: ConnectionEvents = {
      onConnect: () => {
        if (peer.connection === connection) this.feed(peer, { type: 'TcpConnectionAcknowledged' });
      },
      onData: (bytes) => {
        if (peer.connection === connection) this.receive(peer, bytes);
      },
      onClose: (reason) => {
        if (peer.connection !== connection) return;
        peer.connection = undefined;
        this.feed(peer, reason === undefined ? { type: 'TcpConnectionFails' } : { type: 'TcpConnectionFails', reason });
      },
    };
    try {
      connection = this.options.transport.connect(target, events);
      peer.connection = connection;
    } catch (error) {
      // A socket that cannot even be created fails like a refused connection, on the next tick.
      const reason = error instanceof Error ? error.message : String(error);
      this.options.clock.setTimer(0, () => this.feed(peer, { type: 'TcpConnectionFails', reason }));
    }
  }

  /** A connection from a peer: taken while its FSM waits for one (Connect or Active), refused otherwise. */
  private accept(incoming: IncomingConnection): ConnectionEvents | undefined {
    const peer = this.peerMap.get(unmapAddress(incoming.remoteAddress));
    if (!peer) return undefined;
    const state = peer.fsm.state;
    if (state !== SESSION_STATE.CONNECT && state !== SESSION_STATE.ACTIVE) return undefined;
    // Our own connection attempt, if any, gives way to the peer's.
    peer.connection?.close();
    const connection = incoming.connection;
    peer.connection = connection;
    peer.buffer = new Uint8Array(0);
    // The FSM sends its OPEN at once; the transport attaches the handlers below before any byte arrives.
    this.feed(peer, { type: 'TcpConnectionConfirmed' });
    return {
      onConnect: () => undefined,
      onData: (bytes) => {
        if (peer.connection === connection) this.receive(peer, bytes);
      },
      onClose: (reason) => {
        if (peer.connection !== connection) return;
        peer.connection = undefined;
        this.feed(peer, reason === undefined ? { type: 'TcpConnectionFails' } : { type: 'TcpConnectionFails', reason });
      },
    };
  }

  private send(peer: PeerRuntime, message: BgpMessage): void {
    const connection = peer.connection;
    if (!connection) return;
    connection.write(encodeMessage(message, peer.negotiated));
    peer.messagesSent += 1;
  }

  private receive(peer: PeerRuntime, bytes: Uint8Array): void {
    const connection = peer.connection;
    let buffer = bytes;
    if (peer.buffer.length > 0) {
      buffer = new Uint8Array(peer.buffer.length + bytes.length);
      buffer.set(peer.buffer);
      buffer.set(bytes, peer.buffer.length);
    }
    let messages: readonly Uint8Array[];
    try {
      const split = splitMessages(buffer, peer.negotiated);
      messages = split.messages;
      peer.buffer = split.rest.slice();
    } catch (error) {
      if (error instanceof BgpNotification) return this.feed(peer, { type: 'BgpHeaderErr', error });
      throw error;
    }
    for (const bytes of messages) {
      // A message may end the session (NOTIFICATION, errors): the rest belongs to nobody.
      if (peer.connection !== connection) return;
      peer.messagesReceived += 1;
      this.handleMessage(peer, bytes);
    }
    // A large change (a table arriving) is flushed as each read is taken in, so that its
    // routes reach the FIB and the peers as they come. Left to the flush timer, it would
    // wait for the event loop's next turn, and libuv hands a socket's reads over up to 32
    // at a time first: a table arriving faster than it is taken in (a million routes)
    // then piled up hundreds of thousands of changes, pushed in a burst at its end.
    if (this.rib.pendingChanges >= EAGER_FLUSH && this.started) this.flushNow();
  }

  private handleMessage(peer: PeerRuntime, bytes: Uint8Array): void {
    let message;
    try {
      // UPDATEs keep their IPv4 NLRI fields packed: the RIB walks them without building objects.
      message = bytes[18] === MESSAGE_TYPE.UPDATE ? decodeUpdatePacked(bytes, peer.negotiated) : decodeMessage(bytes, peer.negotiated);
    } catch (error) {
      if (!(error instanceof BgpNotification)) throw error;
      const type = bytes[18];
      if (type === MESSAGE_TYPE.OPEN) return this.feed(peer, { type: 'BgpOpenMsgErr', error });
      if (type === MESSAGE_TYPE.UPDATE && error.errorCode === 3) return this.feed(peer, { type: 'UpdateMsgErr', error });
      return this.feed(peer, { type: 'BgpHeaderErr', error });
    }
    switch (message.type) {
      case 'open':
        return this.feed(peer, { type: 'BgpOpen', open: message });
      case 'keepalive':
        return this.feed(peer, { type: 'KeepAliveMsg' });
      case 'notification':
        return this.feed(peer, { type: 'NotifMsg', notification: message });
      case 'update':
        peer.updatesReceived += 1;
        this.feed(peer, { type: 'UpdateMsg' });
        if (peer.fsm.state === SESSION_STATE.ESTABLISHED) this.applyUpdate(peer, message);
        return;
      case 'route-refresh':
        // RFC 2918 §4: send the Adj-RIB-Out of that family again (RFC 7313 §5: unknown subtypes are ignored).
        if (peer.fsm.state === SESSION_STATE.ESTABLISHED && peer.inRib && message.subtype === 0) this.resendAdjRibOut(peer, message.afi);
        return;
    }
  }

  /**
   * Sends a peer what it was last sent (its Adj-RIB-Out) for one AFI, as after its
   * ROUTE-REFRESH. Changes not yet flushed follow with the next flush, as usual.
   */
  private resendAdjRibOut(peer: PeerRuntime, afi: number): void {
    const family = afi === AFI.IPV4 ? 4 : afi === AFI.IPV6 ? 6 : undefined;
    if (family === undefined || !peer.connection) return;
    const groups = new Map<RouteAttributes, Nlri[]>();
    for (const { prefix, attributes } of this.rib.adjRibOut(peer.id)) {
      if (prefix.family !== family) continue;
      let group = groups.get(attributes);
      if (!group) groups.set(attributes, (group = []));
      group.push({ prefix });
    }
    const delta = { withdrawn: [], announced: Array.from(groups, ([attributes, nlri]) => ({ attributes, nlri })) };
    const messages = encodeOutgoing(delta, peer.negotiated, family === 4 ? { ipv4: peer.families.ipv4, ipv6: false } : { ipv4: false, ipv6: peer.families.ipv6 });
    if (peer.deferred) return void peer.deferred.push(...messages);
    for (const m of coalesce(messages)) peer.connection.write(m);
    peer.messagesSent += messages.length;
  }

  private applyUpdate(peer: PeerRuntime, update: DecodedUpdate | PackedUpdate): void {
    const result = this.rib.receive(peer.id, update);
    if (result.limitExceeded) return this.feed(peer, { type: 'AutomaticStop', notification: result.limitExceeded });
    if (result.accepted + result.withdrawn > 0) this.scheduleFlush();
    if (result.endOfRib) this.restart.endOfRib(peer, result.endOfRib.afi);
  }

  private established(peer: PeerRuntime, session: SessionParameters): void {
    const c = peer.config;
    peer.families = sessionFamilies(this.capabilities, session.peerCapabilities);
    peer.connectAttempts = 0;
    peer.peerRouteRefresh = session.peerCapabilities.some((cap) => cap.kind === 'route-refresh');
    const gr: GracefulRestartCapability | undefined = peerGracefulRestart(session.peerCapabilities);
    peer.peerGracefulRestart = gr;
    const localAddress = c.localAddress ?? (peer.connection?.localAddress === undefined ? undefined : unmapAddress(peer.connection.localAddress)) ?? '0.0.0.0';
    this.rib.peerUp({
      id: peer.id,
      address: c.address,
      asn: session.peerAs,
      routerId: session.peerId,
      localAddress,
      families: peer.families,
      ...(c.localAddress6 === undefined ? {} : { localAddress6: c.localAddress6 }),
      ...(c.importPolicy === undefined ? {} : { importPolicy: c.importPolicy }),
      ...(c.exportPolicy === undefined ? {} : { exportPolicy: c.exportPolicy }),
      ...(c.prefixLimit === undefined ? {} : { prefixLimit: c.prefixLimit }),
      ...(c.routeReflectorClient === undefined ? {} : { routeReflectorClient: c.routeReflectorClient }),
      ...(c.nextHopSelf === undefined ? {} : { nextHopSelf: c.nextHopSelf }),
    });
    this.restart.sessionUp(peer, gr);
    peer.inRib = true;
    peer.endOfRibPending = true;
    this.scheduleFlush();
  }

  /** Releases the RIB's standby memory `ms` from now, or later if a flush came meanwhile (one timer, not one per flush). */
  private armStandbyRelease(ms: number): void {
    this.standbyTimer = this.options.clock.setTimer(ms, () => {
      this.standbyTimer = undefined;
      const quiet = this.options.clock.now() - this.lastFlushAt;
      if (quiet >= this.standbyReleaseMs) this.rib.releaseStandby();
      else this.armStandbyRelease(this.standbyReleaseMs - quiet);
    });
  }

  /** Flushes at once, the flush timer cancelled. */
  private flushNow(all = false): void {
    this.flushTimer?.();
    this.flushTimer = undefined;
    this.flush(all);
  }

  private cancelTimers(): void {
    this.flushTimer?.();
    this.flushTimer = undefined;
    this.standbyTimer?.();
    this.standbyTimer = undefined;
  }

  private scheduleFlush(): void {
    const soon = this.inBurst || this.rib.pendingChanges >= EAGER_FLUSH;
    if (this.flushTimer && (this.flushSoon || !soon)) return;
    this.flushTimer?.();
    this.flushSoon = soon;
    this.flushTimer = this.options.clock.setTimer(soon ? 0 : (this.options.flushDelayMs ?? 20), () => {
      this.flushTimer = undefined;
      this.flush();
    });
  }

  /**
   * Sends what changed. A large change goes in slices of {@link FLUSH_SLICE} prefixes,
   * each written before the next is computed (a timer of 0 apart), so that peers read
   * the first UPDATEs of a full table while the rest is prepared; `all` does it at once.
   */
  private flush(all = false): void {
    this.lastFlushAt = this.options.clock.now();
    if (!this.standbyTimer && this.started) this.armStandbyRelease(this.standbyReleaseMs);
    const pending = this.rib.pendingChanges;
    this.inBurst = pending >= EAGER_FLUSH || (this.inBurst && pending >= BURST_READ);
    const { updates, more } = this.rib.flush(all ? {} : { maxChanges: FLUSH_SLICE });
    for (const peer of this.peerMap.values()) {
      if (peer.fsm.state !== SESSION_STATE.ESTABLISHED || !peer.connection) continue;
      const delta = updates.get(peer.id);
      const messages = delta ? encodeOutgoing(delta, peer.negotiated, peer.families) : [];
      // End-of-RIB after the whole initial table, which goes out with the last slice.
      if (peer.endOfRibPending && !more) {
        messages.push(...encodeEndOfRib(peer.negotiated, peer.families));
        peer.endOfRibPending = false;
      }
      if (peer.deferred) {
        peer.deferred.push(...messages);
        continue;
      }
      for (const m of coalesce(messages)) peer.connection.write(m);
      peer.messagesSent += messages.length;
    }
    if (more && !this.flushTimer) {
      this.flushSoon = true;
      this.flushTimer = this.options.clock.setTimer(0, () => {
        this.flushTimer = undefined;
        this.flush();
      });
    } else if (this.rib.pendingChanges > 0) {
      // Changes that came between the slices (their scheduleFlush found the slice's timer).
      this.scheduleFlush();
    }
  }
}
