// The BGP controller: @twill/bgp's speaker configured from the datastore as calico-node's
// BIRD is. Local AS from this node's Node resource or BGPConfiguration `default` (64512),
// router id = the node's IPv4 address; peers = the node-to-node mesh and the BGPPeers of
// this node, reconciled as they change; this node's blocks (its IPAM affinity) originated;
// best routes written to the kernel through the KernelFibSink (RTPROT_BGP). Across an
// agent restart the kernel routes stay: the new speaker announces graceful restart with
// forwarding preserved, relearns them, and the routes no peer gave again are swept.
// A node with `spec.bgp.routeReflectorClusterID` reflects routes (RFC 4456) with that
// CLUSTER_ID (bgp-peers.ts says to whom). Passwords named by `secretKeyRef` are read
// through the datastore's Secrets, again when a BGPPeer or the BGPConfiguration changes
// and every `secretRecheckMs`: the port offers no watch of Secrets, so a changed Secret is
// seen within that interval (calico-node watches them).
import { type CompiledPolicy, type PeerStatus, type RouteFilter, type SpeakerClock, type SpeakerPeerConfig, type SpeakerTransport, BgpSpeaker, asn, compilePolicy, routerId, systemClock } from '@twill/bgp';

import { type AgentController, type AgentLogger, type AgentMetrics, type EntryEvent, type ResourceDatastore, type ResourceEvent, type ResourceWatch, type StoredResource } from '../ports.js';

import { type SecretKeyRef } from '../datastore/calico-resources.js';

import {
  BGP_CONFIGURATION_KIND,
  BGP_PEER_KIND,
  type BgpNode,
  type BgpSettings,
  type PeerPlan,
  type PeerProblem,
  type SecretLookup,
  parseBgpConfiguration,
  parseBgpNode,
  planPeers,
  resolvePasswords,
  samePeer,
  secretRefKey,
  secretRefsOf,
} from './bgp-peers.js';
import { type NodeAddresses } from './nodes.js';
import { type KernelFibSink } from './route-fib.js';
import { AFFINITY_PREFIX, NODE_KIND, addressOf, applyAffinityEvents } from './route-model.js';

/** The BGP controller cannot run with this configuration. */
export class BgpConfigurationError extends Error {
  override readonly name = 'BgpConfigurationError';
  readonly code = 'BGP_CONFIGURATION';
}

/** Options of {@link BgpController}. */
export interface BgpControllerOptions {
  readonly datastore: ResourceDatastore;
  readonly nodeName: string;
  /** This node's addresses (`10.0.0.1/24`); the IPv4 one is the router id. Default: its Node resource's. */
  readonly nodeAddresses?: NodeAddresses;
  /** The agent configuration's AS for this node; beats the Node resource and BGPConfiguration. */
  readonly asNumber?: number;
  /** The agent configuration's listen port; beats BGPConfiguration's `listenPort`. */
  readonly listenPort?: number;
  /** Where learned routes go: a sink over the node's main table (sys/kernel-routes.ts). */
  readonly fib: KernelFibSink;
  /** Connections to peers, listening on `listenPort` (`createBgpTransport` from sys/bgp-transport.ts). */
  readonly transport: (listen: { readonly port: number }) => SpeakerTransport;
  readonly clock?: SpeakerClock;
  /** Graceful restart time announced to peers, s (default 120): how long they keep this node's routes while the agent restarts. */
  readonly restartTime?: number;
  /** Once every peer is Established, how long to wait before sweeping adopted routes no peer gave again (default 5000 ms). */
  readonly settleMs?: number;
  /** Sweep adopted routes after this long even if some peers never came up (default 120 000 ms). */
  readonly adoptionGraceMs?: number;
  /** The speaker's flush delay (default 20 ms). */
  readonly flushDelayMs?: number;
  /** The namespace whose Secrets `password.secretKeyRef` names: the agent's own (default `twill-system`). */
  readonly secretNamespace?: string;
  /** How often the Secrets in use are read again to see a changed password (default 60 000 ms). */
  readonly secretRecheckMs?: number;
  readonly metrics?: AgentMetrics;
  readonly logger?: AgentLogger;
}

/** What the BGP controller reports (`twill bgp status`). */
export interface BgpControllerStatus {
  readonly localAs: number | undefined;
  readonly routerId: string | undefined;
  readonly peers: readonly PeerStatus[];
  /** BGPPeers (or the mesh) that could not be used, or not all of, and why: a bad field, a password whose Secret could not be read. */
  readonly problems: readonly PeerProblem[];
  /** Prefixes this node originates (its blocks). */
  readonly originated: readonly string[];
  /** Learned routes the kernel refused. */
  readonly fibProblems: readonly { readonly dst: string; readonly error: string }[];
}

/**
 * One path the speaker holds, as `GET /v1/bgp/routes` answers it (API.md, `BgpRouteView`):
 * the best first per prefix, prefixes in address order.
 */
export interface BgpRouteView {
  readonly prefix: string;
  readonly best: boolean;
  /** The peer's address, or `"local"` for this node's own blocks. */
  readonly from: string;
  readonly nextHop: string;
  /** The AS numbers of the AS_PATH, in order. */
  readonly asPath: readonly number[];
  readonly origin: 'igp' | 'egp' | 'incomplete';
  readonly localPref?: number;
  readonly med?: number;
  /** `"65000:1"`. */
  readonly communities: readonly string[];
  /** `"65000:1:2"`. */
  readonly largeCommunities: readonly string[];
  /** Kept from a restarting peer until it sends it again or its restart time ends (RFC 4724). */
  readonly stale: boolean;
}

/** Which routes {@link BgpController.routes} returns. */
export interface BgpRouteFilter {
  /** The peer's address (any spelling), or `"local"`. */
  readonly peer?: string;
  /** A CIDR: the routes equal to or inside it. */
  readonly prefix?: string;
}

interface SpeakerIdentity {
  readonly localAs: number;
  readonly routerId: string;
  readonly listenPort: number;
  /** This node's route reflector CLUSTER_ID; absent when it reflects nothing. */
  readonly clusterId: string | undefined;
}

function isClusterId(text: string): boolean {
  try {
    routerId(text);
    return true;
  } catch {
    return false;
  }
}

/** The namespace of the agent's Secrets when the configuration names none. */
export const DEFAULT_SECRET_NAMESPACE = 'twill-system';

interface RunningSpeaker {
  readonly speaker: BgpSpeaker;
  readonly identity: SpeakerIdentity;
  /** Cuts the speaker off the kernel sink (when it is being replaced). */
  detach(): void;
  readonly peers: Map<string, PeerPlan>;
  readonly originated: Set<string>;
}

const METRICS_EVERY_MS = 1000;

// A session carries the routes of its own address family only, as calico-node's BIRD
// configures one protocol per family: an IPv4 route learned over an IPv6 session would
// have an IPv6 next hop the kernel cannot use without RFC 5549.
const FAMILY_ONLY: Readonly<Record<4 | 6, CompiledPolicy>> = {
  4: compilePolicy({ terms: [{ name: 'ipv4 only', match: { family: 4 }, then: 'accept' }], default: 'reject' }),
  6: compilePolicy({ terms: [{ name: 'ipv6 only', match: { family: 6 }, then: 'accept' }], default: 'reject' }),
};

function toSpeakerPeer(plan: PeerPlan): SpeakerPeerConfig {
  const family = plan.address.includes(':') ? 6 : 4;
  return {
    address: plan.address,
    asn: asn(plan.asn),
    ...(plan.port === undefined ? {} : { port: plan.port }),
    ...(plan.localAddress === undefined ? {} : { localAddress: plan.localAddress }),
    ...(plan.md5Password === undefined ? {} : { md5Password: plan.md5Password }),
    ...(plan.passive === undefined ? {} : { passive: plan.passive }),
    ...(plan.ttlSecurity === undefined ? {} : { ttlSecurity: plan.ttlSecurity }),
    ...(plan.routeReflectorClient === true ? { routeReflectorClient: true } : {}),
    importPolicy: FAMILY_ONLY[family],
    exportPolicy: FAMILY_ONLY[family],
    // Between nodes of one cluster a failed session should come back quickly: a restarted
    // node that reaches its peer before the peer saw the old session end is refused once,
    // and then waits the ConnectRetry time in Active.
    idleHold: { initial: 1, max: 30 },
    connectRetryTime: 2,
  };
}

/** Runs this node's BGP speaker from the datastore. */
export class BgpController implements AgentController {
  readonly name = 'bgp';
  private readonly clock: SpeakerClock;
  private readonly nodes = new Map<string, BgpNode>();
  private readonly bgpPeers = new Map<string, StoredResource>();
  private readonly blocks = new Map<string, readonly string[]>();
  private configuration: StoredResource | undefined;
  private running: RunningSpeaker | undefined;
  private problems: PeerProblem[] = [];
  private watches: ResourceWatch[] = [];
  private reconciling: Promise<void> | undefined;
  private rerun = false;
  private stopped = true;
  private startedAt = 0;
  private establishedSince: number | undefined;
  private sweepPending = false;
  private cancelTick: (() => void) | undefined;
  private readonly reported = new Map<string, string>();
  /** The Secret keys in use, as last read (by `name/key`). */
  private secrets = new Map<string, { readonly ref: SecretKeyRef; readonly lookup: SecretLookup }>();
  /** The last password read from each Secret key: kept through a read that fails for a moment. */
  private lastGoodSecrets = new Map<string, string>();
  private secretsCheckedAt = 0;
  private secretsChecking = false;

  constructor(private readonly options: BgpControllerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Adopts the kernel's BGP routes, starts watching nodes, BGPPeers, the BGPConfiguration
   * and this node's block affinity, and once the watches have delivered the current state
   * (their first batches: an object deleted while the agent starts is never held from an
   * earlier read) starts the speaker with it.
   * @throws {BgpConfigurationError} when this node has no IPv4 address for its router id.
   * @throws what the transport's `listen` throws (EADDRINUSE; EACCES for port 179 without CAP_NET_BIND_SERVICE).
   */
  async start(): Promise<void> {
    this.stopped = false;
    const { datastore, fib } = this.options;
    const adopted = await fib.adopt();
    if (adopted > 0) this.options.logger?.info({ routes: adopted }, 'adopted BGP routes from the kernel; kept until the peers give them again');
    let loading = true;
    let resourcesLoaded!: () => void;
    let affinityLoaded!: () => void;
    const loaded = Promise.all([new Promise<void>((resolve) => (resourcesLoaded = resolve)), new Promise<void>((resolve) => (affinityLoaded = resolve))]);
    try {
      this.watches.push(
        await datastore.watch([NODE_KIND, BGP_PEER_KIND, BGP_CONFIGURATION_KIND], (events) => {
          if (!loading) return this.onResources(events);
          this.applyResources(events);
          resourcesLoaded();
          return undefined;
        }),
      );
      this.watches.push(
        await datastore.watchEntries(AFFINITY_PREFIX, (events) => {
          if (!loading) return this.onAffinity(events);
          this.applyOwnAffinity(events);
          affinityLoaded();
          return undefined;
        }),
      );
      await loaded;
      loading = false;
      this.startedAt = this.clock.now();
      this.sweepPending = true;
      await this.reconcile(adopted > 0);
    } catch (error) {
      // Nothing keeps watching for a controller that did not start.
      for (const watch of this.watches.splice(0)) await watch.close();
      throw error;
    }
    this.tick();
  }

  ready(): boolean {
    return this.running !== undefined && !this.stopped;
  }

  /**
   * Stops watching and closes every session without a NOTIFICATION (RFC 4724 §4.1): peers
   * keep this node's routes for the restart time, and the kernel keeps the learned ones.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTick?.();
    this.cancelTick = undefined;
    for (const watch of this.watches.splice(0)) await watch.close();
    // A failing reconcile was reported to whoever awaited it; stopping does not fail for it.
    await this.reconciling?.catch(() => undefined);
    const running = this.running;
    this.running = undefined;
    if (running) {
      running.detach();
      await running.speaker.stopForRestart();
    }
    for (const peer of this.reported.keys()) this.options.metrics?.setBgpPeerState(peer, undefined);
    this.reported.clear();
    await this.options.fib.flushed();
  }

  /** Every peer's session state and counters. */
  peers(): PeerStatus[] {
    return this.running?.speaker.peers() ?? [];
  }

  /**
   * The paths the speaker holds, filtered; none when the speaker is not running. A prefix
   * filter looks up the prefixes inside it rather than walking a full table.
   * @throws {BgpInvalidArgument} (code `BGP_INVALID_ARGUMENT`, a 400 in the API) when `peer` is not an address nor `"local"`, or `prefix` is not a CIDR.
   */
  routes(filter: BgpRouteFilter = {}): readonly BgpRouteView[] {
    const speaker = this.running?.speaker;
    if (!speaker) return [];
    const query: RouteFilter = { ...(filter.peer === undefined ? {} : { peer: filter.peer }), ...(filter.prefix === undefined ? {} : { prefix: filter.prefix }) };
    return speaker.routes(query);
  }

  status(): BgpControllerStatus {
    return {
      localAs: this.running?.identity.localAs,
      routerId: this.running?.identity.routerId,
      peers: this.peers(),
      problems: this.problems,
      originated: [...(this.running?.originated ?? [])].sort(),
      fibProblems: this.options.fib.problems(),
    };
  }

  private corrupt(key: string, error: unknown): void {
    this.options.logger?.error({ key, err: error }, 'affinity document does not decode; keeping the blocks originated before');
  }

  private onResources(events: readonly ResourceEvent[]): Promise<void> {
    this.applyResources(events);
    return this.reconcileFromWatch();
  }

  private applyResources(events: readonly ResourceEvent[]): void {
    for (const e of events) {
      const name = e.resource.metadata.name;
      if (e.kind === NODE_KIND) {
        if (e.type === 'delete') this.nodes.delete(name);
        else this.nodes.set(name, parseBgpNode(e.resource));
      } else if (e.kind === BGP_PEER_KIND) {
        if (e.type === 'delete') this.bgpPeers.delete(name);
        else this.bgpPeers.set(name, e.resource);
        // A changed BGPPeer reads its Secret again (it may name another, or the user fixed it).
        this.secrets.clear();
      } else if (e.kind === BGP_CONFIGURATION_KIND && name === 'default') {
        this.configuration = e.type === 'delete' ? undefined : e.resource;
        this.secrets.clear();
      }
    }
  }

  /**
   * A reconcile for a watch's changes. A configuration this node cannot run with is logged
   * and the running speaker kept (delivering the same changes again would not help); other
   * failures go back to the watch, which delivers the changes again.
   */
  private async reconcileFromWatch(): Promise<void> {
    try {
      await this.reconcile(false);
    } catch (error) {
      if (!(error instanceof BgpConfigurationError)) throw error;
      this.options.logger?.error({ node: this.options.nodeName }, error.message);
    }
  }

  private onAffinity(events: readonly EntryEvent[]): Promise<void> {
    return this.applyOwnAffinity(events) ? this.reconcileFromWatch() : Promise.resolve();
  }

  /** Applies this node's affinity among `events`; false when none is about it. */
  private applyOwnAffinity(events: readonly EntryEvent[]): boolean {
    const own = events.filter((e) => e.key === AFFINITY_PREFIX + this.options.nodeName);
    if (own.length === 0) return false;
    applyAffinityEvents(this.blocks, own, (key, error) => this.corrupt(key, error));
    return true;
  }

  /** This node as the peers see it: configured addresses first, then its Node resource. */
  private self(): BgpNode {
    const stored = this.nodes.get(this.options.nodeName);
    const ipv4 = addressOf(this.options.nodeAddresses?.ipv4) ?? stored?.ipv4;
    const ipv6 = addressOf(this.options.nodeAddresses?.ipv6) ?? stored?.ipv6;
    const asNumber = this.options.asNumber ?? stored?.asNumber;
    return {
      name: this.options.nodeName,
      ...(ipv4 === undefined ? {} : { ipv4 }),
      ...(ipv6 === undefined ? {} : { ipv6 }),
      ...(asNumber === undefined ? {} : { asNumber }),
      ...(stored?.routeReflectorClusterId === undefined ? {} : { routeReflectorClusterId: stored.routeReflectorClusterId }),
      labels: stored?.labels ?? {},
    };
  }

  /** One Secret key, read now; what went wrong in words. */
  private async readSecret(ref: SecretKeyRef): Promise<SecretLookup> {
    const { datastore } = this.options;
    const namespace = this.options.secretNamespace ?? DEFAULT_SECRET_NAMESPACE;
    const where = `Secret ${namespace}/${ref.name}`;
    if (!datastore.readSecret) {
      // Of the agent's datastores only the embedded SQLite one has no Secrets.
      const which = `the embedded SQLite datastore${datastore.location === undefined ? '' : ` (${datastore.location})`}`;
      return { problem: `${where} cannot be read: ${which} has no Secrets; give the password inline (password: "...") or run on the Kubernetes datastore` };
    }
    const key = secretRefKey(ref);
    let value: string | undefined;
    try {
      value = await datastore.readSecret(namespace, ref.name, ref.key);
    } catch (error) {
      const problem = `could not read ${where}: ${error instanceof Error ? error.message : String(error)}`;
      // The API server unreachable or slow for a moment must not tear down every session
      // keyed by this Secret (the whole mesh with nodeMeshPassword): keep the last password
      // read until a read says the Secret or its key is gone.
      const kept = this.lastGoodSecrets.get(key);
      if (kept === undefined) return { problem };
      this.options.logger?.warn({ secret: `${namespace}/${ref.name}`, key: ref.key }, `${problem}; keeping the password read before`);
      return { value: kept };
    }
    this.lastGoodSecrets.delete(key);
    if (value === undefined) return { problem: `${where} has no key ${JSON.stringify(ref.key)}, or does not exist` };
    if (value === '') return { problem: `${where} key ${JSON.stringify(ref.key)} is empty` };
    this.lastGoodSecrets.set(key, value);
    return { value };
  }

  /** Reads the Secret keys `refs` not read since the last change; forgets the ones no longer used. */
  private async loadSecrets(refs: readonly SecretKeyRef[]): Promise<Map<string, SecretLookup>> {
    const next = new Map<string, { readonly ref: SecretKeyRef; readonly lookup: SecretLookup }>();
    for (const ref of refs) {
      const key = secretRefKey(ref);
      next.set(key, this.secrets.get(key) ?? { ref, lookup: await this.readSecret(ref) });
    }
    if (next.size > 0 && this.secrets.size === 0) this.secretsCheckedAt = this.clock.now();
    this.secrets = next;
    return new Map([...next].map(([key, { lookup }]) => [key, lookup]));
  }

  /** Reads the Secret keys in use again; reconciles when a password changed or became readable or unreadable. */
  private async recheckSecrets(): Promise<void> {
    const before = this.secrets;
    let changed = false;
    for (const [key, { ref, lookup }] of before) {
      const fresh = await this.readSecret(ref);
      if (JSON.stringify(fresh) === JSON.stringify(lookup)) continue;
      changed = true;
      // A reconcile in between may have replaced the map: only update what is still in use.
      if (this.secrets.has(key)) this.secrets.set(key, { ref, lookup: fresh });
    }
    if (changed) {
      this.options.logger?.info({}, 'a BGP password Secret changed; reconciling the sessions');
      await this.reconcileFromWatch();
    }
  }

  private reconcile(restarting: boolean): Promise<void> {
    if (this.reconciling) {
      this.rerun = true;
      return this.reconciling;
    }
    this.reconciling = (async () => {
      try {
        let first = restarting;
        do {
          this.rerun = false;
          if (this.stopped) return;
          await this.reconcileOnce(first);
          first = false;
        } while (this.rerun);
      } finally {
        this.reconciling = undefined;
      }
    })();
    return this.reconciling;
  }

  private async reconcileOnce(restarting: boolean): Promise<void> {
    const self = this.self();
    const settings: BgpSettings = parseBgpConfiguration(this.configuration);
    if (self.ipv4 === undefined) {
      throw new BgpConfigurationError(`node ${self.name} has no IPv4 address for its BGP router id: set nodeAddresses.ipv4 in the agent's configuration or spec.bgp.ipv4Address of its Node resource`);
    }
    const clusterId = self.routeReflectorClusterId;
    // The Kubernetes datastore takes it from a Node annotation nothing validated.
    if (clusterId !== undefined && !isClusterId(clusterId)) {
      throw new BgpConfigurationError(`node ${self.name}'s route reflector cluster id ${JSON.stringify(clusterId)} is not a non-zero dotted quad such as "224.0.0.1": fix spec.bgp.routeReflectorClusterID (the projectcalico.org/RouteReflectorClusterID annotation)`);
    }
    const identity: SpeakerIdentity = {
      localAs: self.asNumber ?? settings.asNumber,
      routerId: self.ipv4,
      listenPort: this.options.listenPort ?? settings.listenPort,
      clusterId,
    };
    const planned = planPeers({ self, settings, nodes: this.nodes, bgpPeers: [...this.bgpPeers.values()] });
    const lookups = await this.loadSecrets(secretRefsOf(planned.peers.values()));
    const { peers, problems: secretProblems } = resolvePasswords(planned.peers, lookups);
    const problems = [...planned.problems, ...secretProblems];
    for (const p of problems) {
      if (this.problems.some((q) => q.peer === p.peer && q.reason === p.reason)) continue;
      this.options.logger?.warn({ bgpPeer: p.peer, ...(p.addresses === undefined ? {} : { addresses: p.addresses }) }, `BGP peering not used: ${p.reason}`);
    }
    this.problems = problems;

    let running = this.running;
    const current = running?.identity;
    if (
      !running ||
      !current ||
      current.localAs !== identity.localAs ||
      current.routerId !== identity.routerId ||
      current.listenPort !== identity.listenPort ||
      current.clusterId !== identity.clusterId
    ) {
      running = await this.replaceSpeaker(identity, restarting || running !== undefined);
    }
    const { speaker } = running;
    for (const [address, plan] of running.peers) {
      const next = peers.get(address);
      if (next && samePeer(plan, next)) continue;
      await speaker.removePeer(address);
      running.peers.delete(address);
      this.options.logger?.info({ peer: address, source: plan.source }, next ? 'bgp peer reconfigured' : 'bgp peer removed');
    }
    for (const [address, plan] of peers) {
      if (running.peers.has(address)) continue;
      try {
        speaker.addPeer(toSpeakerPeer(plan));
      } catch (error) {
        // Options the speaker or the sockets refuse (a hop count, a key the kernel will not
        // take): this peer is left out and reported, the others go on.
        const reason = error instanceof Error ? error.message : String(error);
        problems.push({ peer: plan.source, reason });
        this.options.logger?.warn({ peer: address, source: plan.source }, `BGP peer not added: ${reason}`);
        continue;
      }
      running.peers.set(address, plan);
      this.options.logger?.info({ peer: address, asn: plan.asn, source: plan.source, passive: plan.passive ?? false, routeReflectorClient: plan.routeReflectorClient ?? false }, 'bgp peer added');
    }
    const blocks = new Set(this.blocks.get(this.options.nodeName) ?? []);
    for (const prefix of running.originated) {
      if (blocks.has(prefix)) continue;
      speaker.withdraw(prefix);
      running.originated.delete(prefix);
    }
    for (const prefix of blocks) {
      if (running.originated.has(prefix)) continue;
      speaker.originate(prefix);
      running.originated.add(prefix);
    }
    this.reportPeers();
  }

  /**
   * Starts a speaker for `identity`, replacing the running one (a new AS, router id or
   * port needs new sessions): the old one stops like a restart, its kernel routes are
   * adopted and swept once the new one has relearned them.
   */
  private async replaceSpeaker(identity: SpeakerIdentity, restarting: boolean): Promise<RunningSpeaker> {
    const { fib, logger } = this.options;
    const old = this.running;
    if (old) {
      old.detach();
      fib.readoptAll();
      this.running = undefined;
      await old.speaker.stopForRestart();
      this.startedAt = this.clock.now();
      this.establishedSince = undefined;
      this.sweepPending = true;
    }
    let attached = true;
    const speaker = new BgpSpeaker({
      localAs: asn(identity.localAs),
      routerId: routerId(identity.routerId),
      ...(identity.clusterId === undefined ? {} : { clusterId: routerId(identity.clusterId) }),
      fib: { apply: (batch) => (attached ? fib.apply(batch) : undefined) },
      transport: this.options.transport({ port: identity.listenPort }),
      clock: this.clock,
      gracefulRestart: { restartTime: this.options.restartTime ?? 120, restarting },
      ...(this.options.flushDelayMs === undefined ? {} : { flushDelayMs: this.options.flushDelayMs }),
      ...(logger === undefined ? {} : { logger }),
    });
    await speaker.start();
    logger?.info({ localAs: identity.localAs, routerId: identity.routerId, listenPort: identity.listenPort, clusterId: identity.clusterId, restarting }, 'bgp speaker started');
    const running: RunningSpeaker = {
      speaker,
      identity,
      detach: () => {
        attached = false;
      },
      peers: new Map(),
      originated: new Set(),
    };
    this.running = running;
    return running;
  }

  /** Publishes peer states to the metrics, sweeps adopted routes once the sessions have settled, and re-reads the Secrets when due. */
  private tick(): void {
    if (this.stopped) return;
    this.reportPeers();
    this.maybeSweep();
    this.maybeRecheckSecrets();
    this.cancelTick = this.clock.setTimer(METRICS_EVERY_MS, () => this.tick());
  }

  private reportPeers(): void {
    const peers = this.peers();
    const seen = new Set<string>();
    for (const p of peers) {
      seen.add(p.address);
      if (this.reported.get(p.address) === p.state) continue;
      this.reported.set(p.address, p.state);
      this.options.metrics?.setBgpPeerState(p.address, p.state);
    }
    for (const address of [...this.reported.keys()]) {
      if (seen.has(address)) continue;
      this.reported.delete(address);
      this.options.metrics?.setBgpPeerState(address, undefined);
    }
  }

  private maybeRecheckSecrets(): void {
    if (this.secretsChecking || this.secrets.size === 0) return;
    const now = this.clock.now();
    if (now - this.secretsCheckedAt < (this.options.secretRecheckMs ?? 60_000)) return;
    this.secretsCheckedAt = now;
    this.secretsChecking = true;
    this.recheckSecrets()
      .catch((error: unknown) => this.options.logger?.error({ err: error }, 'could not reconcile after a BGP password Secret changed'))
      .finally(() => {
        this.secretsChecking = false;
      });
  }

  private maybeSweep(): void {
    if (!this.sweepPending) return;
    const now = this.clock.now();
    const peers = this.peers();
    const allUp = peers.every((p) => p.state === 'Established');
    if (!allUp) this.establishedSince = undefined;
    else this.establishedSince ??= now;
    const settled = this.establishedSince !== undefined && now - this.establishedSince >= (this.options.settleMs ?? 5000);
    const expired = now - this.startedAt >= (this.options.adoptionGraceMs ?? 120_000);
    if (!settled && !expired) return;
    this.sweepPending = false;
    this.options.fib.sweep().then(
      (removed) => {
        if (removed > 0) this.options.logger?.info({ removed }, 'stale BGP routes removed from the kernel');
      },
      (error: unknown) => this.options.logger?.error({ err: error }, 'could not sweep stale BGP routes'),
    );
  }
}
