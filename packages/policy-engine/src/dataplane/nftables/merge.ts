// The rules of one run (consecutive rules of a tier with the same terminal action) as a
// few set lookups: whatever the number of rules, a packet costs one lookup per shape
// (remote address × protocol × destination port, address × protocol, address alone,
// and the same without an address). Order inside a run does not matter: the first
// match and any other match give the same verdict.

import { type IpFamily } from '../../model/cidr.js';
import { byFamily, remoteAddressExpression, type SetContribution } from './match.js';
import { formatPorts, formatRange, portSegments, unionPorts, unionRanges, type AddressRange, type PortRange } from './ranges.js';
import { type NftSet } from './model.js';

/** One merged lookup: the expression before `@set`, and the set (absent: an unconditional match). */
export interface MergedLookup {
  readonly expression: string;
  readonly set?: NftSet;
}

const ADDRESS_TYPE: Record<IpFamily, string> = { 4: 'ipv4_addr', 6: 'ipv6_addr' };

// Appends in place: thousands of rules must not copy the list each time.
function pushTo<T>(map: Map<number, T[]>, key: number, ...items: T[]): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, items);
  else for (const item of items) list.push(item);
}

const sorted = (items: Iterable<string>): string[] => [...new Set(items)].sort();

// Address × protocol × port: ports cut into segments so that elements never overlap. A
// sweep over the segments keeps the pairs whose ports cover the current one, so that
// thousands of single-port rules cost n log n, not n².
function addressProtocolPort(pairs: readonly { ranges: readonly AddressRange[]; ports: readonly PortRange[] }[], protocol: number): string[] {
  const spans = pairs.flatMap((p, index) => p.ports.map((r) => ({ first: r.first, last: r.last, index })));
  const segments = portSegments(spans);
  const byStart = [...spans].sort((a, b) => a.first - b.first);
  const active: { last: number; index: number }[] = [];
  let next = 0;
  const out: string[] = [];
  let previous: { key: string; segment: PortRange; ranges: AddressRange[] } | undefined;
  const flush = (): void => {
    if (previous === undefined) return;
    for (const r of previous.ranges) out.push(`${formatRange(r)} . ${protocol} . ${formatPorts(previous.segment)}`);
  };
  for (const segment of segments) {
    while (next < byStart.length && (byStart[next] as { first: number }).first <= segment.first) {
      const span = byStart[next] as { last: number; index: number };
      active.push({ last: span.last, index: span.index });
      next += 1;
    }
    // Spans that ended before this segment leave.
    for (let i = active.length - 1; i >= 0; i -= 1) if ((active[i] as { last: number }).last < segment.first) active.splice(i, 1);
    const members = new Set(active.map((a) => a.index));
    const ranges = unionRanges([...members].flatMap((i) => pairs[i]?.ranges ?? []));
    const key = ranges.map((r) => `${r.family}:${r.first}-${r.last}`).join(',');
    // Adjacent segments with the same addresses are one element.
    if (previous !== undefined && previous.key === key && previous.segment.last + 1 === segment.first) {
      previous = { ...previous, segment: { first: previous.segment.first, last: segment.last } };
      continue;
    }
    flush();
    previous = { key, segment, ranges };
  }
  flush();
  return out;
}

/**
 * The lookups of one run, for `direction`. `unconditional` is true when some rule of the
 * run matches every packet (then the run is just its verdict).
 */
export function mergeContributions(contributions: readonly SetContribution[], direction: 'ingress' | 'egress'): { lookups: MergedLookup[]; unconditional: boolean } {
  const lookups: MergedLookup[] = [];
  // No address: protocol × port, protocol, or everything.
  const anyAddress = contributions.filter((c) => c.addresses.kind === 'any');
  if (anyAddress.some((c) => c.protocols === undefined)) return { lookups: [], unconditional: true };
  const protoPorts = new Map<number, PortRange[]>();
  const bareProtocols = new Set<number>();
  for (const c of anyAddress) {
    for (const [p, ports] of c.protocols ?? []) {
      if (ports === undefined) bareProtocols.add(p);
      else pushTo(protoPorts, p, ...ports);
    }
  }
  for (const p of bareProtocols) protoPorts.delete(p);
  if (bareProtocols.size > 0) {
    lookups.push({ expression: 'meta l4proto', set: { type: 'inet_proto', interval: false, elements: sorted([...bareProtocols].map(String)) } });
  }
  if (protoPorts.size > 0) {
    const elements = [...protoPorts].flatMap(([p, ports]) => unionPorts(ports).map((r) => `${p} . ${formatPorts(r)}`));
    lookups.push({ expression: 'meta l4proto . th dport', set: { type: 'inet_proto . inet_service', interval: true, elements: sorted(elements) } });
  }

  // With addresses, per family.
  const withAddress = contributions.flatMap((c) => (c.addresses.kind === 'ranges' ? [{ ranges: c.addresses.ranges, protocols: c.protocols }] : []));
  for (const family of [4, 6] as const) {
    const addressOnly: AddressRange[] = [];
    const byProtocol = new Map<number, AddressRange[]>();
    const byProtocolPort = new Map<number, { ranges: AddressRange[]; ports: PortRange[] }[]>();
    for (const c of withAddress) {
      const ranges = byFamily(c.ranges).find(([f]) => f === family)?.[1];
      if (ranges === undefined) continue;
      if (c.protocols === undefined) {
        addressOnly.push(...ranges);
        continue;
      }
      for (const [p, ports] of c.protocols) {
        if (ports === undefined) pushTo(byProtocol, p, ...ranges);
        else pushTo(byProtocolPort, p, { ranges, ports: [...ports] });
      }
    }
    const address = remoteAddressExpression(direction, family);
    const type = ADDRESS_TYPE[family];
    if (addressOnly.length > 0) {
      lookups.push({ expression: address, set: { type, interval: true, elements: sorted(unionRanges(addressOnly).map(formatRange)) } });
    }
    if (byProtocol.size > 0) {
      const elements = [...byProtocol].flatMap(([p, ranges]) => unionRanges(ranges).map((r) => `${formatRange(r)} . ${p}`));
      lookups.push({ expression: `${address} . meta l4proto`, set: { type: `${type} . inet_proto`, interval: true, elements: sorted(elements) } });
    }
    if (byProtocolPort.size > 0) {
      const elements = [...byProtocolPort].flatMap(([p, pairs]) => addressProtocolPort(pairs, p));
      lookups.push({ expression: `${address} . meta l4proto . th dport`, set: { type: `${type} . inet_proto . inet_service`, interval: true, elements: sorted(elements) } });
    }
  }
  return { lookups, unconditional: false };
}
