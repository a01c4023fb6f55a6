// Two namespaces joined by a veth: twill's speaker in one (its sockets opened inside it
// with @twill/sys, as the agent does), a routing daemon in the other. IPv4 and IPv6
// addresses on both ends (IPv6 without duplicate address detection, usable at once).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AF, SOCK, openSocket, setTcpMd5 } from '@twill/sys';
import { type NetworkScratch, type ScratchNetns } from '@twill/sys/testing';

import { type BgpSpeakerOptions, type ConnectTarget, type FibBatch, BgpSpeaker, CollectingFibSink, asn, createTcpTransport, prefixToText, routerId, systemClock } from '@twill/bgp';

/** One end of a link: IPv4 and IPv6 addresses. */
export interface Addresses {
  readonly v4: string;
  readonly v6: string;
}

/** A point-to-point link between twill's namespace and a daemon's. */
export interface Link {
  /** Twill's end of the veth. */
  readonly twillDevice: string;
  readonly twill: Addresses;
  readonly daemon: Addresses;
}

/**
 * Links `twillNs` to a new namespace over a veth on subnet `10.99.<n>.0/24` and
 * `fd00:99:<n>::/64`: twill `.1`, the daemon `.2`.
 */
export function linkDaemon(scratch: NetworkScratch, twillNs: ScratchNetns, n: number): { ns: ScratchNetns; link: Link } {
  const ns = scratch.netns();
  // Link-local addresses usable at once too: FRR needs its own to open an IPv6 session.
  for (const side of [twillNs, ns]) scratch.exec(side, 'sysctl', ['-q', '-w', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0']);
  const veth = scratch.veth(twillNs, ns);
  const link: Link = { twillDevice: veth.a, twill: { v4: `10.99.${n}.1`, v6: `fd00:99:${n}::1` }, daemon: { v4: `10.99.${n}.2`, v6: `fd00:99:${n}::2` } };
  scratch.ip(twillNs, 'addr', 'add', `${link.twill.v4}/24`, 'dev', veth.a);
  scratch.ip(twillNs, 'addr', 'add', `${link.twill.v6}/64`, 'dev', veth.a, 'nodad');
  scratch.ip(ns, 'addr', 'add', `${link.daemon.v4}/24`, 'dev', veth.b);
  scratch.ip(ns, 'addr', 'add', `${link.daemon.v6}/64`, 'dev', veth.b, 'nodad');
  return { ns, link };
}

/** A private temporary folder; remove it with {@link removeDir}. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'twill-interop-'));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/**
 * The socket port the agent implements with @twill/sys: a TCP socket opened inside
 * `ns`, with the peer's TCP MD5 key (RFC 2385) set before it connects.
 *
 * TTL: @twill/sys has no setsockopt for IP_TTL / IP_MINTTL yet, so this test port sets
 * the namespace's default TTL instead (`net.ipv4.ip_default_ttl`, per namespace). That
 * is the same for a namespace holding one speaker and one peer, but cannot do `minTtl`.
 */
export function namespaceSocketFactory(ns: ScratchNetns): (target: ConnectTarget) => net.Socket {
  return (target) => {
    const fd = openSocket({ domain: net.isIPv6(target.address) ? AF.INET6 : AF.INET, type: SOCK.STREAM, netns: ns.name });
    if (target.md5Password !== undefined) setTcpMd5(fd, { address: target.address, key: target.md5Password });
    if (target.ttl !== undefined) execFileSync('ip', ['netns', 'exec', ns.name, 'sysctl', '-q', '-w', `net.ipv4.ip_default_ttl=${target.ttl}`]);
    return new net.Socket({ fd });
  };
}

/** A speaker whose sockets live in `ns`, collecting its FIB batches. */
export function twillSpeaker(ns: ScratchNetns, options: { localAs: number; routerId: string } & Partial<Omit<BgpSpeakerOptions, 'localAs' | 'routerId'>>): { speaker: BgpSpeaker; fib: CollectingFibSink } {
  const fib = new CollectingFibSink();
  const speaker = new BgpSpeaker({
    fib,
    clock: systemClock,
    transport: createTcpTransport({ socketFactory: namespaceSocketFactory(ns) }),
    ...options,
    localAs: asn(options.localAs),
    routerId: routerId(options.routerId),
  });
  return { speaker, fib };
}

/** What the FibSink holds after all batches: prefix → first next hop. */
export function installed(batches: readonly FibBatch[]): Map<string, string> {
  const table = new Map<string, string>();
  for (const b of batches) {
    for (const p of b.remove) table.delete(prefixToText(p));
    for (const r of b.add) table.set(prefixToText(r.prefix), r.nextHops[0] ?? '');
  }
  return table;
}
