// Whether one IR rule matches one flow. Each side of the flow is resolved once (its
// endpoint, address and network sets); rules are then plain predicates over it.

import { cidrContainsAddress, parseCidr, type Cidr, type IpAddress } from '../model/cidr.js';
import { PROTOCOL, type ProtocolNumber } from '../model/endpoint.js';
import { type Entity, type IcmpMatch, type PeerMatch, type PortSpec, type Rule, type SideMatch } from '../model/policy.js';
import { matchSelector } from '../model/selector.js';
import { type IndexedEndpoint, type IndexedNetworkSet } from './snapshot.js';

/** One side of a flow, resolved against the snapshot. */
export interface ResolvedSide {
  /** The endpoint, when the side is one of the snapshot's. */
  readonly endpoint?: IndexedEndpoint;
  /** The address in use, when known. */
  readonly address?: IpAddress;
  /** The network sets holding the address. */
  readonly networkSets: readonly IndexedNetworkSet[];
  /** Whether the address is the API server's. */
  readonly kubeApiServer: boolean;
  /** The port on this side, for protocols with ports. */
  readonly port?: number;
}

/** A flow with both sides resolved, as rules see it. */
export interface MatchContext {
  readonly source: ResolvedSide;
  readonly destination: ResolvedSide;
  readonly protocol: ProtocolNumber;
  readonly icmp?: { readonly type: number; readonly code?: number };
}

const cidrCache = new Map<string, Cidr | undefined>();

// IR CIDRs were validated by their front end; an unparsable one matches nothing.
function cidr(text: string): Cidr | undefined {
  if (!cidrCache.has(text)) cidrCache.set(text, parseCidr(text));
  return cidrCache.get(text);
}

function inCidrs(address: IpAddress, cidrs: readonly string[]): boolean {
  return cidrs.some((text) => {
    const parsed = cidr(text);
    return parsed !== undefined && cidrContainsAddress(parsed, address);
  });
}

/** The Cilium entities `side` belongs to, as seen from `local` (host versus remote-node). */
export function sideEntities(side: ResolvedSide, local: IndexedEndpoint | undefined): Set<Entity> {
  const entities = new Set<Entity>(['all']);
  if (side.kubeApiServer) entities.add('kube-apiserver');
  const endpoint = side.endpoint?.endpoint;
  if (endpoint === undefined) {
    if (!side.kubeApiServer) entities.add('world');
    return entities;
  }
  entities.add('cluster');
  if (endpoint.kind === 'host') {
    entities.add(endpoint.node !== undefined && endpoint.node === local?.endpoint.node ? 'host' : 'remote-node');
  }
  for (const reserved of ['health', 'init', 'unmanaged'] as const) {
    if (Object.prototype.hasOwnProperty.call(endpoint.labels, `reserved:${reserved}`)) entities.add(reserved);
  }
  return entities;
}

/** Whether `peer` matches `side`; `local` is the endpoint whose policy is being evaluated. */
export function matchPeer(peer: PeerMatch, side: ResolvedSide, local: IndexedEndpoint | undefined): boolean {
  switch (peer.kind) {
    case 'any':
      return true;
    case 'selector':
      return (side.endpoint !== undefined && matchSelector(peer.selector, side.endpoint.subject))
        || side.networkSets.some((set) => matchSelector(peer.selector, set.subject));
    case 'cidr':
      return side.address !== undefined && inCidrs(side.address, peer.cidrs) && !inCidrs(side.address, peer.except ?? []);
    case 'entity': {
      const entities = sideEntities(side, local);
      return peer.entities.some((entity) => entities.has(entity));
    }
    case 'and':
      return peer.of.every((p) => matchPeer(p, side, local));
    case 'or':
      return peer.of.some((p) => matchPeer(p, side, local));
    case 'not':
      return !matchPeer(peer.of, side, local);
  }
}

function matchPort(spec: PortSpec, side: ResolvedSide, protocol: ProtocolNumber): boolean {
  const port = side.port;
  if (port === undefined) return false;
  if (spec.kind === 'range') return port >= spec.first && port <= spec.last;
  // A named port resolves on this side's endpoint, for the flow's protocol.
  return side.endpoint?.endpoint.namedPorts?.some((p) => p.name === spec.name && p.protocol === protocol && p.port === port) ?? false;
}

function matchSide(match: SideMatch | undefined, side: ResolvedSide, protocol: ProtocolNumber, local: IndexedEndpoint | undefined): boolean {
  if (match === undefined) return true;
  if (match.peer !== undefined && !matchPeer(match.peer, side, local)) return false;
  if (match.ports !== undefined && !match.ports.some((spec) => matchPort(spec, side, protocol))) return false;
  return match.notPorts === undefined || !match.notPorts.some((spec) => matchPort(spec, side, protocol));
}

function matchIcmp(match: IcmpMatch, context: MatchContext): boolean {
  if (context.protocol !== PROTOCOL.ICMP && context.protocol !== PROTOCOL.ICMPV6) return false;
  if (match.type === undefined) return true;
  if (context.icmp?.type !== match.type) return false;
  return match.code === undefined || context.icmp.code === match.code;
}

/** Whether `rule` matches the flow; `local` is the endpoint whose policy holds the rule. */
export function matchRule(rule: Rule, context: MatchContext, local: IndexedEndpoint | undefined): boolean {
  if (rule.protocol !== undefined && rule.protocol !== context.protocol) return false;
  if (rule.notProtocol !== undefined && rule.notProtocol === context.protocol) return false;
  if (rule.icmp !== undefined && !matchIcmp(rule.icmp, context)) return false;
  if (rule.notIcmp !== undefined && matchIcmp(rule.notIcmp, context)) return false;
  return matchSide(rule.source, context.source, context.protocol, local)
    && matchSide(rule.destination, context.destination, context.protocol, local);
}
