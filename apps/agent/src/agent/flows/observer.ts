// The flow observer: the dataplane's verdict events (and the L7 proxy's request records,
// `recordL7`) in, flow records (Hubble's fields, @twill/flows) out into the ring the observer API serves, counted for Prometheus. Pure
// apart from the injected clock. At ingest it resolves what a flow shows (endpoints, the
// decision, which the counters need) and pushes a compact ObservedFlow; the record
// itself is built when a reader reads it. Budget: at most `budgetPerSecond` events a second become
// flows; above it events are sampled (one in N, N from the rate seen) and the rest are
// counted as lost (`observer`), so a flood costs the agent a bounded share of its CPU.
// Enrichment is cached for the policy view's generation: endpoints by key and address,
// decisions by the index's verdict object or the kernel's rule id.
import { DROP_REASON, type Flow, type FlowEndpoint, type LazyFlow, TRAFFIC_DIRECTION, type TrafficDirection, VERDICT, type Verdict } from '@twill/flows';
import { FlowError, type Flow as PolicyFlow, type IndexDirectionVerdict, type NumericIdentity, RESERVED_IDENTITY, reservedIdentityName } from '@twill/policy-engine';

import { type DataplaneFlowEvent, type DataplaneFlowHandler } from '../../dataplane/port.js';
import { type L7FlowRecord, type L7FlowSink, type L7Verdict } from '../l7/ports.js';
import { type Decision, evaluatedDecision, FlowPolicies, kernelDecision, noEntryDecision, unattributed, unknownDropDecision } from './attribution.js';
import { l7Decision, L7DecisionCache, ObservedL7Flow } from './l7-flow.js';
import { ObservedFlow, type ObservedFlowContext } from './observed-flow.js';
import { type FlowEndpointInfo, type FlowPolicyView } from './policy-view.js';

/** Where flows go: the ring (`FlowRing` of @twill/flows). */
export interface FlowSink {
  /** A flow, pushed as a LazyFlow (an ObservedFlow): its record is built when first read. */
  push(flow: Flow | LazyFlow): void;
  /** Events not turned into flows, recorded in order with the flows. */
  lost(source: string, count: number): void;
}

/** The observer's Prometheus counters (PrometheusAgentMetrics implements them). */
export interface FlowMetrics {
  /** `twill_flows_total{verdict}`. */
  addFlows(verdict: Verdict, count: number): void;
  /** `twill_policy_drops_total{reason,policy}`: `policy` is `Kind namespace/name`, or "" when no rule decided. */
  addPolicyDrops(reason: string, policy: string, count: number): void;
  /** `twill_flow_events_lost_total{source}`. */
  addLostEvents(source: string, count: number): void;
  /**
   * `twill_l7_requests_total{verdict}`: requests through the L7 proxy by its verdict
   * (`forwarded`, `denied`, `invalid`, `upstream-error`), every one of them, also those
   * the budget sampled out of the flows. Optional: metrics without it count L7 flows in
   * the other counters only.
   */
  addL7Requests?(verdict: L7Verdict, count: number): void;
}

/** The `source` of events the observer itself did not turn into flows (over budget). */
export const OBSERVER_LOST_SOURCE = 'observer';

/** Options of {@link FlowObserver}. */
export interface FlowObserverOptions {
  readonly sink: FlowSink;
  /** This node's name, in every flow. */
  readonly nodeName: string;
  /** The policy state flows are enriched from; absent: flows carry addresses only. */
  readonly policy?: FlowPolicyView;
  /** Events turned into flows per second at most; the rest are sampled. */
  readonly budgetPerSecond: number;
  readonly metrics?: FlowMetrics;
  /** This node's own addresses (shown as `reserved:host`). */
  readonly hostAddresses?: readonly string[];
  /** A monotonic clock in milliseconds, for the budget (default `performance.now`). */
  readonly now?: () => number;
  /** Random numbers in [0, 1), for the agent's UUID prefix (default `Math.random`). */
  readonly random?: () => number;
  /** Where a reader's errors are reported. */
  readonly onError?: (error: unknown) => void;
}

/** What the observer has done since it was made. */
export interface FlowObserverStats {
  /** Events the dataplane delivered, and L7 records the proxy reported. */
  readonly events: number;
  /** Flows made from them. */
  readonly flows: number;
  /** Events lost, every source (the kernel's and the observer's own). */
  readonly lost: number;
}

/** The local endpoint of an event, as flows show it. */
interface LocalSide {
  readonly info: FlowEndpointInfo;
  readonly endpoint: FlowEndpoint;
  readonly interfaceName: string;
}

const ICMP = 1;
const ICMPV6 = 58;

function hex(value: number, digits: number): string {
  return Math.floor(value).toString(16).padStart(digits, '0').slice(-digits);
}

function endpointLabels(info: FlowEndpointInfo): readonly string[] {
  const labels = Object.entries(info.labels).map(([key, value]) => `k8s:${key}=${value}`);
  // Cilium's namespace label, which Hubble's `--namespace`-style selectors read.
  if (info.ref.namespace !== undefined) labels.push(`k8s:io.kubernetes.pod.namespace=${info.ref.namespace}`);
  return Object.freeze(labels.sort());
}

/**
 * Turns the dataplane's verdict events into flows: give it to `Dataplane.readFlows`.
 * Calls come on the event loop and never block; the sink and metrics are called once
 * per flow and once per batch.
 */
export class FlowObserver implements DataplaneFlowHandler {
  readonly #sink: FlowSink;
  readonly #context: ObservedFlowContext;
  readonly #policy: FlowPolicyView | undefined;
  readonly #budget: number;
  readonly #metrics: FlowMetrics | undefined;
  readonly #hosts: ReadonlySet<string>;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  readonly #policies: FlowPolicies;
  /** The rules' part of forwarded L7 requests' decisions, per labels and direction, for this generation. */
  readonly #l7Rules = new L7DecisionCache();
  #serial = 0;

  // Budget: the current one-second window, what arrived and was kept in it, and N.
  #windowStart: number;
  #arrived = 0;
  #kept = 0;
  #every = 1;
  #phase = 0;

  #events = 0;
  #flows = 0;
  #lost = 0;

  // Caches of the policy view's generation.
  #generation = -1;
  readonly #locals = new Map<string, LocalSide | null>();
  readonly #byAddress = new Map<string, FlowEndpoint>();
  // By rule id and who: a slot per verdict and direction (allow 0, deny 2; +1 for egress).
  readonly #kernelDecisions = new Map<number, Map<string, Decision[]>>();
  readonly #noEntry = new Map<string, Decision>();
  // Per index verdict object (shared between flows that end the same way): agreeing and not.
  #evaluated = new WeakMap<IndexDirectionVerdict, Decision[]>();
  // Evaluated with the endpoint's own address (the packet's is none of its): per verdict, slot and address.
  #unplaced = new WeakMap<IndexDirectionVerdict, Map<string, Decision>>();
  /** Drops no policy could be named for, by what the message says. */
  readonly #unknown = new Map<string, Decision>();
  readonly #reserved = new Map<number, FlowEndpoint>();
  /** Numeric endpoint ids, stable while the endpoint exists (never reused). */
  readonly #ids = new Map<string, number>();
  #nextId = 1;

  // Per batch: counts for the metrics.
  #forwarded = 0;
  #dropped = 0;
  readonly #drops = new Map<Decision, number>();

  constructor(options: FlowObserverOptions) {
    if (!Number.isInteger(options.budgetPerSecond) || options.budgetPerSecond < 1) throw new RangeError(`budgetPerSecond must be a positive integer (got ${options.budgetPerSecond})`);
    this.#sink = options.sink;
    this.#policy = options.policy;
    const view = options.policy;
    this.#policies = new FlowPolicies(view === undefined ? undefined : (ref) => view.policySource(ref));
    this.#budget = options.budgetPerSecond;
    this.#metrics = options.metrics;
    this.#hosts = new Set(options.hostAddresses ?? []);
    this.#now = options.now ?? (() => performance.now());
    this.#onError = options.onError ?? (() => undefined);
    const random = options.random ?? Math.random;
    const r = (digits: number): string => hex(random() * 16 ** digits, digits);
    // A version 4 UUID's shape: the agent's random prefix, then a 48-bit counter.
    this.#context = { nodeName: options.nodeName, uuidPrefix: `${r(8)}-${r(4)}-4${r(3)}-${'89ab'[Math.floor(random() * 4)] ?? '8'}${r(3)}-` };
    this.#windowStart = this.#now();
  }

  /** Events in, flows out (see the class). */
  events(batch: readonly DataplaneFlowEvent[]): void {
    const count = batch.length;
    if (count === 0) return;
    this.#events += count;
    this.#window(count);
    const policy = this.#policy;
    if (policy !== undefined && policy.generation !== this.#generation) this.#reset(policy.generation);
    let skipped = 0;
    for (let i = 0; i < count; i += 1) {
      if (this.#kept >= this.#budget || (this.#every > 1 && this.#phase++ % this.#every !== 0)) {
        skipped += 1;
        continue;
      }
      this.#kept += 1;
      this.#sink.push(this.#observe(batch[i]!));
    }
    this.#flows += count - skipped;
    if (skipped > 0) this.#recordLost(skipped, OBSERVER_LOST_SOURCE);
    this.#flushMetrics();
  }

  /** Events the kernel could not deliver: recorded in the ring's stream and counted. */
  lost(count: number, source: string): void {
    if (count <= 0) return;
    this.#recordLost(count, source);
  }

  error(error: unknown): void {
    this.#onError(error);
  }

  /**
   * One request through the L7 proxy in, a flow of type L7 out (see `l7-flow.ts` for the
   * verdicts): its client and destination resolved as verdict flows' addresses are, its
   * traffic direction INGRESS when the destination is an endpoint on this node, else
   * EGRESS when the client is one, else unknown; counted in `twill_flows_total`,
   * `twill_policy_drops_total` (denied requests) and `twill_l7_requests_total`; under the
   * same budget as the dataplane's events (sampled out: lost at `observer`). Never throws
   * (a failure goes to `onError`), so it can be the proxy's {@link L7FlowSink}.
   */
  recordL7(record: L7FlowRecord): void {
    try {
      this.#metrics?.addL7Requests?.(record.verdict, 1);
      this.#events += 1;
      this.#window(1);
      if (this.#kept >= this.#budget || (this.#every > 1 && this.#phase++ % this.#every !== 0)) {
        this.#recordLost(1, OBSERVER_LOST_SOURCE);
        return;
      }
      this.#kept += 1;
      const policy = this.#policy;
      if (policy !== undefined && policy.generation !== this.#generation) this.#reset(policy.generation);
      const direction = this.#l7Direction(record.client.address, record.destination.address);
      const decision = l7Decision(record, direction, this.#policies, this.#l7Rules);
      this.#serial += 1;
      const client = this.#endpointOf(record.client.address, undefined);
      const destination = this.#endpointOf(record.destination.address, undefined);
      this.#sink.push(new ObservedL7Flow(this.#context, record, this.#serial, client, destination, direction, decision));
      this.#flows += 1;
      this.#metrics?.addFlows(decision.verdict, 1);
      // A denied request's flow says POLICY_DENIED (buildL7Flow).
      if (decision.verdict === VERDICT.DROPPED) this.#metrics?.addPolicyDrops(DROP_REASON.POLICY_DENIED, decision.policyLabel, 1);
    } catch (error) {
      this.#onError(error);
    }
  }

  /** {@link recordL7} as the L7 proxy's flow sink (`new L7Proxy({ onFlow: observer.l7Sink() })`). */
  l7Sink(): L7FlowSink {
    return (record) => this.recordL7(record);
  }

  // INGRESS at the destination when it is an endpoint on this node; EGRESS when only the client is.
  #l7Direction(client: string, destination: string): TrafficDirection {
    const policy = this.#policy;
    if (policy === undefined) return TRAFFIC_DIRECTION.TRAFFIC_DIRECTION_UNKNOWN;
    if (policy.endpointByAddress(destination)?.hostInterface !== undefined) return TRAFFIC_DIRECTION.INGRESS;
    if (policy.endpointByAddress(client)?.hostInterface !== undefined) return TRAFFIC_DIRECTION.EGRESS;
    return TRAFFIC_DIRECTION.TRAFFIC_DIRECTION_UNKNOWN;
  }

  /** What the observer has done so far. */
  stats(): FlowObserverStats {
    return { events: this.#events, flows: this.#flows, lost: this.#lost };
  }

  #recordLost(count: number, source: string): void {
    this.#lost += count;
    this.#sink.lost(source, count);
    this.#metrics?.addLostEvents(source, count);
  }

  // A new one-second window takes N from the last one's rate; within a window, N grows
  // as soon as more has arrived than the budget allows for the whole window.
  #window(count: number): void {
    const now = this.#now();
    const elapsed = now - this.#windowStart;
    if (elapsed >= 1000) {
      const rate = (this.#arrived * 1000) / elapsed;
      this.#every = rate > this.#budget ? Math.ceil(rate / this.#budget) : 1;
      this.#windowStart = now;
      this.#arrived = 0;
      this.#kept = 0;
    }
    this.#arrived += count;
    if (this.#arrived > this.#budget) this.#every = Math.max(this.#every, Math.ceil(this.#arrived / this.#budget));
  }

  #reset(generation: number): void {
    this.#generation = generation;
    this.#locals.clear();
    this.#byAddress.clear();
    this.#kernelDecisions.clear();
    this.#noEntry.clear();
    this.#evaluated = new WeakMap();
    this.#unplaced = new WeakMap();
    this.#unknown.clear();
    // Policies' revisions change with their objects: each is read again.
    this.#policies.clear();
    this.#l7Rules.clear();
    // Endpoints that left the index give their ids up (pod churn must not grow this map).
    for (const key of this.#ids.keys()) if (this.#policy?.endpoint(key) === undefined) this.#ids.delete(key);
  }

  #flushMetrics(): void {
    const metrics = this.#metrics;
    if (metrics !== undefined) {
      if (this.#forwarded > 0) metrics.addFlows(VERDICT.FORWARDED, this.#forwarded);
      if (this.#dropped > 0) metrics.addFlows(VERDICT.DROPPED, this.#dropped);
      for (const [decision, count] of this.#drops) metrics.addPolicyDrops(decision.dropReason, decision.policyLabel, count);
    }
    this.#forwarded = 0;
    this.#dropped = 0;
    this.#drops.clear();
  }

  #observe(event: DataplaneFlowEvent): ObservedFlow {
    // The packet's way decides which address is the pod's; the connection's (a reply's is
    // the other way) is what decided it.
    const egress = event.direction === 'egress';
    const direction = event.isReply === true ? (egress ? 'ingress' : 'egress') : event.direction;
    const local = event.endpoint === undefined ? undefined : this.#local(event.endpoint);
    const localIp = egress ? event.source : event.destination;
    const remoteIp = egress ? event.destination : event.source;
    const localEndpoint = local?.endpoint ?? this.#endpointOf(localIp, undefined);
    const remoteEndpoint = this.#endpointOf(remoteIp, event.remoteIdentity);
    const decision = this.#decide(event, direction, local, localIp, remoteIp);
    if (event.verdict === 'allow') this.#forwarded += 1;
    else {
      this.#dropped += 1;
      this.#drops.set(decision, (this.#drops.get(decision) ?? 0) + 1);
    }
    this.#serial += 1;
    return new ObservedFlow(this.#context, event, this.#serial, localEndpoint, remoteEndpoint, local?.interfaceName, decision);
  }

  #local(key: string): LocalSide | undefined {
    let side = this.#locals.get(key);
    if (side === undefined) {
      const info = this.#policy?.endpoint(key);
      side = info === undefined ? null : { info, endpoint: this.#flowEndpoint(info), interfaceName: info.hostInterface ?? '' };
      this.#locals.set(key, side);
    }
    return side ?? undefined;
  }

  #flowEndpoint(info: FlowEndpointInfo): FlowEndpoint {
    let id = this.#ids.get(info.key);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(info.key, id);
    }
    return Object.freeze({ ID: id, identity: info.identity, ...(info.ref.namespace === undefined ? {} : { namespace: info.ref.namespace }), labels: endpointLabels(info), podName: info.ref.name });
  }

  // An address's side: the endpoint holding it, this node, or a reserved identity (the
  // kernel's lookup when it made one, else world).
  #endpointOf(address: string, kernelIdentity: number | undefined): FlowEndpoint {
    const known = this.#byAddress.get(address);
    if (known !== undefined) return known;
    const info = this.#policy?.endpointByAddress(address);
    if (info !== undefined) {
      const endpoint = this.#flowEndpoint(info);
      this.#byAddress.set(address, endpoint);
      return endpoint;
    }
    if (this.#hosts.has(address)) return this.#reservedEndpoint(RESERVED_IDENTITY.HOST);
    const identity = kernelIdentity !== undefined && reservedIdentityName(kernelIdentity as NumericIdentity) !== undefined ? kernelIdentity : RESERVED_IDENTITY.WORLD;
    return this.#reservedEndpoint(identity);
  }

  #reservedEndpoint(identity: number): FlowEndpoint {
    let endpoint = this.#reserved.get(identity);
    if (endpoint === undefined) {
      endpoint = Object.freeze({ ID: 0, identity, labels: Object.freeze([`reserved:${reservedIdentityName(identity as NumericIdentity) ?? 'unknown'}`]) });
      this.#reserved.set(identity, endpoint);
    }
    return endpoint;
  }

  // `direction`: the connection's (a reply's kernel rule is the one that allowed its connection).
  #decide(event: DataplaneFlowEvent, direction: 'ingress' | 'egress', local: LocalSide | undefined, localIp: string, remoteIp: string): Decision {
    const who = local?.info.key ?? event.endpoint ?? localIp;
    if (event.reason === 'no-entry' || event.dropKind === 'no-entry') {
      let decision = this.#noEntry.get(`${direction}\u0000${who}`);
      if (decision === undefined) {
        decision = noEntryDecision(direction, who, event.rule === undefined ? 'evaluated' : 'kernel', this.#policies);
        this.#noEntry.set(`${direction}\u0000${who}`, decision);
      }
      return decision;
    }
    const policy = this.#policy;
    if (policy === undefined) return this.#unknownDrop(event, who, 'the agent has no policy state to evaluate it against');
    const rule = event.rule;
    if (rule !== undefined) {
      let byEndpoint = this.#kernelDecisions.get(rule.id);
      if (byEndpoint === undefined) {
        byEndpoint = new Map();
        this.#kernelDecisions.set(rule.id, byEndpoint);
      }
      // Slots, not a key string: building one per event was a tenth of the ingest's CPU.
      let slots = byEndpoint.get(who);
      if (slots === undefined) {
        slots = [];
        byEndpoint.set(who, slots);
      }
      const slot = (event.verdict === 'allow' ? 0 : 2) + (direction === 'egress' ? 1 : 0);
      let decision = slots[slot];
      if (decision === undefined) {
        const origin = rule.kind === 'rule' && local !== undefined ? policy.ruleOrigin(local.info.key, rule.direction, rule.policy, rule.ruleIndex) : undefined;
        const selected = rule.kind === 'default' && local !== undefined ? policy.selected(local.info.key, direction) : true;
        decision = kernelDecision({ rule, direction, who, verdict: event.verdict, selected, origin, policies: this.#policies });
        slots[slot] = decision;
      }
      return decision;
    }
    // nftables: the index decides the flow again, for the event's direction only (its
    // events are new connections and drops, never replies).
    let verdict: IndexDirectionVerdict | undefined;
    let why: string | undefined;
    let unplaced = false;
    try {
      verdict = this.#evaluate(policy, event, local === undefined ? { ip: localIp } : { endpoint: local.info.ref, ip: localIp }, remoteIp);
    } catch (error) {
      if (error instanceof FlowError && local !== undefined && error.path.endsWith('.ip')) {
        // The packet's local address is none of the endpoint's, yet its chain decided it:
        // an IPv6 link-local or multicast address (the node's neighbour discovery into
        // the pod, the pod's own solicitations), or an address it no longer has. The
        // endpoint's rules decided, so they are evaluated with its own address.
        unplaced = true;
        try {
          verdict = this.#evaluate(policy, event, { endpoint: local.info.ref }, remoteIp);
        } catch (again) {
          why = this.#failure(again);
        }
      } else {
        why = this.#failure(error);
      }
    }
    if (verdict === undefined) {
      why ??= local === undefined
        ? `${who} is no endpoint of the agent's policy index (gone, not indexed yet, or the dataplane did not name it)`
        : `the agent's policy index holds no ${event.direction} rules for ${who}`;
      return this.#unknownDrop(event, who, why);
    }
    // 0: the kernel allowed, 1: it dropped (a deny's drop kind is part of the reason) ...
    const slot = event.verdict === 'allow' ? 0 : event.dropKind === 'deny' ? 1 : 2;
    if (unplaced) {
      let byAddress = this.#unplaced.get(verdict);
      if (byAddress === undefined) {
        byAddress = new Map();
        this.#unplaced.set(verdict, byAddress);
      }
      const key = `${slot}\u0000${localIp}`;
      let decision = byAddress.get(key);
      if (decision === undefined) {
        const side = event.direction === 'egress' ? 'source' : 'destination';
        const note = `the packet's ${side} ${localIp} is not an address of ${who} (IPv6 link-local or multicast, as in neighbour discovery, or an address it no longer has): evaluated with ${who}'s own address`;
        decision = evaluatedDecision({ verdict, who, kernelVerdict: event.verdict, dropKind: event.dropKind, policies: this.#policies, note });
        // Bounded: a flood of addresses starts the map again.
        if (byAddress.size >= 256) byAddress.clear();
        byAddress.set(key, decision);
      }
      return decision;
    }
    let decisions = this.#evaluated.get(verdict);
    if (decisions === undefined) {
      decisions = [];
      this.#evaluated.set(verdict, decisions);
    }
    let decision = decisions[slot];
    if (decision === undefined) {
      decision = evaluatedDecision({ verdict, who, kernelVerdict: event.verdict, dropKind: event.dropKind, policies: this.#policies });
      decisions[slot] = decision;
    }
    return decision;
  }

  // The index's verdict of the event's flow for its direction, the local side as given.
  #evaluate(policy: FlowPolicyView, event: DataplaneFlowEvent, localPeer: PolicyFlow['source'], remoteIp: string): IndexDirectionVerdict | undefined {
    const flow: PolicyFlow = {
      source: event.direction === 'egress' ? localPeer : { ip: remoteIp },
      destination: event.direction === 'egress' ? { ip: remoteIp } : localPeer,
      protocol: event.protocol,
      ...(event.protocol === ICMP || event.protocol === ICMPV6 ? (event.icmp === undefined ? {} : { icmp: event.icmp }) : { sourcePort: event.sourcePort, destinationPort: event.destinationPort }),
      direction: event.direction,
    };
    const result = policy.evaluate(flow);
    return event.direction === 'egress' ? result.egress : result.ingress;
  }

  // Why an evaluation failed, for the message; only an unexpected failure is reported (not once per event of a flood).
  #failure(error: unknown): string {
    if (!(error instanceof FlowError)) this.#onError(error);
    return `the agent could not evaluate it (${error instanceof Error ? error.message : String(error)})`;
  }

  // A flow no policy can be named for: a drop says what its drop rule says and why no
  // more is known; an allow is shown without a deciding rule.
  #unknownDrop(event: DataplaneFlowEvent, who: string, why: string): Decision {
    if (event.verdict === 'allow') return unattributed(event.verdict, event.dropKind);
    const key = `${event.direction}\u0000${event.dropKind ?? ''}\u0000${who}\u0000${why}`;
    let decision = this.#unknown.get(key);
    if (decision === undefined) {
      decision = unknownDropDecision({ direction: event.direction, who, dropKind: event.dropKind, why, attribution: event.rule === undefined ? 'evaluated' : 'kernel', policies: this.#policies });
      // Bounded: a flood of unknown addresses starts the map again.
      if (this.#unknown.size >= 1024) this.#unknown.clear();
      this.#unknown.set(key, decision);
    }
    return decision;
  }
}
