// The L7 proxy's policy source in the agent: each connection's flow evaluated by the
// policy controller's index (the same verdicts the kernel's rules give), and the HTTP
// rules of an allowed flow compiled into a matcher once per index generation and set of
// rules, so a flood of connections costs one evaluation each and no compilation.
import {
  compileHttpMatcher,
  type EffectiveRule,
  type EndpointPolicy,
  type EndpointRef,
  type Flow,
  FlowError,
  formatEndpointRef,
  type IndexDirectionVerdict,
  type IndexVerdict,
  type L7Rules,
  type L7RuleSet,
  type NumericIdentity,
  parseIpAddress,
  reservedIdentityName,
} from '@twill/policy-engine';

import { evaluatedDecision, FlowPolicies, policyLabel } from '../flows/attribution.js';
import { type L7ConnectionDecision, type L7Endpoint, type L7Logger, type L7PolicySource } from './ports.js';

/**
 * What the L7 policy source reads of the policy controller (`PolicyController.l7View()`);
 * tests build one over a real PolicyIndex. `generation` changes whenever any answer may.
 */
export interface L7PolicyView {
  /** Changes whenever anything below may answer differently (a flush of the index). */
  readonly generation: number;
  /**
   * The index's verdict of a flow (`PolicyIndex.evaluate`).
   * @throws FlowError when the flow names an endpoint the index lacks or an invalid address.
   */
  evaluate(flow: Flow): IndexVerdict;
  /** An endpoint's effective rules (`PolicyIndex.effectiveRules`); absent when the index lacks it. */
  effectiveRules(endpoint: EndpointRef): EndpointPolicy | undefined;
  /** The index key (`namespace/pod`) of the endpoint holding an address (canonical text), if any. */
  endpointKeyByAddress(address: string): string | undefined;
}

/** Options of {@link IndexL7PolicySource}. */
export interface IndexL7PolicySourceOptions {
  /** The policy state to decide from. */
  readonly view: L7PolicyView;
  /** This node's own addresses: named `reserved:host` in reasons, as flows show them. */
  readonly hostAddresses?: readonly string[];
  /** Where unexpected failures are reported (an evaluation that throws, a rule that does not compile). */
  readonly logger?: L7Logger;
  /** The most compiled decisions kept per generation (default 1024); beyond it the oldest is dropped. */
  readonly maxCachedDecisions?: number;
}

const ANY: L7ConnectionDecision = Object.freeze({ allowed: true, http: 'any' });

/**
 * An {@link L7PolicySource} over the policy controller's index. For a connection from
 * `client` to `destination` it evaluates a TCP flow to `destination.port`, both
 * addresses resolved by the index as the kernel's rules resolve them (an endpoint's
 * address is that endpoint; any other address is `world`, or `kube-apiserver` when the
 * index knows it so), and answers:
 * - denied (L3/L4): `{ allowed: false, why }` naming both sides and the deciding rule or
 *   isolation in words (the flows' own attribution message);
 * - allowed with HTTP rules: a matcher of those rules, each set named after its policy
 *   and rule (`CiliumNetworkPolicy default/l7-api-policy spec.ingress[0].toPorts[0]
 *   http[0]` in the matcher's hits, which the proxy records as the flow's rules);
 * - allowed with the rules of another parser (Kafka, DNS, `l7proto`): refused with why,
 *   since the proxy enforces HTTP only (fail closed);
 * - allowed without L7 rules: `'any'`.
 *
 * Fails closed: an address that is not one, a flow neither of whose sides is an
 * endpoint of the index (stale redirect), an evaluation that throws or rules that do not
 * compile give `allowed: false` with why, never an allow. Never throws.
 */
export class IndexL7PolicySource implements L7PolicySource {
  readonly #view: L7PolicyView;
  readonly #hosts: ReadonlySet<string>;
  readonly #logger: L7Logger | undefined;
  readonly #max: number;
  /** Decisions of allowed flows by the identity of their L7 rule sets, for `#generation`. */
  readonly #decisions = new Map<string, L7ConnectionDecision>();
  /** The reason of a denying direction verdict (verdicts without L7 are shared by the index). */
  #denials = new WeakMap<IndexDirectionVerdict, string>();
  /** A number per L7 rules object of the index, for cache keys (kept across generations: the objects do not change). */
  readonly #ids = new WeakMap<L7Rules, number>();
  #nextId = 0;
  #generation = Number.NaN;
  #policies = new FlowPolicies();
  #compilations = 0;

  constructor(options: IndexL7PolicySourceOptions) {
    this.#view = options.view;
    this.#hosts = new Set((options.hostAddresses ?? []).map((a) => parseIpAddress(a)?.text ?? a));
    this.#logger = options.logger;
    this.#max = options.maxCachedDecisions ?? 1024;
    if (!Number.isInteger(this.#max) || this.#max < 1) throw new RangeError(`IndexL7PolicySource: maxCachedDecisions must be a positive integer, not ${String(options.maxCachedDecisions)}`);
  }

  /** How many times rule sets were compiled (a cache miss): for tests and metrics. */
  get compilations(): number {
    return this.#compilations;
  }

  /**
   * Whether the connection from `client` to `destination` (its original destination, as
   * the redirect kept it) is allowed by the index's current policy, and with which HTTP
   * rules: decisions are cached per rule set until the index's generation changes. Never
   * throws: an address that is not an IP, a bad port, or any failure gives a refusal with
   * its reason (fail closed).
   */
  decide(client: L7Endpoint, destination: L7Endpoint): L7ConnectionDecision {
    try {
      return this.#decide(client, destination);
    } catch (error) {
      // Fail closed: nothing unexpected ever allows a connection.
      this.#logger?.warn({ client, destination, err: error }, 'l7 policy: deciding a connection failed; refused');
      return { allowed: false, why: `the agent could not decide the connection from ${client.address} to ${destination.address} port ${destination.port}: ${errorText(error)}` };
    }
  }

  #decide(client: L7Endpoint, destination: L7Endpoint): L7ConnectionDecision {
    const generation = this.#view.generation;
    if (generation !== this.#generation) {
      this.#generation = generation;
      this.#decisions.clear();
      this.#denials = new WeakMap();
      this.#policies = new FlowPolicies();
    }
    const source = parseIpAddress(client.address);
    const target = parseIpAddress(destination.address);
    if (source === undefined || target === undefined) {
      const bad = source === undefined ? `client address ${JSON.stringify(client.address)}` : `destination address ${JSON.stringify(destination.address)}`;
      return { allowed: false, why: `the connection's ${bad} is not an IP address` };
    }
    if (!Number.isInteger(destination.port) || destination.port < 1 || destination.port > 65535) {
      return { allowed: false, why: `the connection's destination port ${String(destination.port)} is not a TCP port` };
    }
    let verdict: IndexVerdict;
    try {
      verdict = this.#view.evaluate({ source: { ip: source.text }, destination: { ip: target.text }, protocol: 'TCP', destinationPort: destination.port, ...(Number.isInteger(client.port) ? { sourcePort: client.port } : {}) });
    } catch (error) {
      if (!(error instanceof FlowError)) throw error;
      return { allowed: false, why: `${this.#describe(source.text, target.text, destination.port, verdictIdentities(undefined))}: the agent could not evaluate it (${error.message})` };
    }
    if (verdict.egress === undefined && verdict.ingress === undefined) {
      // The redirect only sends traffic of this node's endpoints: neither side being one
      // means the redirect is ahead of (or behind) the index. Refused until they agree.
      return { allowed: false, why: `${this.#describe(source.text, target.text, destination.port, verdictIdentities(verdict))}: neither side is an endpoint of the agent's policy index (a redirect not in step with the policy)` };
    }
    if (!verdict.allowed) {
      // Egress first, as the packet meets it.
      const denying = [verdict.egress, verdict.ingress].find((v): v is IndexDirectionVerdict => v !== undefined && !v.allowed) as IndexDirectionVerdict;
      return { allowed: false, why: `${this.#describe(source.text, target.text, destination.port, verdictIdentities(verdict))}: ${this.#denial(denying)}` };
    }
    const sides = [verdict.egress, verdict.ingress].filter((v): v is IndexDirectionVerdict => v !== undefined && v.l7.length > 0);
    if (sides.length === 0) return ANY;
    const key = sides.map((side) => `${side.direction}:${side.l7.map((rules) => this.#idOf(rules)).join(',')}`).join('/');
    let decision = this.#decisions.get(key);
    if (decision === undefined) {
      decision = this.#compile(sides);
      // Bounded: the oldest entry goes first.
      if (this.#decisions.size >= this.#max) this.#decisions.delete(this.#decisions.keys().next().value as string);
      this.#decisions.set(key, decision);
    }
    return decision;
  }

  #idOf(rules: L7Rules): number {
    let id = this.#ids.get(rules);
    if (id === undefined) {
      id = this.#nextId;
      this.#nextId += 1;
      this.#ids.set(rules, id);
    }
    return id;
  }

  // The decision of an allowed flow's L7 rules: a matcher, or a refusal of rules the
  // proxy cannot enforce or compile.
  #compile(sides: readonly IndexDirectionVerdict[]): L7ConnectionDecision {
    this.#compilations += 1;
    const sets: L7RuleSet[] = [];
    for (const side of sides) {
      const carriers = this.#carriers(side);
      for (const rules of side.l7) {
        const carrier = carriers.get(rules);
        sets.push({ rules, direction: side.direction, ...(carrier === undefined ? {} : { policy: carrier.policy, origin: carrier.origin }) });
      }
    }
    const opaque = sets.filter((set) => set.rules.kind === 'opaque');
    if (opaque.length > 0) {
      const named = opaque.map((set) => `${set.rules.kind === 'opaque' ? set.rules.parser : 'other'} rules of ${ruleName(set)}`);
      return Object.freeze({ allowed: false, why: `the flow is allowed only under ${named.join(', ')}, which the L7 proxy cannot enforce (it enforces HTTP rules only): refused (fail closed)` });
    }
    try {
      return Object.freeze({ allowed: true, http: compileHttpMatcher(sets) });
    } catch (error) {
      this.#logger?.warn({ err: error, rules: sets.map(ruleName) }, 'l7 policy: HTTP rules do not compile; their flows are refused');
      return Object.freeze({ allowed: false, why: `the HTTP rules of ${sets.map(ruleName).join(', ')} do not compile: ${errorText(error)}; refused (fail closed)` });
    }
  }

  // Which effective rule of the deciding endpoint carried each L7 rules object (the index
  // hands out the rule's own object), for the policy and rule that name it in flow records.
  #carriers(side: IndexDirectionVerdict): Map<L7Rules, EffectiveRule> {
    const carriers = new Map<L7Rules, EffectiveRule>();
    for (const tier of this.#view.effectiveRules(side.endpoint)?.[side.direction].tiers ?? []) {
      for (const rule of tier.rules) if (rule.l7 !== undefined && !carriers.has(rule.l7)) carriers.set(rule.l7, rule);
    }
    return carriers;
  }

  #denial(verdict: IndexDirectionVerdict): string {
    let why = this.#denials.get(verdict);
    if (why === undefined) {
      const who = formatEndpointRef(verdict.endpoint);
      why = evaluatedDecision({ verdict, who, kernelVerdict: 'deny', dropKind: undefined, policies: this.#policies }).decidedBy?.message ?? `${who}'s ${verdict.direction} policy denies it`;
      this.#denials.set(verdict, why);
    }
    return why;
  }

  // `default/frontend (10.0.1.1) to default/api (10.0.1.2) port 8080`
  #describe(client: string, destination: string, port: number, identities: { source?: NumericIdentity; destination?: NumericIdentity }): string {
    return `${this.#peer(client, identities.source)} to ${this.#peer(destination, identities.destination)} port ${port}`;
  }

  #peer(address: string, identity: NumericIdentity | undefined): string {
    const key = this.#view.endpointKeyByAddress(address);
    if (key !== undefined) return `${key} (${address})`;
    // As flows show them: this node's addresses are the host, others the index's reserved identity.
    const name = this.#hosts.has(address) ? 'host' : (identity === undefined ? undefined : reservedIdentityName(identity)) ?? 'world';
    return `${address} (reserved:${name})`;
  }
}

function verdictIdentities(verdict: IndexVerdict | undefined): { source?: NumericIdentity; destination?: NumericIdentity } {
  return verdict === undefined ? {} : { source: verdict.sourceIdentity, destination: verdict.destinationIdentity };
}

// `CiliumNetworkPolicy default/kafka spec.ingress[0].toPorts[0]`, or the direction alone.
function ruleName(set: L7RuleSet): string {
  if (set.policy === undefined) return `an unnamed ${set.direction ?? ''} rule`;
  const origin = set.origin === undefined ? '' : ` ${set.origin.detail === undefined ? set.origin.path : `${set.origin.path}.${set.origin.detail}`}`;
  return `${policyLabel(set.policy)}${origin}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
