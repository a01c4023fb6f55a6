// The exact part of a run's lookups: elements that are single values (one address, one
// protocol, one port) go to hash sets without `flags interval`, one per shape. Each
// rule's exact elements are its own (never merged with another rule's), so a run's
// elements are a multiset: a rule that comes or goes adds or removes its elements
// only, and `nft` changes a hash set without reading it back (an interval set makes it
// fetch every element to check for overlaps). A packet costs one hash lookup per
// shape. What is not exact (prefixes, ranges) stays with the interval sets of merge.ts;
// an address in both kinds of set gets the same verdict, since a run has one.

import { type IpFamily } from '../../model/cidr.js';
import { type SetContribution } from './match.js';
import { remoteAddressExpression } from './match.js';
import { formatAddress, type AddressRange, type PortRange } from './ranges.js';

/** Ranges of up to this many addresses or ports are written as their single values. */
export const EXACT_SPAN = 8;

/** The shapes of exact sets, in the order their lookups appear in a chain. */
export const EXACT_SHAPES = ['p', 'pp', 'a4', 'ap4', 'app4', 'a6', 'ap6', 'app6'] as const;
export type ExactShape = (typeof EXACT_SHAPES)[number];

const ADDRESS_TYPE: Record<IpFamily, string> = { 4: 'ipv4_addr', 6: 'ipv6_addr' };

/** The lookup expression and set type of a shape, for `direction`. */
export function exactShape(shape: ExactShape, direction: 'ingress' | 'egress'): { expression: string; type: string } {
  switch (shape) {
    case 'p':
      return { expression: 'meta l4proto', type: 'inet_proto' };
    case 'pp':
      return { expression: 'meta l4proto . th dport', type: 'inet_proto . inet_service' };
    default: {
      const family: IpFamily = shape.endsWith('6') ? 6 : 4;
      const address = remoteAddressExpression(direction, family);
      const type = ADDRESS_TYPE[family];
      if (shape.startsWith('app')) return { expression: `${address} . meta l4proto . th dport`, type: `${type} . inet_proto . inet_service` };
      if (shape.startsWith('ap')) return { expression: `${address} . meta l4proto`, type: `${type} . inet_proto` };
      return { expression: address, type };
    }
  }
}

/** One rule's part of a run, split: exact elements by shape, and what interval sets must hold. */
export interface SplitContributions {
  /** The rule matches every packet: the run is its verdict. */
  readonly unconditional: boolean;
  /** Exact elements, by shape (a rule may give the same element twice: kept once). */
  readonly exact: ReadonlyMap<ExactShape, readonly string[]>;
  /** The rest, for merge.ts. */
  readonly rest: readonly SetContribution[];
}

function smallPorts(range: PortRange): number[] | undefined {
  if (range.last - range.first + 1 > EXACT_SPAN) return undefined;
  const out: number[] = [];
  for (let port = range.first; port <= range.last; port += 1) out.push(port);
  return out;
}

function smallAddresses(range: AddressRange): string[] | undefined {
  if (range.last - range.first + 1n > BigInt(EXACT_SPAN)) return undefined;
  const out: string[] = [];
  for (let value = range.first; value <= range.last; value += 1n) out.push(formatAddress(value, range.family));
  return out;
}

/** Splits a rule's contributions into exact elements and interval remainders. */
export function splitContributions(contributions: readonly SetContribution[]): SplitContributions {
  const exact = new Map<ExactShape, Set<string>>();
  const add = (shape: ExactShape, element: string): void => {
    let set = exact.get(shape);
    if (set === undefined) {
      set = new Set();
      exact.set(shape, set);
    }
    set.add(element);
  };
  const rest: SetContribution[] = [];
  let unconditional = false;
  for (const c of contributions) {
    if (c.addresses.kind === 'any') {
      if (c.protocols === undefined) {
        unconditional = true;
        continue;
      }
      const wide = new Map<number, PortRange[] | undefined>();
      for (const [p, ports] of c.protocols) {
        if (ports === undefined) {
          add('p', String(p));
          continue;
        }
        for (const r of ports) {
          const single = smallPorts(r);
          if (single !== undefined) for (const port of single) add('pp', `${p} . ${port}`);
          else wide.set(p, [...(wide.get(p) ?? []), r]);
        }
      }
      if (wide.size > 0) rest.push({ addresses: c.addresses, protocols: wide });
      continue;
    }
    const hosts: { family: IpFamily; texts: string[]; range: AddressRange }[] = [];
    const wideRanges: AddressRange[] = [];
    for (const r of c.addresses.ranges) {
      const texts = smallAddresses(r);
      if (texts === undefined) wideRanges.push(r);
      else hosts.push({ family: r.family, texts, range: r });
    }
    // Wide address ranges keep the rule's whole protocol part, in interval sets.
    if (wideRanges.length > 0) rest.push({ addresses: { kind: 'ranges', ranges: wideRanges }, ...(c.protocols === undefined ? {} : { protocols: c.protocols }) });
    if (hosts.length === 0) continue;
    // The protocol part, split once for every host: bare protocols, single ports, wide ranges.
    const bare: number[] = [];
    const single: string[] = [];
    const widePorts = new Map<number, PortRange[]>();
    for (const [p, ports] of c.protocols ?? []) {
      if (ports === undefined) {
        bare.push(p);
        continue;
      }
      for (const r of ports) {
        const values = smallPorts(r);
        if (values !== undefined) for (const port of values) single.push(`${p} . ${port}`);
        else widePorts.set(p, [...(widePorts.get(p) ?? []), r]);
      }
    }
    for (const { family, texts } of hosts) {
      const f = family === 4 ? '4' : '6';
      for (const t of texts) {
        if (c.protocols === undefined) add(`a${f}`, t);
        for (const p of bare) add(`ap${f}`, `${t} . ${p}`);
        for (const pp of single) add(`app${f}`, `${t} . ${pp}`);
      }
    }
    // Hosts with wide port ranges: those ranges, in interval sets.
    if (widePorts.size > 0) rest.push({ addresses: { kind: 'ranges', ranges: hosts.map((h) => h.range) }, protocols: widePorts });
  }
  return { unconditional, exact: new Map([...exact].map(([shape, set]) => [shape, [...set]])), rest };
}
