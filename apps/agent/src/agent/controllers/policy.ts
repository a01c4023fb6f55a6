// The policy controller: resources and endpoint records from the datastore, through the
// policy index, to this node's dataplane. Applies are serialised; what changes during
// one goes out merged in the next. The first apply after start carries the full state,
// so an agent restarted over an adopted dataplane makes the kernel exact again.
import { performance } from 'node:perf_hooks';

import { PolicyIndex } from '@twill/policy-engine';

import { type Dataplane, type DataplaneChange } from '../../dataplane/port.js';
import { type EndpointRecord } from '../../plugin/ports.js';
import { type FlowPolicyView } from '../flows/policy-view.js';
import { type L7PolicyView } from '../l7/policy-source.js';
import { type L7AttachedEndpoint, l7RedirectTargets, type L7RedirectTargets, sameL7Targets, unionL7Targets } from '../l7/redirect-targets.js';
import { type AgentController, type AgentLogger, type AgentMetrics, type EntryEvent, type ResourceDatastore, type ResourceEvent, type ResourceWatch } from '../ports.js';
import { PendingChange } from './policy-change.js';
import { POLICY_RESOURCE_KINDS, PolicyState, type PolicyEndpointStatus } from './policy-state.js';

export { POLICY_RESOURCE_KINDS, type PolicyEndpointStatus } from './policy-state.js';

/** Options of {@link PolicyController}. */
export interface PolicyControllerOptions {
  readonly datastore: ResourceDatastore;
  /** This node's dataplane; without one, policy is computed (for status) but not programmed. */
  readonly dataplane: Dataplane | undefined;
  /** This node's name, as endpoint records carry it. */
  readonly nodeName: string;
  /** The CNI network whose endpoints are watched (`twill-endpoints/<network>/`). */
  readonly network: string;
  readonly metrics?: AgentMetrics;
  readonly logger?: AgentLogger;
  /** How long after a failed apply it is tried again, in milliseconds (default 1000); doubled for each further failure in a row, up to a minute. A new change tries at once. */
  readonly retryMs?: number;
  /** A monotonic clock in milliseconds (default `performance.now`), for the programming latency. */
  readonly now?: () => number;
  /**
   * Told the traffic this node's L7 proxy must see (see `l7RedirectTargets`) each time it
   * changes. Targets grow before the dataplane apply that programs the change and shrink
   * after it: before the apply the listener gets the old and new targets together (the
   * first apply after start gets the new ones alone, even when there are none: what a
   * previous run left is replaced), after it the new ones. So a new L7 rule's traffic goes
   * to the proxy before the dataplane admits only the proxy's marks for it, and a removed
   * rule's traffic stays with the proxy (which lets it through) until the dataplane lets it
   * through unmarked. A returned promise is awaited (at most {@link L7_TARGETS_WAIT_MS})
   * before the apply goes on; must not throw or reject (a failure is logged).
   */
  readonly onL7Targets?: (targets: L7RedirectTargets) => void | Promise<void>;
}

/** How long an apply waits for `onL7Targets` to install a redirect before it goes on regardless. */
export const L7_TARGETS_WAIT_MS = 5_000;

/** What {@link PolicyController.status} reports. */
export interface PolicyControllerStatus {
  readonly ready: boolean;
  /** Every endpoint of every node the index holds, with its labels; `attached` for this node's. */
  readonly endpoints: readonly PolicyEndpointStatus[];
  /** Policies in the index (a document of several parts counts each part). */
  readonly policies: number;
  /** The last apply's failure, while it has not succeeded since. */
  readonly lastApplyError?: string;
  /** Resources and records the index refused or that do not compile, each with why. */
  readonly problems: readonly string[];
}

/** The policy controller was stopped before an endpoint could be programmed. */
export class PolicyControllerStoppedError extends Error {
  override readonly name = 'PolicyControllerStoppedError';
  readonly code = 'policy-controller-stopped';
}

interface Waiter {
  readonly sequence: number;
  resolve(): void;
  reject(error: unknown): void;
}

const SILENT: AgentLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Watches namespaces, pods, policies, network sets and tiers, and the endpoint records of
 * every node; feeds a PolicyIndex (a record's endpoint takes its pod's labels) and programs
 * this node's dataplane: local endpoints are attached when the agent starts (those
 * already there) or when ADD enforces them (after their links exist).
 */
export class PolicyController implements AgentController {
  readonly name = 'policy';
  readonly #options: PolicyControllerOptions;
  readonly #logger: AgentLogger;
  readonly #now: () => number;
  readonly #index = new PolicyIndex();
  readonly #state: PolicyState;
  readonly #pending = new PendingChange();
  /** When the oldest change of `#pending` was seen. */
  #pendingSince: number | undefined;
  /** Bumped by every change merged into `#pending`; `#programmed` is the last one applied. */
  #sequence = 0;
  #programmed = 0;
  #waiters: Waiter[] = [];
  #applying: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #watches: ResourceWatch[] = [];
  #loaded = false;
  /** The full state is due: applied even when it is empty (it removes what the kernel holds of no endpoint). */
  #full = false;
  #synchronised = false;
  #stopped = false;
  #lastError: string | undefined;
  /** Failed applies since the last success: the retry backs off with them. */
  #failures = 0;
  /** The L7 targets last given to `onL7Targets` (none yet: the first are given even when empty). */
  #l7Given: L7RedirectTargets | undefined;
  /** The index's targets, computed at generation `#l7Generation`: given once the apply that needs no more than them is done. */
  #l7Wanted: L7RedirectTargets | undefined;
  #l7Generation = -1;

  constructor(options: PolicyControllerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? SILENT;
    this.#now = options.now ?? (() => performance.now());
    this.#state = new PolicyState({ index: this.#index, nodeName: options.nodeName, network: options.network });
  }

  /**
   * Loads every resource and record, then programs the full state (the driver adopted
   * the kernel's when it was created). Resolves once that first apply was tried; when it
   * failed, `ready()` stays false and it is tried again.
   * @throws what the datastore throws when it cannot be read at all.
   */
  async start(): Promise<void> {
    let resourcesLoaded!: () => void;
    let recordsLoaded!: () => void;
    const loaded = Promise.all([new Promise<void>((resolve) => (resourcesLoaded = resolve)), new Promise<void>((resolve) => (recordsLoaded = resolve))]);
    this.#watches.push(await this.#options.datastore.watch(POLICY_RESOURCE_KINDS, (events) => {
      this.#onResources(events);
      resourcesLoaded();
    }));
    this.#watches.push(await this.#options.datastore.watchEntries(this.#state.recordPrefix, (events) => {
      this.#onRecords(events, !this.#loaded);
      recordsLoaded();
    }));
    await loaded;
    this.#loaded = true;
    this.#state.flush();
    this.#logger.info({ endpoints: this.#state.endpoints().length, attached: this.#state.attachedCount, problems: this.#state.errors().length }, 'policy: loaded; programming the full state');
    // The index's diffs so far are replaced by its whole state: sequence 1, what enforce calls made before start wait for.
    this.#pending.take();
    this.#pending.merge(this.#state.fullState());
    this.#pendingSince = this.#now();
    this.#sequence += 1;
    this.#full = true;
    await this.#kick();
  }

  ready(): boolean {
    return this.#synchronised && !this.#stopped;
  }

  /** Stops watching; what is programmed stays. Pending `enforce` calls are rejected. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    await Promise.all(this.#watches.map((watch) => watch.close()));
    this.#watches = [];
    await this.#applying;
    this.#settle(Number.POSITIVE_INFINITY, new PolicyControllerStoppedError('the policy controller stopped'));
  }

  /**
   * Puts a new endpoint's policy in place: resolves once the endpoint is in the index and
   * attached to this node's dataplane with its rules (at once without a dataplane). The
   * record may be ahead of the watch, or behind it.
   * @throws Error naming the container and the index's reason when the index refuses the
   *   endpoint (an address another endpoint has); the driver's error when the apply fails;
   *   PolicyControllerStoppedError after stop().
   */
  async enforce(record: EndpointRecord): Promise<void> {
    if (this.#stopped) throw new PolicyControllerStoppedError('the policy controller is stopped');
    if (record.network !== this.#options.network) {
      this.#logger.warn({ network: record.network, containerId: record.containerId }, `policy: an endpoint of network ${record.network}, not ${this.#options.network}: not enforced`);
      return;
    }
    this.#state.upsertRecord(record, true);
    if (this.#loaded) {
      this.#merge(this.#state.flush());
      const problem = this.#state.errorOf(record);
      if (problem !== undefined) throw new Error(`policy: endpoint ${record.containerId}: ${problem}`);
      if (this.#programmed >= this.#sequence && this.#state.programmedAs(record)) return;
    }
    // Before start, the first apply (the full state, sequence 1) programs it.
    const done = this.#waitFor(this.#loaded ? this.#sequence : 1);
    void this.#kick();
    await done;
  }

  /**
   * Drops a container's endpoint (DEL, GC, a failed ADD): resolves once the change is
   * queued, without waiting for the apply, so DEL (which runs in the datastore's turn)
   * does not hold other calls for a dataplane apply. Its links are gone already, and the
   * pool's release cooldown keeps its address from another pod meanwhile. Never rejects;
   * `settled()` waits for the apply.
   */
  forget(network: string, containerId: string): Promise<void> {
    if (network !== this.#options.network || this.#stopped) return Promise.resolve();
    this.#state.deleteRecord(containerId);
    if (this.#loaded) {
      this.#merge(this.#state.flush());
      void this.#kick();
    }
    return Promise.resolve();
  }

  /**
   * CHECK's part: how the endpoint's enforcement differs from what it should be, in
   * words (not in the index, not attached, attached elsewhere, an apply pending or
   * failed, or the driver reading back less than it programmed); empty when in place.
   * Reads the kernel through the driver's `status()`.
   */
  async check(record: EndpointRecord): Promise<readonly string[]> {
    const dataplane = this.#options.dataplane;
    if (dataplane === undefined || record.network !== this.#options.network) return [];
    const { key, indexedAs, attachedTo } = this.#state.standing(record);
    const problem = this.#state.errorOf(record);
    const drift: string[] = [];
    if (problem !== undefined) drift.push(`policy: endpoint ${key} refused: ${problem}`);
    if (indexedAs !== record.containerId) drift.push(`policy: endpoint ${key} is ${indexedAs === undefined ? 'not in the policy index' : `container ${indexedAs}'s in the policy index`}`);
    if (attachedTo === undefined) drift.push(`policy: endpoint ${key} is not attached to the ${dataplane.driver} dataplane`);
    else if (attachedTo !== record.hostInterface) drift.push(`policy: endpoint ${key} is attached to ${attachedTo}, not ${record.hostInterface}`);
    if (drift.length > 0) return drift;
    if (this.#programmed < this.#sequence) drift.push(`policy: changes are waiting to be programmed${this.#lastError === undefined ? '' : ` (last apply failed: ${this.#lastError})`}`);
    const programmed = (await dataplane.status()).endpoints.find((e) => e.key === key);
    if (programmed === undefined) drift.push(`policy: the ${dataplane.driver} dataplane has no endpoint ${key}`);
    else if (!programmed.programmed) drift.push(`policy: the ${dataplane.driver} dataplane has endpoint ${key} on ${programmed.hostInterface} not fully programmed`);
    return drift;
  }

  /**
   * Resolves once every change the controller has taken so far is programmed (at once
   * when nothing is pending); rejects with the driver's error when that apply fails.
   */
  settled(): Promise<void> {
    if (!this.#loaded) return Promise.reject(new Error('the policy controller has not started'));
    const done = this.#waitFor(this.#sequence);
    void this.#kick();
    return done;
  }

  /**
   * What flow enrichment reads (see FlowPolicyView): the index's endpoints, its
   * evaluation and its rules' origins, as they are now; `generation` changes with them.
   */
  flowView(): FlowPolicyView {
    const state = this.#state;
    const index = this.#index;
    const directionOf = (key: string, direction: 'ingress' | 'egress') => {
      const ref = state.flowEndpoint(key)?.ref;
      return ref === undefined ? undefined : index.effectiveRules(ref)?.[direction];
    };
    return {
      get generation() {
        return state.generation;
      },
      endpoint: (key) => state.flowEndpoint(key),
      endpointByAddress: (address) => state.flowEndpointByAddress(address),
      evaluate: (flow) => index.evaluate(flow),
      ruleOrigin: (key, direction, policy, ruleIndex) => {
        for (const tier of directionOf(key, direction)?.tiers ?? []) {
          const rule = tier.rules.find((r) => r.ruleIndex === ruleIndex && r.policy.name === policy.name && r.policy.kind === policy.kind && r.policy.namespace === policy.namespace && r.policy.dialect === policy.dialect);
          if (rule !== undefined) return rule.origin;
        }
        return undefined;
      },
      selected: (key, direction) => (directionOf(key, direction)?.tiers.length ?? 0) > 0,
      policySource: (policy) => state.policySource(policy),
    };
  }

  /**
   * What the L7 proxy's policy source reads (see L7PolicyView and IndexL7PolicySource):
   * the index's evaluation and effective rules, endpoints by address, as they are now.
   */
  l7View(): L7PolicyView {
    const state = this.#state;
    const index = this.#index;
    return {
      get generation() {
        return state.generation;
      },
      evaluate: (flow) => index.evaluate(flow),
      effectiveRules: (ref) => index.effectiveRules(ref),
      endpointKeyByAddress: (address) => state.flowEndpointByAddress(address)?.key,
    };
  }

  /**
   * The traffic this node's L7 proxy must see now: from the effective rules of the
   * endpoints attached to this node (`l7RedirectTargets`). Costs a walk over the index's
   * endpoints; `onL7Targets` tells of changes without polling.
   */
  l7Targets(): L7RedirectTargets {
    const attached: L7AttachedEndpoint[] = [];
    for (const { key, attached: here } of this.#state.endpoints()) {
      const info = here ? this.#state.flowEndpoint(key) : undefined;
      const rules = info?.hostInterface === undefined ? undefined : this.#index.effectiveRules(info.ref);
      if (info?.hostInterface !== undefined && rules !== undefined) attached.push({ hostInterface: info.hostInterface, rules });
    }
    return l7RedirectTargets(attached);
  }

  /** What the controller holds and whether the dataplane is in step with it. */
  status(): PolicyControllerStatus {
    return {
      ready: this.ready(),
      endpoints: this.#state.endpoints(),
      policies: this.#index.size.policies,
      ...(this.#lastError === undefined ? {} : { lastApplyError: this.#lastError }),
      problems: this.#state.errors(),
    };
  }

  #onResources(events: readonly ResourceEvent[]): void {
    this.#state.resources(events);
    this.#changed();
  }

  #onRecords(events: readonly EntryEvent[], atStart: boolean): void {
    for (const event of events) {
      try {
        if (event.type === 'delete') this.#state.deleteRecord(this.#state.containerOf(event.key));
        else this.#state.upsertRecord(this.#state.parseRecord(event.key, event.value), atStart);
      } catch (error) {
        this.#logger.warn({ key: event.key, error: error instanceof Error ? error.message : String(error) }, 'policy: endpoint record skipped');
      }
    }
    this.#changed();
  }

  #changed(): void {
    if (!this.#loaded || this.#stopped) return;
    this.#merge(this.#state.flush());
    void this.#kick();
  }

  #merge(change: DataplaneChange): void {
    const { policy } = change;
    const empty = policy.changed.length === 0 && policy.removed.length === 0 && policy.ipcache.set.length === 0 && policy.ipcache.removed.length === 0
      && (change.attach?.length ?? 0) === 0 && (change.detach?.length ?? 0) === 0;
    if (empty) return;
    this.#pending.merge(change);
    this.#pendingSince ??= this.#now();
    this.#sequence += 1;
  }

  #waitFor(sequence: number): Promise<void> {
    if (this.#options.dataplane === undefined || this.#programmed >= sequence) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ sequence, resolve, reject }));
  }

  // Starts the apply loop unless it runs; resolves when the loop is over. A change merged
  // as the loop ends (after its last check) starts it again; after a failure the retry does.
  #kick(): Promise<void> {
    if (!this.#loaded) return Promise.resolve();
    this.#applying ??= this.#loop().then((ok) => {
      this.#applying = undefined;
      if (ok && !this.#pending.empty && !this.#stopped) void this.#kick();
    });
    return this.#applying;
  }

  // Before an apply: when the index moved, gives `onL7Targets` what it holds plus the new
  // targets (nothing when the change only removes targets).
  async #growL7Targets(): Promise<void> {
    if (this.#options.onL7Targets === undefined || this.#state.generation === this.#l7Generation) return;
    this.#l7Generation = this.#state.generation;
    const wanted = this.l7Targets();
    this.#l7Wanted = wanted;
    const given = this.#l7Given;
    const grown = given === undefined ? wanted : unionL7Targets(given, wanted);
    if (given !== undefined && sameL7Targets(grown, given)) return;
    await this.#giveL7Targets(grown);
  }

  // After an apply: gives `onL7Targets` the index's targets when it holds more.
  async #shrinkL7Targets(): Promise<void> {
    const wanted = this.#l7Wanted;
    if (wanted === undefined || this.#l7Given === undefined || sameL7Targets(wanted, this.#l7Given)) return;
    await this.#giveL7Targets(wanted);
  }

  async #giveL7Targets(targets: L7RedirectTargets): Promise<void> {
    const listener = this.#options.onL7Targets;
    if (listener === undefined) return;
    this.#l7Given = targets;
    let timer: NodeJS.Timeout | undefined;
    try {
      const done = listener(targets);
      if (done !== undefined) {
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), L7_TARGETS_WAIT_MS);
        });
        if ((await Promise.race([done, late])) === 'late') this.#logger.error({ waitedMs: L7_TARGETS_WAIT_MS }, 'policy: the L7 redirect was not updated in time; applying without it');
      }
    } catch (error) {
      this.#logger.error({ error: error instanceof Error ? error.message : String(error) }, 'policy: the L7 targets listener failed');
    } finally {
      clearTimeout(timer);
    }
  }

  // Applies until nothing is pending; false when an apply failed.
  async #loop(): Promise<boolean> {
    const dataplane = this.#options.dataplane;
    await this.#growL7Targets();
    if (dataplane === undefined) {
      await this.#shrinkL7Targets();
      this.#pending.take();
      this.#pendingSince = undefined;
      this.#full = false;
      this.#programmed = this.#sequence;
      this.#synchronised = true;
      this.#options.metrics?.setEndpoints(this.#state.attachedCount);
      this.#settle(this.#sequence);
      return true;
    }
    while ((this.#full || !this.#pending.empty) && !this.#stopped) {
      const sequence = this.#sequence;
      const since = this.#pendingSince ?? this.#now();
      const change = this.#pending.take();
      this.#pendingSince = undefined;
      await this.#growL7Targets();
      try {
        const report = await dataplane.apply(change);
        this.#full = false;
        this.#failures = 0;
        this.#programmed = sequence;
        this.#synchronised = true;
        this.#lastError = undefined;
        this.#options.metrics?.observePolicyProgramming((this.#now() - since) / 1000);
        this.#options.metrics?.setEndpoints(this.#state.attachedCount);
        this.#logger.debug({ ...report, changed: change.policy.changed.length, attach: change.attach?.length ?? 0, detach: change.detach?.length ?? 0 }, 'policy: applied');
        this.#settle(sequence);
        // After those waiting on the apply are told: the redirect's removals are not theirs to wait for.
        await this.#shrinkL7Targets();
      } catch (error) {
        // Put back beneath what came since: the retry programs both.
        this.#pending.restore(change);
        this.#pendingSince = Math.min(since, this.#pendingSince ?? since);
        this.#lastError = error instanceof Error ? error.message : String(error);
        this.#failures += 1;
        this.#logger.error({ error: this.#lastError, failures: this.#failures, retryMs: this.#retryDelay() }, 'policy: the dataplane apply failed');
        this.#settle(sequence, error);
        this.#scheduleRetry();
        return false;
      }
    }
    // The index moved with nothing for the dataplane (the loop did not run): the grown targets shrink now.
    await this.#shrinkL7Targets();
    return true;
  }

  // Doubles with each failure in a row, up to a minute: a driver that keeps failing is not hammered.
  #retryDelay(): number {
    return Math.min((this.#options.retryMs ?? 1000) * 2 ** Math.max(0, this.#failures - 1), 60_000);
  }

  #scheduleRetry(): void {
    if (this.#retry !== undefined || this.#stopped) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#kick();
    }, this.#retryDelay());
    this.#retry.unref();
  }

  // Resolves (or rejects with `error`) every waiter for a change up to `sequence`.
  #settle(sequence: number, error?: unknown): void {
    const due = this.#waiters.filter((w) => w.sequence <= sequence);
    this.#waiters = this.#waiters.filter((w) => w.sequence > sequence);
    for (const waiter of due) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  }
}
