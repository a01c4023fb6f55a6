// Which TCP traffic goes to the L7 proxy: the contract between the policy side (what the
// endpoints' effective rules ask for) and the redirect (the nftables tproxy rules that
// carry it out). Pure data, and the pure functions that derive it from effective rules.

import { type EffectiveRule, type EndpointPolicy, PROTOCOL, type ResolvedPort } from '@twill/policy-engine';

/** A TCP port range, both ends included (`first === last` for one port). */
export interface L7PortRange {
  /** The first port, 1-65535. */
  readonly first: number;
  /** The last port, `first`-65535. */
  readonly last: number;
}

/** Traffic to an endpoint that its ingress L7 rules decide: to `address` on `ports`. */
export interface L7IngressTarget {
  /** The endpoint's address (IPv4 or IPv6, canonical text, no prefix length). */
  readonly address: string;
  /** The endpoint ports some ingress L7 rule covers. */
  readonly ports: readonly L7PortRange[];
}

/** Traffic from an endpoint that its egress L7 rules decide: from its host-side interface to `ports`. */
export interface L7EgressTarget {
  /** The endpoint's host-side interface on this node (its traffic enters the node there). */
  readonly hostInterface: string;
  /** The destination ports some egress L7 rule covers. */
  readonly ports: readonly L7PortRange[];
}

/** Everything the proxy must see on this node; all other traffic is left alone. */
export interface L7RedirectTargets {
  /** Connections to these endpoints' addresses and ports. */
  readonly ingress: readonly L7IngressTarget[];
  /** Connections from these endpoints to these ports. */
  readonly egress: readonly L7EgressTarget[];
}

/** No traffic redirected. */
export const NO_L7_TARGETS: L7RedirectTargets = Object.freeze({ ingress: [], egress: [] });

/** An endpoint attached to this node, with its effective rules: what the targets are derived from. */
export interface L7AttachedEndpoint {
  /** Its host-side interface on this node. */
  readonly hostInterface: string;
  /** Its effective rules in the policy index (`PolicyIndex.effectiveRules`). */
  readonly rules: EndpointPolicy;
}

const ALL_PORTS: L7PortRange = Object.freeze({ first: 1, last: 65535 });

/**
 * Whether traffic a rule allows must go through the proxy: an Allow carrying HTTP rules,
 * or the rules of a parser the proxy cannot run (Kafka, `l7proto`), which it refuses
 * (fail closed: left to the kernel they would be a plain L4 allow). DNS rules are not
 * redirected: their traffic is mostly UDP, which the proxy cannot take, so refusing
 * only DNS over TCP would break resolution without enforcing anything.
 */
function needsProxy(rule: EffectiveRule): boolean {
  if (rule.action !== 'allow' || rule.l7 === undefined) return false;
  if (rule.l7.kind === 'opaque' && rule.l7.parser === 'dns') return false;
  // The proxy takes TCP only; a rule for any protocol covers TCP too.
  return (rule.protocol === undefined || rule.protocol === PROTOCOL.TCP) && rule.notProtocol !== PROTOCOL.TCP;
}

// The TCP ranges of a rule's port list (absent: every port). A named port's range holds
// only for its own protocol.
function tcpRanges(ports: readonly ResolvedPort[] | undefined): L7PortRange[] {
  if (ports === undefined) return [ALL_PORTS];
  return ports
    .filter((p) => p.protocol === undefined || p.protocol === PROTOCOL.TCP)
    .map((p) => ({ first: Math.max(1, p.first), last: Math.min(65535, p.last) }))
    .filter((p) => p.first <= p.last);
}

/**
 * Port ranges sorted and merged: overlapping and adjacent ranges become one
 * (`80-81` and `82` give `80-82`).
 */
export function mergePortRanges(ranges: Iterable<L7PortRange>): L7PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first || a.last - b.last);
  const merged: L7PortRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range.first <= last.last + 1) {
      if (range.last > last.last) merged[merged.length - 1] = { first: last.first, last: range.last };
    } else {
      merged.push({ first: range.first, last: range.last });
    }
  }
  return merged;
}

/**
 * The traffic this node's L7 proxy must see, from the effective rules of the endpoints
 * attached to this node:
 * - ingress: each endpoint address × the endpoint ports of its ingress Allow rules that
 *   carry L7 rules (an Allow with no port list covers every port);
 * - egress: the endpoint's host-side interface × the destination ports of its egress
 *   Allow rules that carry L7 rules.
 *
 * Only TCP counts; ranges are merged; targets are sorted (addresses, interfaces) so that
 * equal rules give equal targets (see {@link sameL7Targets}). The ranges are a superset
 * of what needs the proxy (a rule's `notPorts`, peers and tier order are not looked at):
 * the proxy asks the policy about every connection and passes the ones no L7 rule
 * restricts. See `needsProxy` above for which L7 rules count (HTTP, and Kafka-like rules
 * the proxy refuses; not DNS).
 */
export function l7RedirectTargets(endpoints: Iterable<L7AttachedEndpoint>): L7RedirectTargets {
  const ingress = new Map<string, L7PortRange[]>();
  const egress = new Map<string, L7PortRange[]>();
  const add = (into: Map<string, L7PortRange[]>, key: string, ranges: readonly L7PortRange[]): void => {
    const known = into.get(key);
    if (known === undefined) into.set(key, [...ranges]);
    else known.push(...ranges);
  };
  for (const { hostInterface, rules } of endpoints) {
    const ingressRanges: L7PortRange[] = [];
    for (const tier of rules.ingress.tiers) for (const rule of tier.rules) if (needsProxy(rule)) ingressRanges.push(...tcpRanges(rule.local.ports));
    if (ingressRanges.length > 0) {
      for (const address of rules.addresses) add(ingress, address, ingressRanges);
    }
    const egressRanges: L7PortRange[] = [];
    for (const tier of rules.egress.tiers) for (const rule of tier.rules) if (needsProxy(rule)) egressRanges.push(...tcpRanges(rule.remote.ports));
    if (egressRanges.length > 0) add(egress, hostInterface, egressRanges);
  }
  const byKey = <T>(map: Map<string, L7PortRange[]>, make: (key: string, ports: L7PortRange[]) => T): T[] =>
    [...map.keys()].sort().map((key) => make(key, mergePortRanges(map.get(key) ?? [])));
  return {
    ingress: byKey(ingress, (address, ports) => ({ address, ports })),
    egress: byKey(egress, (hostInterface, ports) => ({ hostInterface, ports })),
  };
}

/**
 * Everything `a` or `b` redirects, sorted and merged as {@link l7RedirectTargets} gives
 * targets: what the redirect holds while a policy change is programmed (new targets go in
 * before the dataplane needs them, old ones go after it stops needing them).
 */
export function unionL7Targets(a: L7RedirectTargets, b: L7RedirectTargets): L7RedirectTargets {
  const merge = <T>(items: readonly T[], keyOf: (item: T) => string, portsOf: (item: T) => readonly L7PortRange[], make: (key: string, ports: L7PortRange[]) => T): T[] => {
    const byKey = new Map<string, L7PortRange[]>();
    for (const item of items) {
      const key = keyOf(item);
      const known = byKey.get(key);
      if (known === undefined) byKey.set(key, [...portsOf(item)]);
      else known.push(...portsOf(item));
    }
    return [...byKey.keys()].sort().map((key) => make(key, mergePortRanges(byKey.get(key) ?? [])));
  };
  return {
    ingress: merge([...a.ingress, ...b.ingress], (t) => t.address, (t) => t.ports, (address, ports) => ({ address, ports })),
    egress: merge([...a.egress, ...b.egress], (t) => t.hostInterface, (t) => t.ports, (hostInterface, ports) => ({ hostInterface, ports })),
  };
}

const sameRanges = (a: readonly L7PortRange[], b: readonly L7PortRange[]): boolean =>
  a.length === b.length && a.every((r, i) => r.first === b[i]?.first && r.last === b[i]?.last);

/** Whether two sets of targets (as {@link l7RedirectTargets} gives them: sorted, merged) are the same. */
export function sameL7Targets(a: L7RedirectTargets, b: L7RedirectTargets): boolean {
  return a.ingress.length === b.ingress.length
    && a.egress.length === b.egress.length
    && a.ingress.every((t, i) => t.address === b.ingress[i]?.address && sameRanges(t.ports, b.ingress[i]?.ports ?? []))
    && a.egress.every((t, i) => t.hostInterface === b.egress[i]?.hostInterface && sameRanges(t.ports, b.egress[i]?.ports ?? []));
}
