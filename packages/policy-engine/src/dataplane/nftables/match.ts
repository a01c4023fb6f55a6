// One effective rule → what it matches, in two forms: contributions to the merged set
// lookups of its run (the common case: remote addresses × protocol × destination port),
// or, for anything a set key cannot hold, nft match expressions of its own.

import { PROTOCOL } from '../../model/endpoint.js';
import { type IpFamily } from '../../model/cidr.js';
import { type EffectiveRule, type ResolvedPort } from '../../engine/types.js';
import { atomAddresses, type AtomAddresses, type IdentityAddresses } from './peers.js';
import { addressRange, formatPorts, formatRange, unionPorts, unionRanges, type AddressRange, type PortRange } from './ranges.js';
import { NFT_BASE } from './names.js';

/** Protocols that carry ports: what a port without a protocol means. */
const PORT_PROTOCOLS = [PROTOCOL.TCP, PROTOCOL.UDP, PROTOCOL.SCTP] as const;

/** Protocol → destination port ranges (absent: the protocol with any port). */
export type ProtocolPorts = ReadonlyMap<number, readonly PortRange[] | undefined>;

/** A rule's part that merged sets hold. `protocols` absent: any protocol, any port. */
export interface SetContribution {
  readonly addresses: AtomAddresses & { readonly kind: 'any' | 'ranges' };
  readonly protocols?: ProtocolPorts;
}

/** What a rule compiles to. `never`: it matches no packet (skip it). */
export interface RuleMatch {
  readonly contributions: readonly SetContribution[];
  /** Match expressions of rules that need their own nft rule (one per alternative). */
  readonly expressions: readonly string[];
  readonly identities: readonly number[];
  readonly usesWorld: boolean;
}

type Direction = 'ingress' | 'egress';

const familyKeyword = (family: IpFamily): string => (family === 4 ? 'ip' : 'ip6');

/** `ip saddr` / `ip6 daddr`: the remote address for ingress is the source. */
export function remoteAddressExpression(direction: Direction, family: IpFamily): string {
  return `${familyKeyword(family)} ${direction === 'ingress' ? 'saddr' : 'daddr'}`;
}

function localAddressExpression(direction: Direction, family: IpFamily): string {
  return `${familyKeyword(family)} ${direction === 'ingress' ? 'daddr' : 'saddr'}`;
}

/** Destination ports by protocol; an empty map when no port can match the rule's protocol. */
function protocolPorts(rule: EffectiveRule, ports: readonly ResolvedPort[]): Map<number, PortRange[]> {
  const out = new Map<number, PortRange[]>();
  for (const port of ports) {
    if (port.protocol !== undefined && rule.protocol !== undefined && port.protocol !== rule.protocol) continue;
    const protocols = port.protocol !== undefined ? [port.protocol] : rule.protocol !== undefined ? [rule.protocol] : PORT_PROTOCOLS;
    for (const p of protocols) out.set(p, [...(out.get(p) ?? []), { first: port.first, last: port.last }]);
  }
  for (const [p, list] of out) out.set(p, unionPorts(list));
  return out;
}

function anonymousSet(items: readonly string[]): string {
  return `{ ${items.join(', ')} }`;
}

/** `meta l4proto . th dport { 6 . 80, 17 . 53 }` for the protocol part of a rule. */
function protocolExpression(protocols: ProtocolPorts, port: 'dport' | 'sport'): string {
  const withPorts = [...protocols].filter(([, ports]) => ports !== undefined);
  const bare = [...protocols].filter(([, ports]) => ports === undefined).map(([p]) => String(p));
  if (withPorts.length > 0 && bare.length > 0) throw new Error('internal: mixed protocol shapes in one rule');
  if (bare.length > 0) return bare.length === 1 ? `meta l4proto ${bare[0]}` : `meta l4proto ${anonymousSet(bare)}`;
  const items = withPorts.flatMap(([p, ports]) => (ports ?? []).map((r) => `${p} . ${formatPorts(r)}`));
  return `meta l4proto . th ${port} ${anonymousSet(items)}`;
}

function icmpExpressions(rule: EffectiveRule): string[][] {
  const keyword = rule.protocol === PROTOCOL.ICMPV6 ? 'icmpv6' : 'icmp';
  const out: string[][] = [[]];
  if (rule.icmp !== undefined) {
    const parts: string[] = [];
    if (rule.protocol === undefined) parts.push(`meta l4proto ${keyword === 'icmp' ? PROTOCOL.ICMP : PROTOCOL.ICMPV6}`);
    if (rule.icmp.type !== undefined) parts.push(`${keyword} type ${rule.icmp.type}`);
    if (rule.icmp.code !== undefined) parts.push(`${keyword} code ${rule.icmp.code}`);
    out[0] = parts;
  }
  if (rule.notIcmp === undefined || rule.notIcmp.type === undefined) return out;
  // not (type t and code c) = type != t, or type t and code != c: two alternatives.
  const negations = rule.notIcmp.code === undefined
    ? [[`${keyword} type != ${rule.notIcmp.type}`]]
    : [[`${keyword} type != ${rule.notIcmp.type}`], [`${keyword} type ${rule.notIcmp.type}`, `${keyword} code != ${rule.notIcmp.code}`]];
  return out.flatMap((base) => negations.map((n) => [...base, ...n]));
}

function addressAlternatives(direction: Direction, addresses: AtomAddresses): string[][] {
  switch (addresses.kind) {
    case 'any':
      return [[]];
    case 'ranges':
      return byFamily(addresses.ranges).map(([family, list]) => [`${remoteAddressExpression(direction, family)} ${anonymousSet(list.map(formatRange))}`]);
    case 'world':
      return addresses.families.map((family) => {
        const cluster = family === 4 ? NFT_BASE.CLUSTER_V4 : NFT_BASE.CLUSTER_V6;
        const parts = [`${remoteAddressExpression(direction, family)} != @${cluster}`];
        const within = addresses.ranges?.filter((r) => r.family === family);
        if (within !== undefined) parts.push(`${remoteAddressExpression(direction, family)} ${anonymousSet(within.map(formatRange))}`);
        return parts;
      });
  }
}

/** Ranges grouped by family, IPv4 first. */
export function byFamily(ranges: readonly AddressRange[]): [IpFamily, AddressRange[]][] {
  const out: [IpFamily, AddressRange[]][] = [];
  for (const family of [4, 6] as const) {
    const list = ranges.filter((r) => r.family === family);
    if (list.length > 0) out.push([family, list]);
  }
  return out;
}

/**
 * Compiles one rule's matching part for `direction`. Ingress: the remote side is the
 * source, local ports are destination ports. Egress: the remote side is the destination.
 */
export function compileRuleMatch(rule: EffectiveRule, direction: Direction, known: IdentityAddresses): RuleMatch {
  const identities = rule.remote.peers.flatMap((a) => a.identities ?? []);
  const none: RuleMatch = { contributions: [], expressions: [], identities, usesWorld: false };
  const dports = direction === 'ingress' ? rule.local.ports : rule.remote.ports;
  const sports = direction === 'ingress' ? rule.remote.ports : rule.local.ports;
  const notDports = direction === 'ingress' ? rule.local.notPorts : rule.remote.notPorts;
  const notSports = direction === 'ingress' ? rule.remote.notPorts : rule.local.notPorts;

  let protocols: Map<number, PortRange[] | undefined> | undefined;
  if (dports !== undefined) {
    protocols = protocolPorts(rule, dports);
    if (protocols.size === 0) return none;
  } else if (rule.protocol !== undefined) {
    protocols = new Map([[rule.protocol, undefined]]);
  }
  const atoms = rule.remote.peers.flatMap((atom) => atomAddresses(atom, known));
  if (atoms.length === 0) return none;

  const simple = sports === undefined && notDports === undefined && notSports === undefined && rule.icmp === undefined
    && rule.notIcmp === undefined && rule.notProtocol === undefined && rule.local.addresses === undefined;
  const contributions: SetContribution[] = [];
  const expressions: string[] = [];
  let usesWorld = false;

  // Conditions shared by every alternative of a rule that needs its own nft rule.
  const common: string[][] = [[]];
  if (!simple) {
    if (protocols !== undefined) common[0]?.push(protocolExpression(protocols, 'dport'));
    if (rule.notProtocol !== undefined) common[0]?.push(`meta l4proto != ${rule.notProtocol}`);
    if (sports !== undefined) {
      if (protocols === undefined) common[0]?.push(`meta l4proto ${anonymousSet(PORT_PROTOCOLS.map(String))}`);
      common[0]?.push(`th sport ${anonymousSet(unionPorts(sports).map(formatPorts))}`);
    }
    if (notDports !== undefined && notDports.length > 0) common[0]?.push(`th dport != ${anonymousSet(unionPorts(notDports).map(formatPorts))}`);
    if (notSports !== undefined && notSports.length > 0) common[0]?.push(`th sport != ${anonymousSet(unionPorts(notSports).map(formatPorts))}`);
  }
  let alternatives = common;
  if (!simple) {
    const icmp = icmpExpressions(rule);
    alternatives = alternatives.flatMap((a) => icmp.map((i) => [...a, ...i]));
    if (rule.local.addresses !== undefined) {
      const local = byFamily(unionRanges(rule.local.addresses.flatMap((t) => addressRange(t) ?? [])));
      alternatives = alternatives.flatMap((a) => local.map(([family, list]) => [...a, `${localAddressExpression(direction, family)} ${anonymousSet(list.map(formatRange))}`]));
    }
  }

  for (const atom of atoms) {
    if (simple && atom.kind !== 'world') {
      contributions.push({ addresses: atom, ...(protocols === undefined ? {} : { protocols }) });
      continue;
    }
    if (atom.kind === 'world') usesWorld = true;
    for (const address of addressAlternatives(direction, atom)) {
      for (const alternative of alternatives) {
        if (simple && protocols !== undefined) expressions.push([...address, protocolExpression(protocols, 'dport')].join(' '));
        else expressions.push([...address, ...alternative].join(' '));
      }
    }
  }
  return { contributions, expressions: expressions.map((e) => e.trim()), identities, usesWorld };
}
