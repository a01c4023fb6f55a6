// Builders for RIB tests: peers, UPDATEs and a RIB wired to a collecting FIB sink.
import {
  type AsPathSegment,
  type BgpPrefix,
  type BgpUpdate,
  type PeerId,
  type RibPeerConfig,
  type RouteAttributes,
  CollectingFibSink,
  Rib,
  asn,
  parsePrefix,
  peerId,
  routerId,
} from '@twill/bgp';

/** AS 65000, router id 10.0.0.1. */
export const LOCAL_AS = asn(65000);

/** An AS_SEQUENCE path. */
export function path(...asns: number[]): AsPathSegment[] {
  return asns.length === 0 ? [] : [{ type: 2, asns: asns.map((a) => asn(a)) }];
}

/** A peer configuration; iBGP when `as` is 65000. */
export function peer(name: string, as: number, extra: Partial<RibPeerConfig> = {}): RibPeerConfig {
  return { id: peerId(name), address: name, asn: asn(as), routerId: routerId(name), localAddress: '10.0.0.1', ...extra };
}

/** A RIB with a collecting FIB. */
export function makeRib(options: { alwaysCompareMed?: boolean; igpCost?: (nh: string) => number | undefined; clusterId?: string } = {}): { rib: Rib; fib: CollectingFibSink } {
  const fib = new CollectingFibSink();
  const rib = new Rib({ localAs: LOCAL_AS, routerId: routerId('10.0.0.1'), fib, ...options });
  return { rib, fib };
}

/** An UPDATE announcing IPv4 prefixes with the given attributes (origin IGP unless given). */
export function announce(prefixes: string[], attrs: Partial<RouteAttributes> & { nextHop: string }, pathId?: number): BgpUpdate {
  const { nextHop, linkLocalNextHop: _ll, ...rest } = attrs;
  return {
    type: 'update',
    withdrawn: [],
    attributes: { origin: 0, asPath: [], ...rest, nextHop },
    nlri: prefixes.map((p) => (pathId === undefined ? { prefix: parsePrefix(p) } : { prefix: parsePrefix(p), pathId })),
  };
}

/** An UPDATE withdrawing IPv4 prefixes. */
export function withdraw(prefixes: string[], pathId?: number): BgpUpdate {
  return { type: 'update', withdrawn: prefixes.map((p) => (pathId === undefined ? { prefix: parsePrefix(p) } : { prefix: parsePrefix(p), pathId })), attributes: {}, nlri: [] };
}

/** FIB batches as plain objects (the RIB's routes and removed prefixes are built when read), for `toEqual`. */
export function plainBatches(fib: CollectingFibSink): { add: { prefix: BgpPrefix; nextHops: readonly string[] }[]; remove: readonly BgpPrefix[] }[] {
  return fib.batches.map((b) => ({
    add: b.add.map((r) => ({ prefix: r.prefix, nextHops: r.nextHops })),
    remove: b.remove.map((p) => ({ family: p.family, length: p.length, bytes: p.bytes })),
  }));
}

/** The id of a peer config. */
export function id(name: string): PeerId {
  return peerId(name);
}
