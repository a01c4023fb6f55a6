// Effective rules compiled for flow evaluation: flat, monomorphic and shared.
//
// Why this shape (bench/policy-engine.bench.ts, 5,000 pods and 1,000 policies): the
// 5,000 endpoints' 180,000 effective rules are only ~6,500 distinct rule objects, so a
// rule is compiled once and shared. What is per endpoint and direction is one Int32Array
// holding, per rule, what most rules need (action, protocol, one port range per side,
// and the peer when it is one IPv4 network or one or two identities), so the walk reads
// one contiguous block and follows a pointer only for larger peers; and the verdicts
// the endpoint gives, built once, so that deciding a flow allocates only the verdict
// object it returns. Before, the walk went through the effective rules' optional-field
// objects and built a verdict, sides and traffic objects per flow: 70-90k flows/s in
// the bench, with the profile spread over key building and lookups (~17%), side
// resolution (~14%), rule matching (~25%), verdict building (~15%) and GC (~7%).

import { type NumericIdentity } from '../identity/reserved.js';
import { parseCidr, type Cidr, type IpAddress } from '../model/cidr.js';
import { type EndpointRef } from '../model/endpoint.js';
import { type IcmpMatch, type L7Rules, type PolicyRef } from '../model/policy.js';
import { type RuleHit, type VerdictReason } from '../evaluate/evaluate.js';
import { type IndexedEndpoint } from '../evaluate/snapshot.js';
import { type VerdictMemo } from './verdict-memo.js';
import { type EffectiveDirection, type EffectiveRule, type EndpointPolicy, type PeerAtom, type ResolvedPort } from './types.js';

/** The verdict of one enforcement point, as the index decides it. */
export interface IndexDirectionVerdict {
  /** Which enforcement point: the destination's `ingress` or the source's `egress`. */
  readonly direction: 'ingress' | 'egress';
  /** The endpoint whose rules were evaluated. */
  readonly endpoint: EndpointRef;
  /** Whether this enforcement point lets the flow through. */
  readonly allowed: boolean;
  /** Why: a rule decided, the endpoint is isolated, no policy selects it, or every selecting tier passed. */
  readonly reason: VerdictReason;
  /** The rule that decided, when `reason` is `rule`. */
  readonly decidedBy?: RuleHit;
  /** The isolating policies of the tier whose default denied, when `reason` is `isolated`. */
  readonly isolatedBy?: readonly PolicyRef[];
  /** L7 rules the allowed traffic must still satisfy. */
  readonly l7: readonly L7Rules[];
}

/** Rule actions as small integers, for the hot loop. */
export const ACTION_CODE = { allow: 0, deny: 1, pass: 2, log: 3 } as const;

/** No L7 rules: shared by every verdict that has none (frozen: verdicts are shared). */
export const NO_L7: readonly L7Rules[] = Object.freeze([]);

/** A peer atom's networks: IPv4 as (address, mask) pairs of unsigned 32-bit numbers; IPv6 parsed. */
export class CompiledNets {
  constructor(
    readonly v4: Uint32Array,
    readonly v6: readonly Cidr[],
  ) {}
}

// Compiled forms are classes with every field always present, so the hot loop reads
// monomorphic shapes (effective rules come in many shapes: optional fields).

/**
 * One peer atom: identity set (null: any) and networks (null: any address). The
 * identities are a bitmap over [idBase, idBase + 32 * idBits.length): label
 * identities are hashed over 256-65535, so a set of a few hundred spans most of that
 * space, and a bitmap (at most 8 KiB, one cache line per lookup) is both smaller and
 * cheaper to probe than a `Set` of the same identities (about 30 bytes per member,
 * several lines per lookup).
 */
export class CompiledAtom {
  constructor(
    /** The identities, sorted (null: any). */
    readonly ids: readonly number[] | null,
    readonly idBase: number,
    readonly idBits: Uint32Array | null,
    readonly nets: CompiledNets | null,
    readonly except: CompiledNets | null,
  ) {}
}

/** Whether `atom`'s identities (which must be a set) hold `identity`. */
export function atomHasIdentity(bits: Uint32Array, base: number, identity: number): boolean {
  const offset = identity - base;
  if (offset < 0 || offset >= bits.length * 32) return false;
  return ((bits[offset >>> 5] as number) & (1 << (offset & 31))) !== 0;
}

function identityBits(ids: readonly number[]): { base: number; bits: Uint32Array } {
  let base = Number.POSITIVE_INFINITY;
  let top = -1;
  for (const id of ids) {
    base = Math.min(base, id);
    top = Math.max(top, id);
  }
  if (top < 0) return { base: 0, bits: new Uint32Array(0) };
  const bits = new Uint32Array(((top - base) >>> 5) + 1);
  for (const id of ids) bits[(id - base) >>> 5] = (bits[(id - base) >>> 5] as number) | (1 << ((id - base) & 31));
  return { base, bits };
}

/** One effective rule; absent constraints are -1 or null. */
export class CompiledRule {
  constructor(
    readonly rule: EffectiveRule,
    readonly action: number,
    readonly protocol: number,
    readonly notProtocol: number,
    readonly icmp: IcmpMatch | null,
    readonly notIcmp: IcmpMatch | null,
    readonly localAddresses: readonly string[] | null,
    /** Triples (first, last, protocol or -1). */
    readonly localPorts: Int32Array | null,
    readonly localNotPorts: Int32Array | null,
    readonly remotePorts: Int32Array | null,
    readonly remoteNotPorts: Int32Array | null,
    /** Some atom matches every peer: the atoms need no look. */
    readonly anyPeer: boolean,
    readonly atoms: readonly CompiledAtom[],
  ) {}
}

/** Where a rule's fields sit in {@link CompiledDirection.code}, and how many there are. */
export const CODE = {
  ACTION: 0,
  /** One of {@link PEER_CHECK}. */
  CHECK: 1,
  /** The protocol, or -1 for any. */
  PROTOCOL: 2,
  /** The local port range (first, last, protocol or -1); first is -1 when any port. */
  LOCAL_FIRST: 3,
  LOCAL_LAST: 4,
  LOCAL_PROTOCOL: 5,
  REMOTE_FIRST: 6,
  REMOTE_LAST: 7,
  REMOTE_PROTOCOL: 8,
  /** For {@link PEER_CHECK.NET}: the IPv4 network and mask, as signed 32-bit integers. */
  NET: 9,
  MASK: 10,
  /** For {@link PEER_CHECK.IDS}: the one or two identities (the same one twice when one). */
  ID0: 11,
  ID1: 12,
  STRIDE: 13,
} as const;

/** How a rule is matched after its protocol and ports. */
export const PEER_CHECK = {
  /** Every peer: the protocol and ports decide. */
  ANY: 0,
  /** The compiled rule's atoms decide. */
  ATOMS: 1,
  /** One atom, `atoms[i]` of the direction, decides. */
  ATOM: 3,
  /** One IPv4 network without exceptions (`NET`, `MASK`) decides. */
  NET: 4,
  /** One or two identities, any address (`ID0`, `ID1`), decide: a pod selector in one namespace, mostly. */
  IDS: 5,
  /** A constraint the code does not hold (notProtocol, ICMP, several port ranges...): the compiled rule decides everything. */
  FULL: 2,
} as const;

/**
 * An endpoint's rules for one direction, every tier's rules in one array. `code` is
 * one Int32Array: the tier count T, then T tier ends (one past the tier's last rule),
 * then {@link CODE.STRIDE} integers per rule (action, protocol, one local and one
 * remote port range, how to check the peer), so that the walk reads one contiguous
 * block per endpoint and reaches the shared rule objects only to look at peers. The
 * verdicts that do not depend on the flow are built here: `isolated[k]` when tier k
 * ends in deny (null: it passes), `passed`, and per rule the verdict it gives when it
 * decides, on first use (it stays null when the rule carries L7 rules, which depend
 * on the flow).
 */
export class CompiledDirection {
  constructor(
    readonly direction: 'ingress' | 'egress',
    readonly endpoint: EndpointRef,
    readonly code: Int32Array,
    readonly rules: readonly CompiledRule[],
    /** Per rule, its only atom (null when it has several or none). */
    readonly atoms: readonly (CompiledAtom | null)[],
    /** Filled as rules decide flows: built up front, they were a third of the index's heap. */
    readonly ruleVerdicts: (IndexDirectionVerdict | null)[],
    readonly isolated: readonly (IndexDirectionVerdict | null)[],
    readonly passed: IndexDirectionVerdict,
    /** The tiers' names, in order. */
    readonly tierNames: readonly string[],
    /** Which port the rules look at, for the memo's key; one of {@link MEMO}. */
    readonly memoKind: number,
    /** The distinct IPv4 (network, mask) pairs the rules match, as unsigned 32-bit numbers: one bit each in the memo's key. */
    readonly memoNets: Uint32Array,
  ) {}

  /**
   * Verdicts already decided, by remote identity, the networks of `memoNets` the remote
   * address is in, protocol and the port the rules look at (see {@link MEMO}); created on first use, never when `memoKind` is `MEMO.NONE`.
   */
  memo: VerdictMemo | null = null;
}

/**
 * Whether a direction's verdicts can be kept per (remote identity, networks the remote
 * address is in, protocol, port), and which port: they can when its rules look at
 * nothing else of the flow. Not when a rule matches local addresses or IPv6 networks,
 * carries L7 rules, when the rules look at both ports, or hold more IPv4 networks than
 * {@link MEMO_NETS}. ICMP flows are never kept (their type and code count); for other
 * protocols ICMP rules do not match whatever the flow's `icmp`.
 */
export const MEMO = { NONE: 0, NO_PORT: 1, LOCAL_PORT: 2, REMOTE_PORT: 3 } as const;

/** At most this many distinct IPv4 networks in a direction whose verdicts are kept (one bit each in the key). */
export const MEMO_NETS = 16;

const NO_NETS = new Uint32Array(0);

// The memo's kind and the distinct IPv4 (network, mask) pairs of the rules' peers.
function memoOf(rules: readonly CompiledRule[]): { kind: number; nets: Uint32Array } {
  const none = { kind: MEMO.NONE, nets: NO_NETS };
  let local = false;
  let remote = false;
  const seen = new Set<string>();
  const pairs: number[] = [];
  const add = (nets: CompiledNets | null): boolean => {
    if (nets === null) return true;
    if (nets.v6.length > 0) return false;
    for (let i = 0; i < nets.v4.length; i += 2) {
      const key = `${nets.v4[i]}/${nets.v4[i + 1]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push(nets.v4[i] as number, nets.v4[i + 1] as number);
    }
    return true;
  };
  for (const c of rules) {
    if (c.localAddresses !== null || c.rule.l7 !== undefined) return none;
    if (!c.anyPeer) for (const atom of c.atoms) if (!add(atom.nets) || !add(atom.except)) return none;
    local ||= c.localPorts !== null || c.localNotPorts !== null;
    remote ||= c.remotePorts !== null || c.remoteNotPorts !== null;
  }
  if ((local && remote) || pairs.length > MEMO_NETS * 2) return none;
  return { kind: local ? MEMO.LOCAL_PORT : remote ? MEMO.REMOTE_PORT : MEMO.NO_PORT, nets: Uint32Array.from(pairs) };
}

/** An endpoint as evaluation needs it: one object, no optional fields. */
export class CompiledEndpoint {
  constructor(
    readonly indexed: IndexedEndpoint,
    readonly ref: EndpointRef,
    readonly identity: NumericIdentity,
    readonly host: boolean,
    /** The node, when known (a host endpoint without one is `remote-node` to everyone). */
    readonly node: string | undefined,
    /** Its first address, the one a flow naming only the endpoint uses. */
    readonly address: IpAddress | undefined,
    /** `address` as an unsigned 32-bit number; -1 when not IPv4. */
    readonly v4: number,
    /** Null when the index has no effective rules for it (no verdict for the direction). */
    readonly ingress: CompiledDirection | null,
    readonly egress: CompiledDirection | null,
  ) {}
}

/** An IPv4 address's bytes as an unsigned 32-bit number. */
export const toV4 = (bytes: readonly number[]): number => (((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0;
const maskOf = (length: number): number => (length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0);

function compileNets(texts: readonly string[] | undefined): CompiledNets | null {
  if (texts === undefined) return null;
  const cidrs = texts.map(parseCidr).filter((c): c is Cidr => c !== undefined);
  const v4 = cidrs.filter((c) => c.family === 4);
  const packed = new Uint32Array(v4.length * 2);
  v4.forEach((c, i) => {
    packed[i * 2] = toV4(c.bytes);
    packed[i * 2 + 1] = maskOf(c.prefixLength);
  });
  return new CompiledNets(packed, cidrs.filter((c) => c.family === 6));
}

function compilePorts(ports: readonly ResolvedPort[] | undefined): Int32Array | null {
  if (ports === undefined) return null;
  const out = new Int32Array(ports.length * 3);
  ports.forEach((p, i) => {
    out[i * 3] = p.first;
    out[i * 3 + 1] = p.last;
    out[i * 3 + 2] = p.protocol ?? -1;
  });
  return out;
}

// Compiled rules ride on the effective rules under a symbol, not enumerable: invisible
// to drivers, JSON and equality, and shared by every endpoint holding the rule object.
// (WeakMaps holding every rule made each minor GC walk them: evaluation ran 10x slower
// at 5,000 endpoints than at 100.)
const COMPILED = Symbol('twill.compiled');

// Resolved peers are shared by the rules (and endpoints) that resolve to the same
// atoms, and so are their compiled forms: fewer identity sets to keep in cache.
function compileAtom(atom: PeerAtom): CompiledAtom {
  const found = (atom as PeerAtom & { [COMPILED]?: CompiledAtom })[COMPILED];
  if (found !== undefined) return found;
  const ids = atom.identities === undefined ? undefined : identityBits(atom.identities);
  const compiled = new CompiledAtom(atom.identities ?? null, ids?.base ?? 0, ids?.bits ?? null, compileNets(atom.cidrs), compileNets(atom.except));
  Object.defineProperty(atom, COMPILED, { value: compiled, enumerable: false });
  return compiled;
}

function compileRule(rule: EffectiveRule): CompiledRule {
  const found = (rule as EffectiveRule & { [COMPILED]?: CompiledRule })[COMPILED];
  if (found !== undefined) return found;
  const atoms = rule.remote.peers.map(compileAtom);
  const compiled = new CompiledRule(
    rule, ACTION_CODE[rule.action], rule.protocol ?? -1, rule.notProtocol ?? -1, rule.icmp ?? null, rule.notIcmp ?? null,
    rule.local.addresses ?? null, compilePorts(rule.local.ports), compilePorts(rule.local.notPorts),
    compilePorts(rule.remote.ports), compilePorts(rule.remote.notPorts),
    atoms.some((a) => a.idBits === null && a.nets === null), atoms,
  );
  Object.defineProperty(rule, COMPILED, { value: compiled, enumerable: false });
  return compiled;
}

/** The verdict a rule gives when it decides. */
export function ruleVerdict(direction: 'ingress' | 'egress', endpoint: EndpointRef, tier: string, rule: EffectiveRule, l7: readonly L7Rules[]): IndexDirectionVerdict {
  const decidedBy: RuleHit = { policy: rule.policy, tier, ruleIndex: rule.ruleIndex, origin: rule.origin, action: rule.action };
  return Object.freeze({ direction, endpoint, allowed: rule.action === 'allow', reason: 'rule', decidedBy, l7 });
}

// A port constraint the code holds: none, or exactly one range.
const oneRange = (ports: Int32Array | null): boolean => ports === null || ports.length === 3;

function encodeRule(code: Int32Array, at: number, c: CompiledRule): void {
  const full = c.notProtocol >= 0 || c.icmp !== null || c.notIcmp !== null || c.localAddresses !== null
    || c.localNotPorts !== null || c.remoteNotPorts !== null || !oneRange(c.localPorts) || !oneRange(c.remotePorts);
  const only = c.atoms.length === 1 ? c.atoms[0] : undefined;
  const net = only !== undefined && only.idBits === null && only.except === null && only.nets !== null && only.nets.v6.length === 0 && only.nets.v4.length === 2;
  const ids = only?.nets === null ? (only.ids ?? []) : [];
  const few = ids.length === 1 || ids.length === 2;
  code[at + CODE.ACTION] = c.action;
  code[at + CODE.CHECK] = full ? PEER_CHECK.FULL : c.anyPeer ? PEER_CHECK.ANY : net ? PEER_CHECK.NET : few ? PEER_CHECK.IDS : only === undefined ? PEER_CHECK.ATOMS : PEER_CHECK.ATOM;
  code[at + CODE.ID0] = ids[0] ?? -1;
  code[at + CODE.ID1] = ids[1] ?? ids[0] ?? -1;
  code[at + CODE.NET] = net ? (only.nets?.v4[0] ?? 0) | 0 : 0;
  code[at + CODE.MASK] = net ? (only.nets?.v4[1] ?? 0) | 0 : 0;
  code[at + CODE.PROTOCOL] = c.protocol;
  code[at + CODE.LOCAL_FIRST] = c.localPorts?.[0] ?? -1;
  code[at + CODE.LOCAL_LAST] = c.localPorts?.[1] ?? -1;
  code[at + CODE.LOCAL_PROTOCOL] = c.localPorts?.[2] ?? -1;
  code[at + CODE.REMOTE_FIRST] = c.remotePorts?.[0] ?? -1;
  code[at + CODE.REMOTE_LAST] = c.remotePorts?.[1] ?? -1;
  code[at + CODE.REMOTE_PROTOCOL] = c.remotePorts?.[2] ?? -1;
}

function compileDirection(direction: 'ingress' | 'egress', endpoint: EndpointRef, effective: EffectiveDirection): CompiledDirection {
  const rules: CompiledRule[] = [];
  const ruleVerdicts: (IndexDirectionVerdict | null)[] = [];
  const tierEnds: number[] = [];
  const tierNames: string[] = [];
  const isolated: (IndexDirectionVerdict | null)[] = [];
  for (const tier of effective.tiers) {
    for (const rule of tier.rules) {
      rules.push(compileRule(rule));
      ruleVerdicts.push(null);
    }
    tierEnds.push(rules.length);
    tierNames.push(tier.tier);
    isolated.push(tier.end === 'deny'
      ? Object.freeze({ direction, endpoint, allowed: false, reason: 'isolated', isolatedBy: tier.isolatedBy, l7: NO_L7 })
      : null);
  }
  const base = 1 + tierEnds.length;
  const code = new Int32Array(base + rules.length * CODE.STRIDE);
  code[0] = tierEnds.length;
  code.set(tierEnds, 1);
  rules.forEach((c, i) => encodeRule(code, base + i * CODE.STRIDE, c));
  const passed: IndexDirectionVerdict = Object.freeze({ direction, endpoint, allowed: true, reason: effective.tiers.length === 0 ? 'not-selected' : 'passed', l7: NO_L7 });
  const atoms = rules.map((c) => (c.atoms.length === 1 ? (c.atoms[0] ?? null) : null));
  const memo = memoOf(rules);
  return new CompiledDirection(direction, endpoint, code, rules, atoms, ruleVerdicts, isolated, passed, tierNames, memo.kind, memo.nets);
}

/** Compiles an endpoint and its effective rules (`undefined`: no verdicts for it). */
export function compileEndpoint(indexed: IndexedEndpoint, effective: EndpointPolicy | undefined): CompiledEndpoint {
  const address = indexed.addresses[0];
  const ref = indexed.ref;
  return new CompiledEndpoint(
    indexed, ref, indexed.identity, indexed.endpoint.kind === 'host', indexed.endpoint.node,
    address, address?.family === 4 ? toV4(address.bytes) : -1,
    effective === undefined ? null : compileDirection('ingress', ref, effective.ingress),
    effective === undefined ? null : compileDirection('egress', ref, effective.egress),
  );
}
