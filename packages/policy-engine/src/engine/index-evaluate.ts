// Flow evaluation over an index's precomputed effective rules. Each resolved rule is
// compiled once (identity sets, IPv4 prefixes as 32-bit masks) and shared by every
// endpoint that has it; a flow then costs two endpoint lookups and a walk over the
// local endpoint's rules.

import { FlowError } from '../errors.js';
import { RESERVED_IDENTITY, type NumericIdentity } from '../identity/reserved.js';
import { cidrContainsAddress, parseCidr, parseIpAddress, type Cidr, type IpAddress } from '../model/cidr.js';
import { formatEndpointRef, PROTOCOL, protocolNumber, type EndpointRef, type ProtocolNumber } from '../model/endpoint.js';
import { type Flow, type FlowPeer } from '../model/flow.js';
import { type IcmpMatch, type L7Rules, type PolicyRef } from '../model/policy.js';
import { type RuleHit, type VerdictReason } from '../evaluate/evaluate.js';
import { type IndexedEndpoint } from '../evaluate/snapshot.js';
import { type EffectiveDirection, type EffectiveRule, type EffectiveTier, type EndpointPolicy, type PeerAtom, type ResolvedPort } from './types.js';

/** The verdict of one enforcement point, as the index decides it. */
export interface IndexDirectionVerdict {
  readonly direction: 'ingress' | 'egress';
  readonly endpoint: EndpointRef;
  readonly allowed: boolean;
  readonly reason: VerdictReason;
  /** The rule that decided, when `reason` is `rule`. */
  readonly decidedBy?: RuleHit;
  /** The isolating policies of the tier whose default denied, when `reason` is `isolated`. */
  readonly isolatedBy?: readonly PolicyRef[];
  /** L7 rules the allowed traffic must still satisfy. */
  readonly l7: readonly L7Rules[];
}

/** The result of `PolicyIndex.evaluate`. */
export interface IndexVerdict {
  readonly allowed: boolean;
  /** The source's identity as the destination's rules see it (and the other way round for the destination). */
  readonly sourceIdentity: NumericIdentity;
  readonly destinationIdentity: NumericIdentity;
  readonly egress?: IndexDirectionVerdict;
  readonly ingress?: IndexDirectionVerdict;
}

/** An endpoint as the index holds it. */
export interface EvaluatedEndpoint {
  readonly indexed: IndexedEndpoint;
  readonly effective?: EndpointPolicy;
}

/** What evaluation asks of the index. */
export interface IndexLookups {
  endpoint(ref: EndpointRef): EvaluatedEndpoint | undefined;
  byAddress(text: string): EvaluatedEndpoint | undefined;
  /** The identity of an address that is no endpoint's (world, kube-apiserver). */
  remoteIdentity(address: IpAddress): NumericIdentity;
}

interface CompiledNets {
  readonly v4: Uint32Array;
  readonly v6: readonly Cidr[];
}

// Compiled forms are classes with every field always present, so the hot loop reads
// monomorphic shapes (effective rules come in many shapes: optional fields).
class CompiledAtom {
  constructor(
    readonly ids: ReadonlySet<number> | null,
    readonly nets: CompiledNets | null,
    readonly except: CompiledNets | null,
  ) {}
}

const ACTION_CODE = { allow: 0, deny: 1, pass: 2, log: 3 } as const;

class CompiledRule {
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
    readonly anyPeer: boolean,
    readonly atoms: readonly CompiledAtom[],
  ) {}
}

class CompiledTier {
  constructor(
    readonly tier: EffectiveTier,
    readonly rules: readonly CompiledRule[],
  ) {}
}

interface Side {
  readonly entry: EvaluatedEndpoint | undefined;
  readonly address: IpAddress | undefined;
  /** The IPv4 address as an unsigned 32-bit number; -1 otherwise. */
  readonly v4: number;
  readonly port: number;
}

// Compiled forms ride on the effective rules under a symbol, not enumerable: invisible
// to drivers, JSON and equality. (WeakMaps holding every rule and direction made each
// minor GC walk them: evaluation ran 10x slower at 5,000 endpoints than at 100.)
const COMPILED = Symbol('twill.compiled');
type WithCompiled<T, C> = T & { [COMPILED]?: C };

function attach<T extends object, C>(target: T, value: C): C {
  Object.defineProperty(target, COMPILED, { value, enumerable: false });
  return value;
}
const protocols = new Map<string, ProtocolNumber | undefined>();

const toV4 = (bytes: readonly number[]): number => (((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0;
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
  return { v4: packed, v6: cidrs.filter((c) => c.family === 6) };
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

function compileRule(rule: EffectiveRule): CompiledRule {
  const result = (rule as WithCompiled<EffectiveRule, CompiledRule>)[COMPILED];
  if (result !== undefined) return result;
  {
    const atoms = rule.remote.peers.map((a: PeerAtom) => new CompiledAtom(
      a.identities === undefined ? null : new Set<number>(a.identities), compileNets(a.cidrs), compileNets(a.except)));
    return attach(rule, new CompiledRule(
      rule, ACTION_CODE[rule.action], rule.protocol ?? -1, rule.notProtocol ?? -1, rule.icmp ?? null, rule.notIcmp ?? null,
      rule.local.addresses ?? null, compilePorts(rule.local.ports), compilePorts(rule.local.notPorts),
      compilePorts(rule.remote.ports), compilePorts(rule.remote.notPorts),
      atoms.some((a) => a.ids === null && a.nets === null), atoms,
    ));
  }
}

function compileDirection(direction: EffectiveDirection): readonly CompiledTier[] {
  const result = (direction as WithCompiled<EffectiveDirection, readonly CompiledTier[]>)[COMPILED];
  if (result !== undefined) return result;
  return attach(direction, direction.tiers.map((tier) => new CompiledTier(tier, tier.rules.map(compileRule))));
}

function inNets(nets: CompiledNets, side: Side): boolean {
  if (side.v4 >= 0) {
    const v4 = nets.v4;
    for (let i = 0; i < v4.length; i += 2) if (((side.v4 & (v4[i + 1] as number)) >>> 0) === v4[i]) return true;
    return false;
  }
  const address = side.address;
  return address !== undefined && nets.v6.some((c) => cidrContainsAddress(c, address));
}

function inPorts(ports: Int32Array, port: number, protocol: number): boolean {
  if (port < 0) return false;
  for (let i = 0; i < ports.length; i += 3) {
    if (port >= (ports[i] as number) && port <= (ports[i + 1] as number) && ((ports[i + 2] as number) < 0 || ports[i + 2] === protocol)) return true;
  }
  return false;
}

function matchIcmp(match: IcmpMatch, protocol: number, icmp: Flow['icmp']): boolean {
  if (protocol !== PROTOCOL.ICMP && protocol !== PROTOCOL.ICMPV6) return false;
  if (match.type === undefined) return true;
  if (icmp?.type !== match.type) return false;
  return match.code === undefined || icmp.code === match.code;
}

class Traffic {
  constructor(
    readonly protocol: number,
    readonly icmp: Flow['icmp'],
    readonly local: Side,
    readonly remote: Side,
    readonly remoteIdentity: number,
  ) {}
}

function matches(c: CompiledRule, t: Traffic): boolean {
  if (c.protocol >= 0 && c.protocol !== t.protocol) return false;
  if (c.notProtocol >= 0 && c.notProtocol === t.protocol) return false;
  if (c.icmp !== null && !matchIcmp(c.icmp, t.protocol, t.icmp)) return false;
  if (c.notIcmp !== null && matchIcmp(c.notIcmp, t.protocol, t.icmp)) return false;
  if (c.localAddresses !== null && (t.local.address === undefined || !c.localAddresses.includes(t.local.address.text))) return false;
  if (c.localPorts !== null && !inPorts(c.localPorts, t.local.port, t.protocol)) return false;
  if (c.localNotPorts !== null && inPorts(c.localNotPorts, t.local.port, t.protocol)) return false;
  if (c.remotePorts !== null && !inPorts(c.remotePorts, t.remote.port, t.protocol)) return false;
  if (c.remoteNotPorts !== null && inPorts(c.remoteNotPorts, t.remote.port, t.protocol)) return false;
  if (c.anyPeer) return true;
  const atoms = c.atoms;
  for (let i = 0; i < atoms.length; i += 1) {
    const atom = atoms[i] as CompiledAtom;
    if (atom.ids !== null && !atom.ids.has(t.remoteIdentity)) continue;
    if (atom.nets !== null && (t.remote.address === undefined || !inNets(atom.nets, t.remote) || (atom.except !== null && inNets(atom.except, t.remote)))) continue;
    return true;
  }
  return false;
}

const sameRule = (a: EffectiveRule, b: EffectiveRule): boolean => a.policy === b.policy && a.ruleIndex === b.ruleIndex;

// Allows of the same order add up (README, "Precedence"), as `evaluate` does.
function collectL7(rules: readonly CompiledRule[], from: number, t: Traffic): L7Rules[] {
  const first = (rules[from] as CompiledRule).rule;
  if (first.l7 === undefined) return [];
  const l7: L7Rules[] = [first.l7];
  let last = first;
  for (let i = from + 1; i < rules.length; i += 1) {
    const compiled = rules[i] as CompiledRule;
    const rule = compiled.rule;
    if (rule.order !== first.order) break;
    if (sameRule(rule, first) || rule.action !== 'allow' || !matches(compiled, t)) continue;
    if (rule.l7 === undefined) return [];
    if (sameRule(rule, last)) continue;
    l7.push(rule.l7);
    last = rule;
  }
  return l7;
}

function decide(direction: 'ingress' | 'egress', local: EvaluatedEndpoint, rules: EffectiveDirection, t: Traffic): IndexDirectionVerdict {
  const endpoint = local.indexed.ref;
  const tiers = compileDirection(rules);
  if (tiers.length === 0) return { direction, endpoint, allowed: true, reason: 'not-selected', l7: [] };
  tiers: for (let k = 0; k < tiers.length; k += 1) {
    const tier = tiers[k] as CompiledTier;
    const list = tier.rules;
    for (let i = 0; i < list.length; i += 1) {
      const compiled = list[i] as CompiledRule;
      if (!matches(compiled, t)) continue;
      if (compiled.action === ACTION_CODE.log) continue;
      if (compiled.action === ACTION_CODE.pass) continue tiers;
      const rule = compiled.rule;
      const allowed = compiled.action === ACTION_CODE.allow;
      const decidedBy: RuleHit = { policy: rule.policy, tier: tier.tier.tier, ruleIndex: rule.ruleIndex, origin: rule.origin, action: rule.action };
      return { direction, endpoint, allowed, reason: 'rule', decidedBy, l7: allowed ? collectL7(list, i, t) : [] };
    }
    if (tier.tier.end === 'deny') return { direction, endpoint, allowed: false, reason: 'isolated', isolatedBy: tier.tier.isolatedBy, l7: [] };
  }
  return { direction, endpoint, allowed: true, reason: 'passed', l7: [] };
}

function resolveSide(peer: FlowPeer, port: number | undefined, lookups: IndexLookups, path: string): Side {
  let entry: EvaluatedEndpoint | undefined;
  let address: IpAddress | undefined;
  if ('endpoint' in peer) {
    entry = lookups.endpoint(peer.endpoint);
    if (entry === undefined) throw new FlowError(`${path}.endpoint`, `no endpoint ${formatEndpointRef(peer.endpoint)} in the index`);
    if (peer.ip === undefined) {
      address = entry.indexed.addresses[0];
    } else {
      const text = peer.ip;
      address = entry.indexed.addresses.find((a) => a.text === text) ?? entry.indexed.addresses.find((a) => a.text === parseIpAddress(text)?.text);
      if (address === undefined) throw new FlowError(`${path}.ip`, `${JSON.stringify(peer.ip)} is not an address of ${formatEndpointRef(peer.endpoint)}`);
    }
  } else {
    address = parseIpAddress(peer.ip);
    if (address === undefined) throw new FlowError(`${path}.ip`, `invalid IP address ${JSON.stringify(peer.ip)}`);
    entry = lookups.byAddress(address.text);
  }
  return { entry, address, v4: address?.family === 4 ? toV4(address.bytes) : -1, port: port ?? -1 };
}

// The remote side's identity as `local`'s rules see it: host endpoints are `host` on
// the local endpoint's node and `remote-node` elsewhere.
function identityOf(side: Side, local: Side | undefined, lookups: IndexLookups): NumericIdentity {
  const endpoint = side.entry?.indexed;
  if (endpoint !== undefined) {
    if (endpoint.endpoint.kind !== 'host') return endpoint.identity;
    const node = endpoint.endpoint.node;
    return node !== undefined && node === local?.entry?.indexed.endpoint.node ? RESERVED_IDENTITY.HOST : RESERVED_IDENTITY.REMOTE_NODE;
  }
  return side.address === undefined ? RESERVED_IDENTITY.WORLD : lookups.remoteIdentity(side.address);
}

/**
 * Decides `flow` from precomputed effective rules (what `PolicyIndex.evaluate` does).
 * @throws {FlowError} for an unknown endpoint, a bad address or an unknown protocol.
 */
export function evaluateIndexed(flow: Flow, lookups: IndexLookups): IndexVerdict {
  let protocol: ProtocolNumber | undefined;
  if (typeof flow.protocol === 'number') {
    protocol = protocolNumber(flow.protocol);
  } else {
    if (!protocols.has(flow.protocol)) protocols.set(flow.protocol, protocolNumber(flow.protocol));
    protocol = protocols.get(flow.protocol);
  }
  if (protocol === undefined) throw new FlowError('protocol', `unknown protocol ${JSON.stringify(flow.protocol)}`);
  const source = resolveSide(flow.source, flow.sourcePort, lookups, 'source');
  const destination = resolveSide(flow.destination, flow.destinationPort, lookups, 'destination');
  const sourceIdentity = identityOf(source, destination, lookups);
  const destinationIdentity = identityOf(destination, source, lookups);
  const direction = flow.direction ?? 'both';
  const icmp = flow.icmp;
  const egress = direction !== 'ingress' && source.entry?.effective !== undefined
    ? decide('egress', source.entry, source.entry.effective.egress, new Traffic(protocol, icmp, source, destination, destinationIdentity))
    : undefined;
  const ingress = direction !== 'egress' && destination.entry?.effective !== undefined
    ? decide('ingress', destination.entry, destination.entry.effective.ingress, new Traffic(protocol, icmp, destination, source, sourceIdentity))
    : undefined;
  return {
    allowed: (egress?.allowed ?? true) && (ingress?.allowed ?? true),
    sourceIdentity,
    destinationIdentity,
    ...(egress === undefined ? {} : { egress }),
    ...(ingress === undefined ? {} : { ingress }),
  };
}
