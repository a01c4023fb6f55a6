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
import { BPF_ANY_IDENTITY, BPF_DEFAULT_RULE, diffBpfEntries, type BpfEntryDiff, type BpfPolicyEntry } from './types.js';

/** What decides a point of the (protocol, port) space: a verdict and the rule id. */
interface Decision {
  readonly verdict: BpfPolicyEntry['verdict'];
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
  /** Whether an Allow with L7 rules gets the `proxy` verdict (the compiler's `l7Proxy`). */
  readonly l7Proxy: boolean;
}

/** A rule's decision: Allow (`proxy` for one with L7 rules under `l7Proxy`) and Deny decide; Pass and Log do not. */
function ruleVerdict(rule: EffectiveRule, l7Proxy: boolean): Decision['verdict'] | undefined {
  if (rule.action === 'deny') return 'deny';
  if (rule.action !== 'allow') return undefined;
  return l7Proxy && rule.l7 !== undefined ? 'proxy' : 'allow';
}

interface Prepared {
  readonly rule: EffectiveRule;
  readonly tier: number;
  readonly decision: Decision | undefined;
  readonly wildcard: boolean;
  readonly facts: RuleFacts;
}

/**
 * One endpoint direction, prepared: rules flattened with their tier, which peers each
 * names (so the classes that need entries of their own are found without a walk), and
 * the protocols rules name.
 */
export class PreparedDirection {
  readonly rules: readonly Prepared[];
  /** Indices of the rules with an atom that holds every peer. */
  readonly wildcards: readonly number[];
  readonly tierEnds: readonly (Decision | undefined)[];
  /** Identities the rules name, with how many rules name each. */
  readonly identities: ReadonlyMap<number, number>;
  /** CIDRs and exceptions the rules name, with how many rules name each. */
  readonly cidrs: ReadonlyMap<string, number>;
  /**
   * With the `previous` preparation it was built from: the CIDRs no rule of it named and
   * those no rule names any more (undefined when built from nothing).
   */
  readonly cidrChanges: { readonly from: PreparedDirection; readonly added: readonly string[]; readonly removed: readonly string[] } | undefined;
  /** Rules with an atom naming the identity; rules with an identity-less atom naming the CIDR (built on demand). */
  #byIdentity: Map<number, number[]> | undefined;
  #byCidr: Map<string, number[]> | undefined;
  /** Peers looked up by a walk over the rules, before the two maps above are built. */
  #walks = 0;
  readonly protocols: readonly number[];
  readonly #protocolCounts: Map<number, number>;
  readonly #tierNames: readonly string[];
  readonly #portCache = new Map<number, PortSet>();

  /**
   * With `previous` (the same endpoint direction's preparation before a change), only
   * the rules between the longest common head and tail of the two rule sequences are
   * prepared again; the others' preparations and counts carry over.
   */
  constructor(
    readonly direction: 'ingress' | 'egress',
    effective: EffectiveDirection,
    readonly localAddress: string | undefined,
    ids: RuleIds,
    previous?: PreparedDirection,
  ) {
    const list: EffectiveRule[] = [];
    const tierOf: number[] = [];
    const tierNames: string[] = [];
    const tierEnds: (Decision | undefined)[] = [];
    effective.tiers.forEach((tier, index) => {
      tierNames.push(tier.tier);
      for (const rule of tier.rules) {
        list.push(rule);
        tierOf.push(index);
      }
      tierEnds.push(tier.end === 'deny' ? { verdict: 'deny', rule: ids.isolated(direction, tier.tier, tier.isolatedBy) } : undefined);
    });
    const prepare = (at: number): Prepared => {
      const rule = list[at] as EffectiveRule;
      const tier = tierOf[at] as number;
      const verdict = ruleVerdict(rule, ids.l7Proxy);
      const decision = verdict === undefined ? undefined : { verdict, rule: ids.rule(direction, tierNames[tier] as string, rule) };
      const facts = factsOf(rule);
      return { rule, tier, decision, wildcard: facts.wildcard, facts };
    };
    const usable = previous !== undefined && previous.direction === direction && previous.localAddress === localAddress
      && previous.#tierNames.length === tierNames.length && previous.#tierNames.every((t, i) => t === tierNames[i]);
    let rules: Prepared[];
    let identities: Map<number, number>;
    let cidrs: Map<string, number>;
    let protocols: Map<number, number>;
    const added: string[] = [];
    const removed: string[] = [];
    const count = <K>(map: Map<K, number>, keys: readonly K[], step: 1 | -1, changes?: K[][]): void => {
      for (const key of keys) {
        const n = (map.get(key) ?? 0) + step;
        if (n > 0) map.set(key, n);
        else map.delete(key);
        if (changes !== undefined && (step === 1 ? n === 1 : n === 0)) (changes[step === 1 ? 0 : 1] as K[]).push(key);
      }
    };
    if (previous !== undefined && usable) {
      const old = previous.rules;
      let head = 0;
      while (head < old.length && head < list.length && (old[head] as Prepared).rule === list[head] && (old[head] as Prepared).tier === tierOf[head]) head += 1;
      let tail = 0;
      while (tail < old.length - head && tail < list.length - head) {
        const o = old[old.length - 1 - tail] as Prepared;
        if (o.rule !== list[list.length - 1 - tail] || o.tier !== tierOf[list.length - 1 - tail]) break;
        tail += 1;
      }
      identities = new Map(previous.identities);
      cidrs = new Map(previous.cidrs);
      protocols = new Map(previous.#protocolCounts);
      for (const p of old.slice(head, old.length - tail)) {
        count(identities, p.facts.identities, -1);
        count(cidrs, p.facts.cidrs, -1, [added, removed]);
        count(protocols, p.facts.protocols, -1);
      }
      const middle: Prepared[] = [];
      for (let at = head; at < list.length - tail; at += 1) {
        const p = prepare(at);
        middle.push(p);
        count(identities, p.facts.identities, 1);
        count(cidrs, p.facts.cidrs, 1, [added, removed]);
        count(protocols, p.facts.protocols, 1);
      }
      rules = [...old.slice(0, head), ...middle, ...old.slice(old.length - tail)];
    } else {
      rules = list.map((_, at) => prepare(at));
      identities = new Map();
      cidrs = new Map();
      protocols = new Map();
      for (const p of rules) {
        count(identities, p.facts.identities, 1);
        count(cidrs, p.facts.cidrs, 1);
        count(protocols, p.facts.protocols, 1);
      }
    }
    const wildcards: number[] = [];
    rules.forEach((p, at) => {
      if (p.wildcard) wildcards.push(at);
    });
    this.rules = rules;
    this.wildcards = wildcards;
    this.tierEnds = tierEnds;
    this.#tierNames = tierNames;
    this.identities = identities;
    this.cidrs = cidrs;
    // A CIDR removed and added back in one change is neither.
    const both = new Set(added.filter((c) => removed.includes(c)));
    this.cidrChanges = previous !== undefined && usable ? { from: previous, added: added.filter((c) => !both.has(c)), removed: removed.filter((c) => !both.has(c)) } : undefined;
    this.#protocolCounts = protocols;
    this.protocols = [...protocols.keys()].sort((a, b) => a - b);
  }

  /**
   * Indices of the rules with an atom naming the peer's identity, or an identity-less
   * atom naming one of its CIDRs, ascending. The first few peers are found by a walk
   * over the rules (a change touches a few peers); after those, by maps built once.
   */
  candidates(peer: PeerClass): number[] {
    if (this.#byIdentity === undefined && this.#walks < 16) {
      this.#walks += 1;
      const out: number[] = [];
      this.rules.forEach((p, i) => {
        if (p.facts.identities.includes(peer.identity) || p.facts.keyCidrs.some((c) => peer.cidrs.includes(c))) out.push(i);
      });
      return out;
    }
    if (this.#byIdentity === undefined || this.#byCidr === undefined) {
      const byIdentity = new Map<number, number[]>();
      const byCidr = new Map<string, number[]>();
      this.rules.forEach((p, i) => {
        for (const id of p.facts.identities) addTo(byIdentity, id, i);
        for (const c of p.facts.keyCidrs) addTo(byCidr, c, i);
      });
      this.#byIdentity = byIdentity;
      this.#byCidr = byCidr;
    }
    const found = new Set<number>(this.#byIdentity.get(peer.identity));
    for (const c of peer.cidrs) for (const i of this.#byCidr.get(c) ?? []) found.add(i);
    return [...found].sort((a, b) => a - b);
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

/** What a rule names, whatever its place: kept per rule object (the index shares unchanged ones). */
interface RuleFacts {
  readonly wildcard: boolean;
  readonly identities: readonly number[];
  /** CIDRs of its identity-less atoms (what the rule is found by). */
  readonly keyCidrs: readonly string[];
  /** Every CIDR and exception it names. */
  readonly cidrs: readonly string[];
  /** Protocols whose key space it may split. */
  readonly protocols: readonly number[];
}

const ruleFacts = new WeakMap<EffectiveRule, RuleFacts>();

function factsOf(rule: EffectiveRule): RuleFacts {
  let facts = ruleFacts.get(rule);
  if (facts !== undefined) return facts;
  const identities: number[] = [];
  const keyCidrs: string[] = [];
  const cidrs: string[] = [];
  const protocols: number[] = [];
  for (const atom of rule.remote.peers) {
    if (atom.identities !== undefined) identities.push(...atom.identities);
    else keyCidrs.push(...(atom.cidrs ?? []));
    cidrs.push(...(atom.cidrs ?? []), ...(atom.except ?? []));
  }
  if (rule.protocol !== undefined) protocols.push(rule.protocol);
  if (rule.notProtocol !== undefined) protocols.push(rule.notProtocol);
  const ports = [rule.local.ports, rule.local.notPorts, rule.remote.ports, rule.remote.notPorts];
  if (ports.some((p) => p !== undefined)) protocols.push(...PORT_PROTOCOLS);
  if (rule.icmp !== undefined || rule.notIcmp !== undefined) protocols.push(...ICMP_PROTOCOLS);
  facts = { wildcard: rule.remote.peers.some((a) => a.identities === undefined && a.cidrs === undefined), identities, keyCidrs, cidrs, protocols };
  ruleFacts.set(rule, facts);
  return facts;
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
  for (const id of d.identities.keys()) out.set(id, { id, identity: id as PeerClass['identity'], cidrs: [] });
  for (const c of classes) {
    if (c.cidrs.length === 0) continue;
    if (d.identities.has(c.identity) || c.cidrs.some((x) => d.cidrs.has(x))) out.set(c.id, c);
  }
  return [...out.values()].sort((a, b) => a.id - b.id);
}

/** One peer's entries and what they were computed from (reused while that is the same). */
interface PeerState {
  readonly rules: readonly EffectiveRule[];
  readonly key: string;
  readonly entries: readonly BpfPolicyEntry[];
}

/**
 * One endpoint direction's policy map entries, and what the next compilation of the
 * direction needs to redo only what changed.
 */
export interface DirectionState {
  readonly prepared: PreparedDirection;
  /** The peer classes it was compiled against (the same map object while none moved). */
  readonly classes: ReadonlyMap<number, PeerClass>;
  /** Everything every peer's entries depend on besides its own rules. */
  readonly shared: string;
  /** The entries for any other peer ({@link BPF_ANY_IDENTITY}). */
  readonly any: readonly BpfPolicyEntry[];
  /** Per peer class with entries of its own. */
  readonly peers: ReadonlyMap<number, PeerState>;
}

/** A direction compiled: its state, and when known, the only peers whose entries may differ from the previous state's. */
export interface DirectionResult {
  readonly state: DirectionState;
  readonly touched?: ReadonlySet<number>;
}

const decisionText = (x: Decision | undefined): string => (x === undefined ? '-' : `${x.verdict}/${x.rule}`);

function verdictsText(v: Verdicts): string {
  const parts = [decisionText(v.other)];
  for (const [protocol, segments] of v.protocols) parts.push(`${protocol}:${segments.map((x) => `${x.first}-${x.last}=${decisionText(x.decision)}`).join(',')}`);
  return parts.join(';');
}

/** Classes by identity and by named CIDR, per class map (built once per map object). */
const classIndexes = new WeakMap<ReadonlyMap<number, PeerClass>, { byIdentity: Map<number, number[]>; byCidr: Map<string, number[]> }>();

function classIndex(classes: ReadonlyMap<number, PeerClass>): { byIdentity: Map<number, number[]>; byCidr: Map<string, number[]> } {
  let index = classIndexes.get(classes);
  if (index === undefined) {
    index = { byIdentity: new Map(), byCidr: new Map() };
    for (const c of classes.values()) {
      if (c.cidrs.length === 0) continue;
      addTo(index.byIdentity, c.identity, c.id);
      for (const x of c.cidrs) addTo(index.byCidr, x, c.id);
    }
    classIndexes.set(classes, index);
  }
  return index;
}

/** The class a peer number stands for in this direction, when it needs entries of its own. */
function namedClass(d: PreparedDirection, classes: ReadonlyMap<number, PeerClass>, id: number): PeerClass | undefined {
  const c = classes.get(id);
  if (c === undefined || c.cidrs.length === 0) return d.identities.has(id) ? { id, identity: id as PeerClass['identity'], cidrs: [] } : undefined;
  return d.identities.has(c.identity) || c.cidrs.some((x) => d.cidrs.has(x)) ? c : undefined;
}

/**
 * The rules that came or went between two preparations of a direction, when every rule
 * both hold keeps its tier and its order relative to the others (then a peer none of
 * them names has the same rules, in the same order, as before); undefined otherwise.
 */
function changedRules(before: PreparedDirection, after: PreparedDirection): EffectiveRule[] | undefined {
  const old = before.rules;
  const now = after.rules;
  let head = 0;
  while (head < old.length && head < now.length && (old[head] as Prepared).rule === (now[head] as Prepared).rule) {
    if ((old[head] as Prepared).tier !== (now[head] as Prepared).tier) return undefined;
    head += 1;
  }
  let tail = 0;
  while (tail < old.length - head && tail < now.length - head && (old[old.length - 1 - tail] as Prepared).rule === (now[now.length - 1 - tail] as Prepared).rule) {
    if ((old[old.length - 1 - tail] as Prepared).tier !== (now[now.length - 1 - tail] as Prepared).tier) return undefined;
    tail += 1;
  }
  const oldMiddle = old.slice(head, old.length - tail);
  const newMiddle = now.slice(head, now.length - tail);
  const had = new Set(oldMiddle.map((p) => p.rule));
  const has = new Set(newMiddle.map((p) => p.rule));
  const keptBefore = oldMiddle.filter((p) => has.has(p.rule));
  const keptAfter = newMiddle.filter((p) => had.has(p.rule));
  if (keptBefore.length !== keptAfter.length) return undefined;
  for (let i = 0; i < keptBefore.length; i += 1) {
    const a = keptBefore[i] as Prepared;
    const b = keptAfter[i] as Prepared;
    if (a.rule !== b.rule || a.tier !== b.tier) return undefined;
  }
  return [...oldMiddle.filter((p) => !has.has(p.rule)), ...newMiddle.filter((p) => !had.has(p.rule))].map((p) => p.rule);
}

/** The peer numbers whose entries the rules may change: classes of the identities and CIDRs they name. */
function peersNamedBy(rules: readonly EffectiveRule[], classes: ReadonlyMap<number, PeerClass>): Set<number> {
  const index = classIndex(classes);
  const out = new Set<number>();
  for (const rule of rules) {
    for (const atom of rule.remote.peers) {
      for (const id of atom.identities ?? []) {
        out.add(id);
        for (const c of index.byIdentity.get(id) ?? []) out.add(c);
      }
      for (const x of [...(atom.cidrs ?? []), ...(atom.except ?? [])]) for (const c of index.byCidr.get(x) ?? []) out.add(c);
    }
  }
  return out;
}

/**
 * The policy map entries of one endpoint direction: entries for any other peer
 * ({@link BPF_ANY_IDENTITY}), and for each class some rule names whose verdicts differ
 * from those. With the direction's `previous` state: when the any-identity verdicts,
 * tiers and classes are the same and the rules that stayed kept their order, only the
 * peers that the rules which came or went name are computed again (`touched`); otherwise
 * every peer, reusing the entries of those whose rules are the same objects.
 */
export function directionEntries(d: PreparedDirection, classes: ReadonlyMap<number, PeerClass>, previous?: DirectionState): DirectionResult {
  if (d.open) {
    return { state: { prepared: d, classes, shared: 'open', any: [{ direction: d.direction, identity: BPF_ANY_IDENTITY, port: 0, portBits: 0, ...DEFAULT_ALLOW }], peers: new Map() } };
  }
  const wildcard = d.wildcards;
  const any = verdictsFor(d, wildcard);
  const anyEntries = fullEntries(d.direction, BPF_ANY_IDENTITY, any);
  const shared = `${d.localAddress ?? '-'}|${verdictsText(any)}|${d.tierEnds.map(decisionText).join(',')}`;
  const peerState = (peer: PeerClass): PeerState | undefined => {
    const extra = d.candidates(peer).filter((i) => !(d.rules[i] as Prepared).wildcard && (d.rules[i] as Prepared).rule.remote.peers.some((a) => atomMatches(a, peer)));
    if (extra.length === 0) return undefined;
    const matching = [...wildcard, ...extra].sort((a, b) => a - b);
    const rules = matching.map((i) => (d.rules[i] as Prepared).rule);
    const key = `${peer.identity}|${peer.cidrs.join(',')}|${matching.map((i) => (d.rules[i] as Prepared).tier).join(',')}|${shared}`;
    const before = previous?.peers.get(peer.id);
    if (before !== undefined && before.key === key && before.rules.length === rules.length && before.rules.every((r, i) => r === rules[i])) return before;
    const v = verdictsFor(d, matching, any, extra);
    return { rules, key, entries: sparseEntries(d.direction, peer.id, v, any) ?? fullEntries(d.direction, peer.id, v) };
  };

  const changed = previous !== undefined && previous.shared === shared && previous.classes === classes ? changedRules(previous.prepared, d) : undefined;
  if (previous !== undefined && changed !== undefined) {
    const touched = peersNamedBy(changed, classes);
    const peers = new Map(previous.peers);
    for (const id of touched) {
      const peer = namedClass(d, classes, id);
      const state = peer === undefined ? undefined : peerState(peer);
      if (state === undefined) peers.delete(id);
      else peers.set(id, state);
    }
    return { state: { prepared: d, classes, shared, any: anyEntries, peers }, touched };
  }
  const peers = new Map<number, PeerState>();
  for (const peer of namedClasses(d, classes.values())) {
    const state = peerState(peer);
    if (state !== undefined) peers.set(peer.id, state);
  }
  return { state: { prepared: d, classes, shared, any: anyEntries, peers } };
}

/** Every entry of a direction state: the any-identity ones, then each peer's by class number. */
export function stateEntries(state: DirectionState): BpfPolicyEntry[] {
  const out = [...state.any];
  for (const id of [...state.peers.keys()].sort((a, b) => a - b)) out.push(...(state.peers.get(id) as PeerState).entries);
  return out;
}

/** The set and delete operations from one state of a direction to the next (`touched`: the only peers that may differ). */
export function diffDirectionStates(before: DirectionState | undefined, after: DirectionState, touched?: ReadonlySet<number>): BpfEntryDiff {
  if (before === undefined) return { set: stateEntries(after), removed: [] };
  const anyDiff = diffBpfEntries(before.any, after.any);
  const set = [...anyDiff.set];
  const removed = [...anyDiff.removed];
  const compare = (id: number): void => {
    const old = before.peers.get(id)?.entries;
    const now = after.peers.get(id)?.entries;
    if (old === now) return;
    const step = diffBpfEntries(old ?? [], now ?? []);
    set.push(...step.set);
    removed.push(...step.removed);
  };
  if (touched !== undefined) {
    for (const id of touched) compare(id);
  } else {
    for (const id of after.peers.keys()) compare(id);
    for (const id of before.peers.keys()) if (!after.peers.has(id)) compare(id);
  }
  return { set, removed };
}
