// An endpoint's effective rules for one direction, compiled to policy map entries.
//
// The map is keyed by (identity, protocol, destination port), so the generator decides,
// for every peer class that some rule names and for "any other peer", the verdict over
// the whole (protocol, port) space: a sweep over the rules in evaluation order keeps the
// ports still undecided in the current tier, gives a rule's share of them its verdict
// (Pass moves them on to the next tier; Log is only recorded), and ends a tier with its
// default. The result is a list of port ranges per protocol, which become longest-prefix
// entries. The key's port is the destination port: for ingress the local one, for
// egress the remote one. The source port is not in the key: rules that need it are
// decided as `evaluate` decides a flow that gives none (a port list never matches, an
// exclusion always does); rules on the local address are decided for the endpoint's
// first address, as `evaluate` does for a flow that names the endpoint.

import { PROTOCOL } from '../../model/endpoint.js';
import { type EffectiveDirection, type EffectiveRule, type PeerAtom, type ResolvedPort } from '../../engine/types.js';
import { type IcmpMatch } from '../../model/policy.js';
import {
  FULL_PORTS, intersectPorts, NO_PORTS, portRange, rangeToPrefixes, subtractPorts, takePorts, normalisePorts, unionPorts, type PortSet,
} from './port-set.js';
import { type PeerClass } from './peer-classes.js';
import { BPF_ANY_IDENTITY, BPF_DEFAULT_RULE, type BpfPolicyEntry } from './types.js';

/** What decides a point of the (protocol, port) space: a verdict and the rule id. */
interface Decision {
  readonly verdict: 'allow' | 'deny';
  readonly rule: number;
}

const DEFAULT_ALLOW: Decision = { verdict: 'allow', rule: BPF_DEFAULT_RULE };
/** Protocols whose packets carry ports in the key. */
const PORT_PROTOCOLS: readonly number[] = [PROTOCOL.TCP, PROTOCOL.UDP, PROTOCOL.SCTP];
const ICMP_PROTOCOLS: readonly number[] = [PROTOCOL.ICMP, PROTOCOL.ICMPV6];
/** Any protocol no rule names: none of them has ports or ICMP types in the key. */
const OTHER = -1;

/** Rule ids, given by the caller (stable across calls for the same rule). */
export interface RuleIds {
  rule(direction: 'ingress' | 'egress', tier: string, rule: EffectiveRule): number;
  isolated(direction: 'ingress' | 'egress', tier: string, isolatedBy: EffectiveDirection['tiers'][number]['isolatedBy']): number;
}

interface Prepared {
  readonly rule: EffectiveRule;
  readonly tier: number;
  readonly decision: Decision | undefined;
  readonly wildcard: boolean;
}

/**
 * One endpoint direction, prepared: rules flattened with their tier, which peers each
 * names (so the classes that need entries of their own are found without a walk), and
 * the protocols rules name.
 */
export class PreparedDirection {
  readonly rules: readonly Prepared[];
  readonly tierEnds: readonly (Decision | undefined)[];
  readonly identities: ReadonlySet<number>;
  readonly cidrs: ReadonlySet<string>;
  /** Rules with an atom naming the identity; rules with an identity-less atom naming the CIDR. */
  readonly byIdentity = new Map<number, number[]>();
  readonly byCidr = new Map<string, number[]>();
  readonly protocols: readonly number[];
  readonly #portCache = new Map<number, PortSet>();

  constructor(
    readonly direction: 'ingress' | 'egress',
    effective: EffectiveDirection,
    readonly localAddress: string | undefined,
    ids: RuleIds,
  ) {
    const rules: Prepared[] = [];
    const identities = new Set<number>();
    const cidrs = new Set<string>();
    const protocols = new Set<number>();
    const tierEnds: (Decision | undefined)[] = [];
    effective.tiers.forEach((tier, index) => {
      for (const rule of tier.rules) {
        const decision = rule.action === 'allow' || rule.action === 'deny' ? { verdict: rule.action, rule: ids.rule(direction, tier.tier, rule) } : undefined;
        rules.push({ rule, tier: index, decision, wildcard: rule.remote.peers.some((a) => a.identities === undefined && a.cidrs === undefined) });
        for (const atom of rule.remote.peers) {
          for (const id of atom.identities ?? []) {
            identities.add(id);
            addTo(this.byIdentity, id, rules.length - 1);
          }
          if (atom.identities === undefined) for (const c of atom.cidrs ?? []) addTo(this.byCidr, c, rules.length - 1);
          for (const c of [...(atom.cidrs ?? []), ...(atom.except ?? [])]) cidrs.add(c);
        }
        if (rule.protocol !== undefined) protocols.add(rule.protocol);
        if (rule.notProtocol !== undefined) protocols.add(rule.notProtocol);
        const ports = [rule.local.ports, rule.local.notPorts, rule.remote.ports, rule.remote.notPorts];
        if (ports.some((p) => p !== undefined)) for (const p of PORT_PROTOCOLS) protocols.add(p);
        if (rule.icmp !== undefined || rule.notIcmp !== undefined) for (const p of ICMP_PROTOCOLS) protocols.add(p);
      }
      tierEnds.push(tier.end === 'deny' ? { verdict: 'deny', rule: ids.isolated(direction, tier.tier, tier.isolatedBy) } : undefined);
    });
    this.rules = rules;
    this.tierEnds = tierEnds;
    this.identities = identities;
    this.cidrs = cidrs;
    this.protocols = [...protocols].sort((a, b) => a - b);
  }

  /** Whether the direction has no tiers: everything is allowed. */
  get open(): boolean {
    return this.tierEnds.length === 0;
  }

  /** The destination ports (or ICMP type/code values) of `protocol` a rule matches, peers aside. */
  ports(index: number, protocol: number): PortSet {
    const cacheKey = index * 512 + protocol + 1;
    let set = this.#portCache.get(cacheKey);
    if (set === undefined) {
      set = ruleKeyPorts((this.rules[index] as Prepared).rule, protocol, this.direction, this.localAddress);
      this.#portCache.set(cacheKey, set);
    }
    return set;
  }
}

function addTo<K>(map: Map<K, number[]>, key: K, index: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [index]);
  else if (list[list.length - 1] !== index) list.push(index);
}

function portsOf(ports: readonly ResolvedPort[], protocol: number): PortSet {
  let set = NO_PORTS;
  for (const p of ports) if (p.protocol === undefined || p.protocol === protocol) set = unionPorts(set, portRange(p.first, p.last));
  return set;
}

function icmpPorts(match: IcmpMatch): PortSet {
  if (match.type === undefined) return FULL_PORTS;
  return match.code === undefined ? portRange(match.type << 8, (match.type << 8) | 0xff) : portRange((match.type << 8) | match.code, (match.type << 8) | match.code);
}

/** What `evaluate`'s rule match leaves of the key's port space for one protocol. */
function ruleKeyPorts(rule: EffectiveRule, protocol: number, direction: 'ingress' | 'egress', localAddress: string | undefined): PortSet {
  if (rule.protocol !== undefined && rule.protocol !== protocol) return NO_PORTS;
  if (rule.notProtocol !== undefined && rule.notProtocol === protocol) return NO_PORTS;
  const icmp = ICMP_PROTOCOLS.includes(protocol);
  const hasPorts = PORT_PROTOCOLS.includes(protocol);
  let set = FULL_PORTS;
  if (rule.icmp !== undefined) set = icmp ? intersectPorts(set, icmpPorts(rule.icmp)) : NO_PORTS;
  if (rule.notIcmp !== undefined && icmp) set = subtractPorts(set, icmpPorts(rule.notIcmp));
  if (rule.local.addresses !== undefined && (localAddress === undefined || !rule.local.addresses.includes(localAddress))) return NO_PORTS;
  const destination = direction === 'ingress' ? rule.local : rule.remote;
  const source = direction === 'ingress' ? rule.remote : rule.local;
  // The source port is not in the key: decided as for a flow without one.
  if (source.ports !== undefined) return NO_PORTS;
  if (destination.ports !== undefined) set = hasPorts ? intersectPorts(set, portsOf(destination.ports, protocol)) : NO_PORTS;
  if (destination.notPorts !== undefined && hasPorts) set = subtractPorts(set, portsOf(destination.notPorts, protocol));
  return set;
}

/** Whether a peer atom holds the addresses of a class (undefined: only atoms that hold every peer). */
function atomMatches(atom: PeerAtom, peer: PeerClass | undefined): boolean {
  if (peer === undefined) return atom.identities === undefined && atom.cidrs === undefined;
  if (atom.identities !== undefined && !atom.identities.includes(peer.identity)) return false;
  if (atom.cidrs !== undefined && !atom.cidrs.some((c) => peer.cidrs.includes(c))) return false;
  return atom.except === undefined || !atom.except.some((c) => peer.cidrs.includes(c));
}

type Segments = { first: number; last: number; decision: Decision }[];

/** The sweep: verdicts over one protocol's port space for one peer. */
function decideProtocol(d: PreparedDirection, matching: readonly number[], protocol: number): Segments {
  const out: Segments = [];
  let undecided: PortSet = FULL_PORTS;
  let next = 0;
  d.tierEnds.forEach((end, tier) => {
    const active = undecided.map(([a, b]): [number, number] => [a, b]);
    const passed: [number, number][] = [];
    for (; next < matching.length; next += 1) {
      const index = matching[next] as number;
      const prepared = d.rules[index] as Prepared;
      if (prepared.tier !== tier) break;
      if (prepared.rule.action === 'log' || active.length === 0) continue;
      for (const [first, last] of d.ports(index, protocol)) {
        const hit = takePorts(active, first, last);
        if (prepared.decision === undefined) passed.push(...hit);
        else for (const [a, b] of hit) out.push({ first: a, last: b, decision: prepared.decision });
      }
    }
    if (end === undefined) {
      undecided = normalisePorts([...active, ...passed]);
    } else {
      for (const [first, last] of active) out.push({ first, last, decision: end });
      undecided = normalisePorts(passed);
    }
  });
  for (const [first, last] of undecided) out.push({ first, last, decision: DEFAULT_ALLOW });
  return out.sort((a, b) => a.first - b.first);
}

const sameDecision = (a: Decision, b: Decision): boolean => a.verdict === b.verdict && a.rule === b.rule;

/** One peer's verdicts: for protocols no rule names, and per named protocol over its ports. */
interface Verdicts {
  readonly other: Decision;
  readonly protocols: ReadonlyMap<number, Segments>;
}

/**
 * A peer's verdicts. With `any` (the any-identity verdicts) and the peer's own `extra`
 * rules, a protocol none of them can match is the any-identity one, without a sweep.
 */
function verdictsFor(d: PreparedDirection, matching: readonly number[], any?: Verdicts, extra?: readonly number[]): Verdicts {
  const same = (protocol: number): boolean => any !== undefined && extra !== undefined && extra.every((i) => d.ports(i, protocol).length === 0);
  return {
    other: any !== undefined && same(OTHER) ? any.other : decideProtocol(d, matching, OTHER)[0]?.decision ?? DEFAULT_ALLOW,
    protocols: new Map(d.protocols.map((p) => [p, any !== undefined && same(p) ? (any.protocols.get(p) ?? []) : decideProtocol(d, matching, p)])),
  };
}

/** Neighbouring segments with the same decision, merged. */
function merge(segments: Segments): Segments {
  const out: Segments = [];
  for (const s of segments) {
    const last = out[out.length - 1];
    if (last !== undefined && last.last + 1 === s.first && sameDecision(last.decision, s.decision)) last.last = s.last;
    else out.push({ ...s });
  }
  return out;
}

/**
 * One protocol's entries: the decision covering most ports at the protocol's prefix
 * (left out when it is `implied`, what a lookup finds without it), and the other
 * decisions' ranges as port prefixes.
 */
function protocolEntries(direction: 'ingress' | 'egress', identity: number, protocol: number, segments: Segments, implied: Decision | undefined): BpfPolicyEntry[] {
  const weight = new Map<string, { decision: Decision; ports: number }>();
  let base = DEFAULT_ALLOW;
  let most = -1;
  for (const s of segments) {
    const key = `${s.decision.verdict}/${s.decision.rule}`;
    const w = weight.get(key) ?? { decision: s.decision, ports: 0 };
    w.ports += s.last - s.first + 1;
    weight.set(key, w);
    if (w.ports > most) {
      most = w.ports;
      base = w.decision;
    }
  }
  const out: BpfPolicyEntry[] = [];
  if (implied === undefined || !sameDecision(base, implied)) out.push({ direction, identity, protocol, port: 0, portBits: 0, ...base });
  for (const run of merge(segments)) {
    if (sameDecision(run.decision, base)) continue;
    for (const p of rangeToPrefixes(run.first, run.last)) out.push({ direction, identity, protocol, port: p.value, portBits: p.bits, ...run.decision });
  }
  return out;
}

/** Every entry of a peer, with its own catch-all: no lookup for it falls through. */
function fullEntries(direction: 'ingress' | 'egress', identity: number, v: Verdicts): BpfPolicyEntry[] {
  const out: BpfPolicyEntry[] = [{ direction, identity, port: 0, portBits: 0, ...v.other }];
  for (const [protocol, segments] of v.protocols) {
    if (segments.every((s) => sameDecision(s.decision, v.other))) continue;
    out.push(...protocolEntries(direction, identity, protocol, segments, v.other));
  }
  return out;
}

/** The ports where two peers' verdicts differ, with the first one's decisions. */
function differences(mine: Segments, theirs: Segments): Segments {
  const out: Segments = [];
  let j = 0;
  for (const s of mine) {
    let at = s.first;
    while (at <= s.last) {
      while (j < theirs.length && (theirs[j] as Segments[number]).last < at) j += 1;
      const other = theirs[j];
      if (other === undefined) break;
      const end = Math.min(s.last, other.last);
      if (!sameDecision(s.decision, other.decision)) out.push({ first: at, last: end, decision: s.decision });
      at = end + 1;
    }
  }
  return merge(out);
}

/**
 * A peer's entries where its verdicts differ from those of any other peer, and nothing
 * elsewhere: a lookup that finds none of them falls through to the any-identity entries,
 * which give the same verdict. Undefined when the peer differs for unnamed protocols
 * (then it needs its own catch-all, and all its entries).
 */
function sparseEntries(direction: 'ingress' | 'egress', identity: number, v: Verdicts, any: Verdicts): BpfPolicyEntry[] | undefined {
  if (!sameDecision(v.other, any.other)) return undefined;
  const out: BpfPolicyEntry[] = [];
  for (const [protocol, segments] of v.protocols) {
    const theirs = any.protocols.get(protocol) ?? [];
    if (segments === theirs) continue;
    const diff = differences(segments, theirs);
    if (diff.length === 0) continue;
    const ranges = diff.flatMap((run) => rangeToPrefixes(run.first, run.last).map((p) => ({ direction, identity, protocol, port: p.value, portBits: p.bits, ...run.decision })));
    // The whole protocol (its own base entry and exceptions) when that is fewer entries.
    const whole = merge(segments).length <= ranges.length ? protocolEntries(direction, identity, protocol, segments, undefined) : undefined;
    out.push(...(whole !== undefined && whole.length < ranges.length ? whole : ranges));
  }
  return out;
}

/** The classes of the current ipcache that need entries of their own for this direction. */
function namedClasses(d: PreparedDirection, classes: Iterable<PeerClass>): PeerClass[] {
  const out = new Map<number, PeerClass>();
  for (const id of d.identities) out.set(id, { id, identity: id as PeerClass['identity'], cidrs: [] });
  for (const c of classes) {
    if (c.cidrs.length === 0) continue;
    if (d.identities.has(c.identity) || c.cidrs.some((x) => d.cidrs.has(x))) out.set(c.id, c);
  }
  return [...out.values()].sort((a, b) => a.id - b.id);
}

/**
 * Peer entries of an earlier compilation of the same endpoint direction, by peer class:
 * reused when the rules that match the peer are the same rule objects in the same tiers
 * and the any-identity verdicts did not change (one policy of thousands changed).
 */
export type PeerEntryCache = Map<number, { readonly rules: readonly EffectiveRule[]; readonly key: string; readonly entries: readonly BpfPolicyEntry[] }>;

const decisionText = (x: Decision | undefined): string => (x === undefined ? '-' : `${x.verdict}/${x.rule}`);

function verdictsText(v: Verdicts): string {
  const parts = [decisionText(v.other)];
  for (const [protocol, segments] of v.protocols) parts.push(`${protocol}:${segments.map((x) => `${x.first}-${x.last}=${decisionText(x.decision)}`).join(',')}`);
  return parts.join(';');
}

/**
 * The policy map entries of one endpoint direction: entries for any other peer
 * ({@link BPF_ANY_IDENTITY}), and for each class some rule names whose verdicts differ
 * from those. With `cache`, unchanged peers' entries come from `previous`; every peer's
 * go into `next`.
 */
export function directionEntries(d: PreparedDirection, classes: Iterable<PeerClass>, cache?: { readonly previous: PeerEntryCache | undefined; readonly next: PeerEntryCache }): BpfPolicyEntry[] {
  if (d.open) return [{ direction: d.direction, identity: BPF_ANY_IDENTITY, port: 0, portBits: 0, ...DEFAULT_ALLOW }];
  const wildcard = d.rules.flatMap((r, i) => (r.wildcard ? [i] : []));
  const any = verdictsFor(d, wildcard);
  const out = fullEntries(d.direction, BPF_ANY_IDENTITY, any);
  const shared = cache === undefined ? '' : `${d.localAddress ?? '-'}|${verdictsText(any)}|${d.tierEnds.map(decisionText).join(',')}`;
  for (const peer of namedClasses(d, classes)) {
    const candidates = new Set<number>(d.byIdentity.get(peer.identity));
    for (const c of peer.cidrs) for (const i of d.byCidr.get(c) ?? []) candidates.add(i);
    const extra = [...candidates].filter((i) => !(d.rules[i] as Prepared).wildcard && (d.rules[i] as Prepared).rule.remote.peers.some((a) => atomMatches(a, peer)));
    if (extra.length === 0) continue;
    const matching = [...wildcard, ...extra].sort((a, b) => a - b);
    let entries: readonly BpfPolicyEntry[] | undefined;
    if (cache !== undefined) {
      const rules = matching.map((i) => (d.rules[i] as Prepared).rule);
      const key = `${peer.identity}|${peer.cidrs.join(',')}|${matching.map((i) => (d.rules[i] as Prepared).tier).join(',')}|${shared}`;
      const before = cache.previous?.get(peer.id);
      if (before !== undefined && before.key === key && before.rules.length === rules.length && before.rules.every((r, i) => r === rules[i])) entries = before.entries;
      if (entries === undefined) {
        const v = verdictsFor(d, matching, any, extra);
        entries = sparseEntries(d.direction, peer.id, v, any) ?? fullEntries(d.direction, peer.id, v);
      }
      cache.next.set(peer.id, { rules, key, entries });
    } else {
      const v = verdictsFor(d, matching, any, extra);
      entries = sparseEntries(d.direction, peer.id, v, any) ?? fullEntries(d.direction, peer.id, v);
    }
    out.push(...entries);
  }
  return out;
}
