// What lint can tell about one rule, or two: whether a rule can never match, whether
// an earlier rule matches every flow a later one matches, and whether two rules can
// match one flow. Conservative: a claim is made only when the rules' structure shows it.

import { cidrContainsCidr, parseCidr, type Cidr } from '../model/cidr.js';
import { PROTOCOL, protocolName } from '../model/endpoint.js';
import { formatSelector, allOf } from '../model/selector.js';
import { type IcmpMatch, type PeerMatch, type PortSpec, type Rule, type SideMatch } from '../model/policy.js';
import { deepEqual } from '../engine/equal.js';
import { contradiction, selectorCovers } from './selectors.js';

const PORTED: readonly number[] = [PROTOCOL.TCP, PROTOCOL.UDP, PROTOCOL.SCTP, PROTOCOL.UDPLITE];

const cidrs = (texts: readonly string[]): Cidr[] => texts.map((t) => parseCidr(t)).filter((c): c is Cidr => c !== undefined);
const overlap = (a: Cidr, b: Cidr): boolean => cidrContainsCidr(a, b) || cidrContainsCidr(b, a);

function rangesCover(outer: readonly PortSpec[], inner: readonly PortSpec[]): boolean {
  return inner.every((i) => i.kind === 'named'
    ? outer.some((o) => o.kind === 'named' && o.name === i.name)
    : outer.some((o) => o.kind === 'range' && o.first <= i.first && o.last >= i.last));
}

function peerProblem(peer: PeerMatch): string | undefined {
  switch (peer.kind) {
    case 'selector': {
      const why = contradiction(peer.selector);
      return why === undefined ? undefined : `selector ${formatSelector(peer.selector)} can match nothing: ${why}`;
    }
    case 'cidr': {
      const except = cidrs(peer.except ?? []);
      const covered = cidrs(peer.cidrs).every((net) => except.some((e) => cidrContainsCidr(e, net)));
      return covered && except.length > 0 ? `except ${peer.except?.join(', ')} covers every CIDR of ${peer.cidrs.join(', ')}` : undefined;
    }
    case 'and': {
      for (const part of peer.of) {
        const why = peerProblem(part);
        if (why !== undefined) return why;
      }
      const selectors = peer.of.flatMap((p) => (p.kind === 'selector' ? [p.selector] : []));
      const why = selectors.length > 1 ? contradiction(allOf(...selectors)) : undefined;
      return why === undefined ? undefined : `its selectors together can match nothing: ${why}`;
    }
    case 'or':
      return peer.of.length > 0 && peer.of.every((p) => peerProblem(p) !== undefined) ? peer.of.map(peerProblem).join('; ') : undefined;
    case 'not':
      return peer.of.kind === 'any' || (peer.of.kind === 'entity' && peer.of.entities.includes('all')) ? 'it is not(any)' : undefined;
    default:
      return undefined;
  }
}

function sideProblem(side: SideMatch | undefined, name: string, rule: Rule): string | undefined {
  if (side === undefined) return undefined;
  if (side.ports !== undefined && rule.protocol !== undefined && !PORTED.includes(rule.protocol)) {
    return `${name}.ports need TCP, UDP, SCTP or UDPLite, but the protocol is ${protocolName(rule.protocol)}`;
  }
  if (side.ports !== undefined && side.notPorts !== undefined && rangesCover(side.notPorts, side.ports)) {
    return `${name}.notPorts exclude every port of ${name}.ports`;
  }
  const why = side.peer === undefined ? undefined : peerProblem(side.peer);
  return why === undefined ? undefined : `${name}: ${why}`;
}

const icmpCovers = (outer: IcmpMatch, inner: IcmpMatch): boolean =>
  outer.type === undefined || (outer.type === inner.type && (outer.code === undefined || outer.code === inner.code));

/** Why `rule` can never match a flow, or `undefined` when lint cannot tell. */
export function neverMatches(rule: Rule): string | undefined {
  if (rule.protocol !== undefined && rule.protocol === rule.notProtocol) return `protocol ${protocolName(rule.protocol)} is also its notProtocol`;
  if (rule.icmp !== undefined && rule.protocol !== undefined && rule.protocol !== PROTOCOL.ICMP && rule.protocol !== PROTOCOL.ICMPV6) {
    return `icmp needs protocol ICMP or ICMPv6, but the protocol is ${protocolName(rule.protocol)}`;
  }
  if (rule.notIcmp !== undefined && rule.icmp !== undefined && icmpCovers(rule.notIcmp, rule.icmp)) return 'notIcmp excludes every ICMP message icmp matches';
  return sideProblem(rule.source, 'source', rule) ?? sideProblem(rule.destination, 'destination', rule);
}

function peerCovers(outer: PeerMatch | undefined, inner: PeerMatch | undefined): boolean {
  if (outer === undefined || outer.kind === 'any') return true;
  if (inner === undefined) return false;
  if (deepEqual(outer, inner)) return true;
  if (outer.kind === 'selector' && inner.kind === 'selector') return selectorCovers(outer.selector, inner.selector);
  if (outer.kind === 'cidr' && inner.kind === 'cidr') {
    const outerExcept = cidrs(outer.except ?? []);
    const innerExcept = cidrs(inner.except ?? []);
    return cidrs(inner.cidrs).every((net) => cidrs(outer.cidrs).some((o) => cidrContainsCidr(o, net))
      && outerExcept.every((e) => !overlap(e, net) || innerExcept.some((i) => cidrContainsCidr(i, e))));
  }
  if (outer.kind === 'entity' && inner.kind === 'entity') return outer.entities.includes('all') || inner.entities.every((e) => outer.entities.includes(e));
  return false;
}

function sideCovers(outer: SideMatch | undefined, inner: SideMatch | undefined): boolean {
  if (outer === undefined) return true;
  if (!peerCovers(outer.peer, inner?.peer)) return false;
  if (outer.ports !== undefined && (inner?.ports === undefined || !rangesCover(outer.ports, inner.ports))) return false;
  return outer.notPorts === undefined || (inner?.notPorts !== undefined && rangesCover(inner.notPorts, outer.notPorts));
}

/** Whether `outer` matches every flow `inner` matches (as far as structure shows). */
export function ruleCovers(outer: Rule, inner: Rule): boolean {
  if (outer.protocol !== undefined && outer.protocol !== inner.protocol) return false;
  if (outer.notProtocol !== undefined && !(inner.notProtocol === outer.notProtocol || (inner.protocol !== undefined && inner.protocol !== outer.notProtocol))) return false;
  if (outer.icmp !== undefined && (inner.icmp === undefined || !icmpCovers(outer.icmp, inner.icmp))) return false;
  if (outer.notIcmp !== undefined && !deepEqual(outer.notIcmp, inner.notIcmp)) return false;
  return sideCovers(outer.source, inner.source) && sideCovers(outer.destination, inner.destination);
}

function portsMayOverlap(a: readonly PortSpec[] | undefined, b: readonly PortSpec[] | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  return a.some((x) => b.some((y) => x.kind === 'named' || y.kind === 'named' || (x.first <= y.last && y.first <= x.last)));
}

function peersMayOverlap(a: PeerMatch | undefined, b: PeerMatch | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  if (a.kind === 'cidr' && b.kind === 'cidr') return cidrs(a.cidrs).some((x) => cidrs(b.cidrs).some((y) => overlap(x, y)));
  if (a.kind === 'selector' && b.kind === 'selector') return contradiction(allOf(a.selector, b.selector)) === undefined;
  return true;
}

/** Whether some flow may match both rules (false only when structure shows they are disjoint). */
export function rulesMayOverlap(a: Rule, b: Rule): boolean {
  if (a.protocol !== undefined && b.protocol !== undefined && a.protocol !== b.protocol) return false;
  if ((a.protocol !== undefined && a.protocol === b.notProtocol) || (b.protocol !== undefined && b.protocol === a.notProtocol)) return false;
  return peersMayOverlap(a.source?.peer, b.source?.peer) && peersMayOverlap(a.destination?.peer, b.destination?.peer)
    && portsMayOverlap(a.source?.ports, b.source?.ports) && portsMayOverlap(a.destination?.ports, b.destination?.ports);
}
