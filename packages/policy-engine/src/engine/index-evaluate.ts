// Flow evaluation over an index's compiled effective rules (see compiled-rules.ts). A
// flow costs two endpoint lookups (or one cached address lookup), the peer identity
// computed once per side, and a walk over the local endpoint's flat rule list. The hot
// path allocates one object per flow, the returned verdict: the sides and the traffic
// being matched are scratch objects of the evaluator, and a direction's verdict is one
// the compiled endpoint holds already, except for an Allow carrying L7 rules (those
// add up over the flow's matching same-order allows, so they are collected per flow).

import { FlowError } from '../errors.js';
import { RESERVED_IDENTITY, type NumericIdentity } from '../identity/reserved.js';
import { cidrContainsAddress, parseIpAddress, type IpAddress } from '../model/cidr.js';
import { formatEndpointRef, PROTOCOL, protocolNumber } from '../model/endpoint.js';
import { type Flow, type FlowPeer } from '../model/flow.js';
import { type IcmpMatch, type L7Rules } from '../model/policy.js';
import {
  ACTION_CODE,
  atomHasIdentity,
  CODE,
  MEMO,
  NO_L7,
  PEER_CHECK,
  ruleVerdict,
  toV4,
  type CompiledAtom,
  type CompiledDirection,
  type CompiledEndpoint,
  type CompiledNets,
  type CompiledRule,
  type IndexDirectionVerdict,
} from './compiled-rules.js';
import { VerdictMemo } from './verdict-memo.js';

export type { IndexDirectionVerdict } from './compiled-rules.js';

/**
 * The result of `PolicyIndex.evaluate`. The direction verdicts are shared between
 * flows that end the same way, and frozen: do not mutate them.
 */
export interface IndexVerdict {
  /** Whether every evaluated enforcement point allowed the flow. */
  readonly allowed: boolean;
  /** The source's identity as the destination's rules see it (and the other way round for the destination). */
  readonly sourceIdentity: NumericIdentity;
  /** The destination's identity as the source's rules see it. */
  readonly destinationIdentity: NumericIdentity;
  /** The source's egress verdict; absent when the source is not an endpoint of the index (or the flow's direction is `ingress`). */
  readonly egress?: IndexDirectionVerdict;
  /** The destination's ingress verdict; absent when the destination is not an endpoint of the index (or the flow's direction is `egress`). */
  readonly ingress?: IndexDirectionVerdict;
}

/** What evaluation asks of the index. */
export interface IndexLookups {
  /** The compiled endpoint with this namespace (absent: a host endpoint) and name. */
  endpoint(namespace: string | undefined, name: string): CompiledEndpoint | undefined;
  /** The compiled endpoint holding a canonical address. */
  byAddress(text: string): CompiledEndpoint | undefined;
  /** The identity of an address that is no endpoint's (world, kube-apiserver). */
  remoteIdentity(address: IpAddress): NumericIdentity;
}

/** An address text resolved once: parsed, its owner, and its identity when it has none. */
class ResolvedAddress {
  constructor(
    readonly address: IpAddress,
    readonly v4: number,
    readonly owner: CompiledEndpoint | undefined,
    readonly identity: NumericIdentity,
  ) {}
}

/** One side of the flow being evaluated (scratch: rewritten by every evaluation). */
class Side {
  entry: CompiledEndpoint | undefined = undefined;
  address: IpAddress | undefined = undefined;
  /** The IPv4 address as an unsigned 32-bit number; -1 otherwise. */
  v4 = -1;
  port = -1;
  /** The identity of an address that is no endpoint's. */
  outside: NumericIdentity = RESERVED_IDENTITY.WORLD;
}

/** The flow from one enforcement point's view (scratch). */
class Traffic {
  protocol = -1;
  icmp: Flow['icmp'] = undefined;
  localAddress: IpAddress | undefined = undefined;
  localPort = -1;
  remoteAddress: IpAddress | undefined = undefined;
  remoteV4 = -1;
  remotePort = -1;
  remoteIdentity = 0;
}

function inNets(nets: CompiledNets, t: Traffic): boolean {
  if (t.remoteV4 >= 0) {
    const v4 = nets.v4;
    const address = t.remoteV4;
    for (let i = 0; i < v4.length; i += 2) if (((address & (v4[i + 1] as number)) >>> 0) === v4[i]) return true;
    return false;
  }
  const address = t.remoteAddress;
  if (address === undefined) return false;
  for (const cidr of nets.v6) if (cidrContainsAddress(cidr, address)) return true;
  return false;
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

function matchesLocalAddress(addresses: readonly string[], address: IpAddress | undefined): boolean {
  if (address === undefined) return false;
  for (const text of addresses) if (text === address.text) return true;
  return false;
}

function matchesAtom(atom: CompiledAtom, t: Traffic): boolean {
  if (atom.idBits !== null && !atomHasIdentity(atom.idBits, atom.idBase, t.remoteIdentity)) return false;
  return atom.nets === null || (t.remoteAddress !== undefined && inNets(atom.nets, t) && (atom.except === null || !inNets(atom.except, t)));
}

function matchesPeer(c: CompiledRule, t: Traffic): boolean {
  const atoms = c.atoms;
  for (let i = 0; i < atoms.length; i += 1) {
    const atom = atoms[i];
    if (atom !== undefined && matchesAtom(atom, t)) return true;
  }
  return false;
}

function matches(c: CompiledRule, t: Traffic): boolean {
  if (c.protocol >= 0 && c.protocol !== t.protocol) return false;
  if (c.notProtocol >= 0 && c.notProtocol === t.protocol) return false;
  if (c.icmp !== null && !matchIcmp(c.icmp, t.protocol, t.icmp)) return false;
  if (c.notIcmp !== null && matchIcmp(c.notIcmp, t.protocol, t.icmp)) return false;
  if (c.localAddresses !== null && !matchesLocalAddress(c.localAddresses, t.localAddress)) return false;
  if (c.localPorts !== null && !inPorts(c.localPorts, t.localPort, t.protocol)) return false;
  if (c.localNotPorts !== null && inPorts(c.localNotPorts, t.localPort, t.protocol)) return false;
  if (c.remotePorts !== null && !inPorts(c.remotePorts, t.remotePort, t.protocol)) return false;
  if (c.remoteNotPorts !== null && inPorts(c.remoteNotPorts, t.remotePort, t.protocol)) return false;
  return c.anyPeer || matchesPeer(c, t);
}

// A rule as its code holds it (see CODE): `inPorts` over one range, inline.
function matchesCode(code: Int32Array, at: number, direction: CompiledDirection, i: number, t: Traffic): boolean {
  const check = code[at + CODE.CHECK];
  if (check === PEER_CHECK.FULL) return matches(direction.rules[i] as CompiledRule, t);
  const protocol = code[at + CODE.PROTOCOL] as number;
  if (protocol >= 0 && protocol !== t.protocol) return false;
  const localFirst = code[at + CODE.LOCAL_FIRST] as number;
  if (localFirst >= 0) {
    const port = t.localPort;
    const only = code[at + CODE.LOCAL_PROTOCOL] as number;
    if (port < localFirst || port > (code[at + CODE.LOCAL_LAST] as number) || (only >= 0 && only !== t.protocol)) return false;
  }
  const remoteFirst = code[at + CODE.REMOTE_FIRST] as number;
  if (remoteFirst >= 0) {
    const port = t.remotePort;
    const only = code[at + CODE.REMOTE_PROTOCOL] as number;
    if (port < remoteFirst || port > (code[at + CODE.REMOTE_LAST] as number) || (only >= 0 && only !== t.protocol)) return false;
  }
  switch (check) {
    case PEER_CHECK.ANY:
      return true;
    case PEER_CHECK.NET:
      return t.remoteV4 >= 0 && ((t.remoteV4 & (code[at + CODE.MASK] as number)) | 0) === code[at + CODE.NET];
    case PEER_CHECK.IDS:
      return t.remoteIdentity === code[at + CODE.ID0] || t.remoteIdentity === code[at + CODE.ID1];
    case PEER_CHECK.ATOM:
      return matchesAtom(direction.atoms[i] as CompiledAtom, t);
    default:
      return matchesPeer(direction.rules[i] as CompiledRule, t);
  }
}

// Allows of the same order add up (README, "Precedence"), as `evaluate` does. Only an
// Allow with L7 rules gets here; `end` is one past its tier's last rule.
function collectL7(rules: readonly CompiledRule[], from: number, end: number, t: Traffic): readonly L7Rules[] {
  const first = (rules[from] as CompiledRule).rule;
  if (first.l7 === undefined) return NO_L7;
  const l7: L7Rules[] = [first.l7];
  let last = first;
  for (let i = from + 1; i < end; i += 1) {
    const compiled = rules[i] as CompiledRule;
    const rule = compiled.rule;
    if (rule.order !== first.order) break;
    if ((rule.policy === first.policy && rule.ruleIndex === first.ruleIndex) || rule.action !== 'allow' || !matches(compiled, t)) continue;
    if (rule.l7 === undefined) return NO_L7;
    if (rule.policy === last.policy && rule.ruleIndex === last.ruleIndex) continue;
    l7.push(rule.l7);
    last = rule;
  }
  return l7;
}

// The verdict of rule i (in tier `tierIndex`), which decided: kept for the next flow unless it is an Allow
// with L7 rules (those add up over the flow's matching same-order allows).
function ruleDecided(direction: CompiledDirection, tierIndex: number, i: number, end: number, t: Traffic): IndexDirectionVerdict {
  const rules = direction.rules;
  const rule = (rules[i] as CompiledRule).rule;
  const tier = direction.tierNames[tierIndex] ?? '';
  if (rule.action === 'allow' && rule.l7 !== undefined) return ruleVerdict(direction.direction, direction.endpoint, tier, rule, collectL7(rules, i, end, t));
  const verdict = ruleVerdict(direction.direction, direction.endpoint, tier, rule, NO_L7);
  direction.ruleVerdicts[i] = verdict;
  return verdict;
}

// First match decides (Allow, Deny), leaves the tier (Pass) or is only recorded (Log);
// a tier no rule decided ends in its default.
function decide(direction: CompiledDirection, t: Traffic): IndexDirectionVerdict {
  const code = direction.code;
  const tiers = code[0] as number;
  const base = 1 + tiers;
  let i = 0;
  for (let k = 0; k < tiers; k += 1) {
    const end = code[1 + k] as number;
    let passed = false;
    for (; i < end; i += 1) {
      const at = base + i * CODE.STRIDE;
      const action = code[at + CODE.ACTION];
      if (action === ACTION_CODE.log || !matchesCode(code, at, direction, i, t)) continue;
      if (action === ACTION_CODE.pass) {
        passed = true;
        break;
      }
      return direction.ruleVerdicts[i] ?? ruleDecided(direction, k, i, end, t);
    }
    i = end;
    const isolated = direction.isolated[k];
    if (!passed && isolated !== null && isolated !== undefined) return isolated;
  }
  return direction.passed;
}

// `decide` through the direction's memo when its verdicts depend only on the remote
// identity, which of the rules' IPv4 networks the remote address is in, the protocol
// and one port (see MEMO): most flows repeat those, and the walk over the direction's
// rules is most of what a flow costs. Verdicts with L7 rules are never kept (such
// directions have no memo). The memo goes with the compiled endpoint, which the index
// drops whenever the endpoint or its effective rules change.
function decideKept(direction: CompiledDirection, t: Traffic): IndexDirectionVerdict {
  const kind = direction.memoKind;
  const identity = t.remoteIdentity;
  const protocol = t.protocol;
  const slot = protocol === PROTOCOL.TCP ? 0 : protocol === PROTOCOL.UDP ? 1 : protocol === PROTOCOL.SCTP ? 2 : -1;
  if (kind === MEMO.NONE || slot < 0 || identity > 0xffff) return decide(direction, t);
  const port = kind === MEMO.LOCAL_PORT ? t.localPort : kind === MEMO.REMOTE_PORT ? t.remotePort : -1;
  // Which networks hold the remote address: an IPv6 address or none is in none of them.
  let inside = 0;
  const v4 = t.remoteV4;
  if (v4 >= 0) {
    const nets = direction.memoNets;
    for (let i = 0; i < nets.length; i += 2) if (((v4 & (nets[i + 1] as number)) >>> 0) === nets[i]) inside |= 1 << (i >>> 1);
  }
  // inside < 2^16, identity < 2^16, slot < 2^2, port + 1 < 2^17: under 2^51, exact in a double.
  const key = (((inside * 65_536 + identity) * 4 + slot) * 131_072) + port + 1;
  // The parts mixed apart (multiplicative hashing); the memo takes the slot from the low bits.
  const hash = (Math.imul(identity ^ (inside << 16), 0x9e3779b1) ^ Math.imul(slot * 131_072 + port + 1, 0x85ebca6b)) >>> 12;
  let memo = direction.memo;
  if (memo === null) {
    memo = new VerdictMemo();
    direction.memo = memo;
  }
  let verdict = memo.get(key, hash);
  if (verdict === undefined) {
    verdict = decide(direction, t);
    memo.set(key, hash, verdict);
  }
  return verdict;
}

// Resolutions of bare addresses are kept until the index changes; the bound keeps a
// stream of distinct outside addresses from growing the map without end.
const ADDRESS_CACHE_LIMIT = 65_536;

/**
 * Decides flows from an index's compiled rules (what `PolicyIndex.evaluate` does). Not
 * reentrant: it evaluates into scratch objects of its own.
 */
export class FlowEvaluator {
  readonly #lookups: IndexLookups;
  readonly #addresses = new Map<string, ResolvedAddress | null>();
  readonly #protocols = new Map<string, number>();
  readonly #source = new Side();
  readonly #destination = new Side();
  readonly #traffic = new Traffic();

  constructor(lookups: IndexLookups) {
    this.#lookups = lookups;
  }

  /** Forgets what was cached about addresses: call after every change to the index. */
  invalidate(): void {
    this.#addresses.clear();
  }

  /**
   * Decides `flow`.
   * @throws {FlowError} for an unknown endpoint, a bad address or an unknown protocol.
   */
  evaluate(flow: Flow): IndexVerdict {
    const protocol = this.#protocol(flow.protocol);
    const source = this.#resolveSide(flow.source, flow.sourcePort, this.#source, 'source');
    const destination = this.#resolveSide(flow.destination, flow.destinationPort, this.#destination, 'destination');
    const sourceIdentity = identityOf(source, destination);
    const destinationIdentity = identityOf(destination, source);
    const direction = flow.direction;
    const t = this.#traffic;
    t.protocol = protocol;
    t.icmp = flow.icmp;
    let egress: IndexDirectionVerdict | undefined;
    let ingress: IndexDirectionVerdict | undefined;
    const rulesOut = source.entry?.egress ?? null;
    if (direction !== 'ingress' && rulesOut !== null) {
      view(t, source, destination, destinationIdentity);
      egress = decideKept(rulesOut, t);
    }
    const rulesIn = destination.entry?.ingress ?? null;
    if (direction !== 'egress' && rulesIn !== null) {
      view(t, destination, source, sourceIdentity);
      ingress = decideKept(rulesIn, t);
    }
    const allowed = (egress?.allowed ?? true) && (ingress?.allowed ?? true);
    if (egress === undefined) return ingress === undefined ? { allowed, sourceIdentity, destinationIdentity } : { allowed, sourceIdentity, destinationIdentity, ingress };
    return ingress === undefined ? { allowed, sourceIdentity, destinationIdentity, egress } : { allowed, sourceIdentity, destinationIdentity, egress, ingress };
  }

  #protocol(protocol: Flow['protocol']): number {
    let number: number | undefined;
    if (typeof protocol === 'number') {
      number = protocolNumber(protocol);
    } else {
      number = this.#protocols.get(protocol);
      if (number === undefined) {
        number = protocolNumber(protocol);
        // Only names that are protocols: a stream of bad names must not grow the map.
        if (number !== undefined) this.#protocols.set(protocol, number);
      }
    }
    if (number === undefined) throw new FlowError('protocol', `unknown protocol ${JSON.stringify(protocol)}`);
    return number;
  }

  #address(text: string): ResolvedAddress | null {
    let found = this.#addresses.get(text);
    if (found === undefined) {
      const address = parseIpAddress(text);
      if (address === undefined) {
        found = null;
      } else {
        const owner = this.#lookups.byAddress(address.text);
        const identity = owner === undefined ? this.#lookups.remoteIdentity(address) : RESERVED_IDENTITY.WORLD;
        found = new ResolvedAddress(address, address.family === 4 ? toV4(address.bytes) : -1, owner, identity);
      }
      if (this.#addresses.size >= ADDRESS_CACHE_LIMIT) this.#addresses.clear();
      this.#addresses.set(text, found);
    }
    return found;
  }

  #resolveSide(peer: FlowPeer, port: number | undefined, side: Side, path: string): Side {
    side.port = port ?? -1;
    side.outside = RESERVED_IDENTITY.WORLD;
    if ('endpoint' in peer) {
      const ref = peer.endpoint;
      const entry = this.#lookups.endpoint(ref.namespace, ref.name);
      if (entry === undefined) throw new FlowError(`${path}.endpoint`, `no endpoint ${formatEndpointRef(ref)} in the index`);
      side.entry = entry;
      if (peer.ip === undefined) {
        side.address = entry.address;
        side.v4 = entry.v4;
        return side;
      }
      const address = addressOf(entry, peer.ip) ?? addressOf(entry, this.#address(peer.ip)?.address.text);
      if (address === undefined) throw new FlowError(`${path}.ip`, `${JSON.stringify(peer.ip)} is not an address of ${formatEndpointRef(ref)}`);
      side.address = address;
      side.v4 = address.family === 4 ? toV4(address.bytes) : -1;
      return side;
    }
    const resolved = this.#address(peer.ip);
    if (resolved === null) throw new FlowError(`${path}.ip`, `invalid IP address ${JSON.stringify(peer.ip)}`);
    side.entry = resolved.owner;
    side.address = resolved.address;
    side.v4 = resolved.v4;
    side.outside = resolved.identity;
    return side;
  }
}

function addressOf(entry: CompiledEndpoint, text: string | undefined): IpAddress | undefined {
  if (text === undefined) return undefined;
  for (const address of entry.indexed.addresses) if (address.text === text) return address;
  return undefined;
}

// The remote side's identity as `local`'s rules see it: host endpoints are `host` on
// the local endpoint's node and `remote-node` elsewhere.
function identityOf(side: Side, local: Side): NumericIdentity {
  const endpoint = side.entry;
  if (endpoint !== undefined) {
    if (!endpoint.host) return endpoint.identity;
    return endpoint.node !== undefined && endpoint.node === local.entry?.node ? RESERVED_IDENTITY.HOST : RESERVED_IDENTITY.REMOTE_NODE;
  }
  return side.address === undefined ? RESERVED_IDENTITY.WORLD : side.outside;
}

function view(t: Traffic, local: Side, remote: Side, remoteIdentity: NumericIdentity): void {
  t.localAddress = local.address;
  t.localPort = local.port;
  t.remoteAddress = remote.address;
  t.remoteV4 = remote.v4;
  t.remotePort = remote.port;
  t.remoteIdentity = remoteIdentity;
}
