// The agent's Prometheus metrics (ports.ts AgentMetrics) with prom-client, on a registry
// of the agent's own (never prom-client's global one, so two agents in one process, as in
// tests, do not share series), plus prom-client's default process metrics.
import { type PluginHandlers } from '@twill/cni-core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import { type FlowMetrics } from './flows/observer.js';
import { type AgentMetrics } from './ports.js';

/** The metric names, as Prometheus shows them. */
export const AGENT_METRIC_NAMES = {
  endpoints: 'twill_endpoints',
  cniRequestDuration: 'twill_cni_request_duration_seconds',
  policyProgrammingDuration: 'twill_policy_programming_duration_seconds',
  bgpPeerState: 'twill_bgp_peer_state',
  flows: 'twill_flows_total',
  policyDrops: 'twill_policy_drops_total',
  flowEventsLost: 'twill_flow_events_lost_total',
  l7Requests: 'twill_l7_requests_total',
} as const;

/**
 * The BGP FSM states (RFC 4271 §8.2.2) every peer's series is kept for, 1 for the current
 * one and 0 for the others, so `twill_bgp_peer_state{state="Established"} == 0` finds the
 * peers that are down.
 */
export const BGP_PEER_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;

// A CNI call takes milliseconds warm and up to the runtime's timeout when something hangs.
const CNI_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// One dataplane apply: sub-millisecond for a pod, seconds for a cluster-wide policy.
const POLICY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Options of {@link PrometheusAgentMetrics}. */
export interface PrometheusAgentMetricsOptions {
  /** Also collect prom-client's default process metrics (CPU, memory, event loop lag, ...); default true. */
  readonly processMetrics?: boolean;
}

/**
 * Increments of a counter with one label, added up in a plain map and given to the
 * counter when it is read (a scrape, `collect`): prom-client's `inc` with labels hashes
 * them at every call, and these come once per flow and per request through the L7 proxy
 * (~0.5 µs each, a few percent of the proxy's time).
 */
class PendingIncrements {
  readonly #counts = new Map<string, number>();

  constructor(
    private readonly counter: Counter<string>,
    private readonly label: string,
  ) {}

  /** @throws {TypeError} for a count a counter cannot take (negative, not a number), as `inc` would, at the call and not at a later scrape. */
  add(value: string, count: number): void {
    if (!(count >= 0) || !Number.isFinite(count)) throw new TypeError(`a counter cannot be increased by ${count}`);
    this.#counts.set(value, (this.#counts.get(value) ?? 0) + count);
  }

  /** Gives the counter what was added since the last call. */
  drain(): void {
    const counts = [...this.#counts];
    this.#counts.clear();
    for (const [value, count] of counts) this.counter.inc({ [this.label]: value }, count);
  }
}

/** {@link AgentMetrics} and the flow observer's {@link FlowMetrics} as Prometheus series, exposed by `/metrics`. */
export class PrometheusAgentMetrics implements AgentMetrics, FlowMetrics {
  /** The registry every series of this agent lives in. */
  readonly registry = new Registry();
  readonly #endpoints: Gauge;
  readonly #cni: Histogram<'command' | 'outcome'>;
  readonly #policy: Histogram;
  readonly #bgp: Gauge<'peer' | 'state'>;
  readonly #peerStates = new Map<string, string>();
  readonly #drops: Counter<'reason' | 'policy'>;
  readonly #lost: Counter<'source'>;
  // Counted once per flow and per proxied request: added up here, handed to their counters when those are read.
  readonly #pendingFlows: PendingIncrements;
  readonly #pendingL7: PendingIncrements;

  constructor(options: PrometheusAgentMetricsOptions = {}) {
    const registers = [this.registry];
    this.#endpoints = new Gauge({ name: AGENT_METRIC_NAMES.endpoints, help: 'Pod endpoints on this node.', registers });
    this.#cni = new Histogram({
      name: AGENT_METRIC_NAMES.cniRequestDuration,
      help: 'CNI requests the agent served, by command (ADD, DEL, CHECK, GC, STATUS) and outcome (success, error), in seconds.',
      labelNames: ['command', 'outcome'],
      buckets: CNI_BUCKETS,
      registers,
    });
    this.#policy = new Histogram({
      name: AGENT_METRIC_NAMES.policyProgrammingDuration,
      help: 'Dataplane applies, from the change seen to the kernel programmed, in seconds.',
      buckets: POLICY_BUCKETS,
      registers,
    });
    this.#bgp = new Gauge({
      name: AGENT_METRIC_NAMES.bgpPeerState,
      help: "BGP peers' session states: 1 for the current state, 0 for the others.",
      labelNames: ['peer', 'state'],
      registers,
    });
    this.#pendingFlows = new PendingIncrements(
      new Counter({
        name: AGENT_METRIC_NAMES.flows,
        help: 'Flows the observer recorded from the dataplane\'s verdicts, by verdict (FORWARDED, DROPPED).',
        labelNames: ['verdict'],
        registers,
        collect: () => this.#pendingFlows.drain(),
      }),
      'verdict',
    );
    this.#drops = new Counter({
      name: AGENT_METRIC_NAMES.policyDrops,
      help: 'Packets dropped by policy, by reason (POLICY_DENY: a Deny rule; POLICY_DENIED: isolation or fail-closed) and deciding policy ("Kind namespace/name", "" when no rule decided).',
      labelNames: ['reason', 'policy'],
      registers,
    });
    this.#lost = new Counter({
      name: AGENT_METRIC_NAMES.flowEventsLost,
      help: 'Verdict events not turned into flows, by where they were lost (ebpf-ringbuf, nflog, conntrack: the kernel; observer: over the flow budget).',
      labelNames: ['source'],
      registers,
    });
    this.#pendingL7 = new PendingIncrements(
      new Counter({
        name: AGENT_METRIC_NAMES.l7Requests,
        help: 'Requests through the L7 proxy, by what it did (forwarded, denied: an L7 rule refused it, invalid: malformed or over a limit, upstream-error), sampled flows or not.',
        labelNames: ['verdict'],
        registers,
        collect: () => this.#pendingL7.drain(),
      }),
      'verdict',
    );
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  observeCniRequest(command: string, outcome: 'success' | 'error', seconds: number): void {
    this.#cni.observe({ command, outcome }, seconds);
  }

  observePolicyProgramming(seconds: number): void {
    this.#policy.observe(seconds);
  }

  setEndpoints(count: number): void {
    this.#endpoints.set(count);
  }

  setBgpPeerState(peer: string, state: string | undefined): void {
    const fsm = (name: string): boolean => (BGP_PEER_STATES as readonly string[]).includes(name);
    const previous = this.#peerStates.get(peer);
    // A state outside the FSM's (a speaker's own word for it) has a series while current only.
    if (previous !== undefined && !fsm(previous) && previous !== state) this.#bgp.remove({ peer, state: previous });
    if (state === undefined) {
      for (const known of BGP_PEER_STATES) this.#bgp.remove({ peer, state: known });
      this.#peerStates.delete(peer);
      return;
    }
    for (const known of BGP_PEER_STATES) this.#bgp.set({ peer, state: known }, known === state ? 1 : 0);
    if (!fsm(state)) this.#bgp.set({ peer, state }, 1);
    this.#peerStates.set(peer, state);
  }

  addFlows(verdict: string, count: number): void {
    this.#pendingFlows.add(verdict, count);
  }

  addPolicyDrops(reason: string, policy: string, count: number): void {
    this.#drops.inc({ reason, policy }, count);
  }

  addLostEvents(source: string, count: number): void {
    this.#lost.inc({ source }, count);
  }

  addL7Requests(verdict: string, count: number): void {
    this.#pendingL7.add(verdict, count);
  }

  /** The text exposition format (Prometheus 0.0.4) of every series. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  /** The `Content-Type` of {@link exposition}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Wraps a plugin's handlers so each call is observed as a CNI request (`ADD`, `DEL`,
 * `CHECK`, `GC`, `STATUS`): `error` when the handler throws. Requests refused before a
 * handler runs (an unparsable configuration, VERSION) are not observed.
 * @param now - a clock in milliseconds (default `performance.now`).
 */
export function instrumentPluginHandlers(handlers: PluginHandlers, metrics: AgentMetrics, now: () => number = () => performance.now()): PluginHandlers {
  const timed =
    <A extends unknown[], R>(command: string, handler: (...args: A) => R | Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = now();
      try {
        const result = await handler(...args);
        metrics.observeCniRequest(command, 'success', (now() - started) / 1000);
        return result;
      } catch (error) {
        metrics.observeCniRequest(command, 'error', (now() - started) / 1000);
        throw error;
      }
    };
  const { gc, status } = handlers;
  return {
    ...handlers,
    add: timed('ADD', (request) => handlers.add(request)),
    del: timed('DEL', (request) => handlers.del(request)),
    check: timed('CHECK', (request) => handlers.check(request)),
    ...(gc === undefined ? {} : { gc: timed('GC', (request: Parameters<typeof gc>[0]) => gc.call(handlers, request)) }),
    ...(status === undefined ? {} : { status: timed('STATUS', (request: Parameters<typeof status>[0]) => status.call(handlers, request)) }),
  };
}
