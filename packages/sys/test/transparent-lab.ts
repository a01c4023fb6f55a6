// Shared by the transparent socket root tests: a NetworkScratch with the servers and
// sockets a test opens, all closed and removed after each test; a proxy namespace joined
// by a veth to a peer namespace; and the tproxy policy route that delivers marked packets
// locally whatever their destination.
import { type Server, type Socket } from 'node:net';

import { afterEach } from 'vitest';

import { NetworkScratch, type ScratchNetns } from '../src/testing/index.js';

/** The scratch and what a test opened in it. */
export interface TransparentLab {
  /** Namespaces, veths and nftables of the test. */
  readonly scratch: NetworkScratch;
  /** Servers to close after the test. */
  readonly servers: Server[];
  /** Sockets to destroy after the test. */
  readonly sockets: Socket[];
}

/** Call inside a describe: after each of its tests, destroys the sockets, closes the servers and removes the namespaces. */
export function useTransparentLab(): TransparentLab {
  const lab: TransparentLab = { scratch: new NetworkScratch(), servers: [], sockets: [] };
  afterEach(async () => {
    for (const s of lab.sockets.splice(0)) s.destroy();
    await Promise.all(lab.servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    lab.scratch.cleanup();
  });
  return lab;
}

/**
 * Two new namespaces joined by a veth, `proxyCidr` on the proxy's end and `peerCidr` on the
 * other (IPv6 with nodad: usable at once).
 */
export function proxyAndPeer(scratch: NetworkScratch, proxyCidr: string, peerCidr: string): { proxy: ScratchNetns; peer: ScratchNetns } {
  const proxy = scratch.netns();
  const peer = scratch.netns();
  const link = scratch.veth(proxy, peer);
  const nodad = proxyCidr.includes(':') ? ['nodad'] : [];
  scratch.ip(proxy, 'address', 'add', proxyCidr, 'dev', link.a, ...nodad);
  scratch.ip(peer, 'address', 'add', peerCidr, 'dev', link.b, ...nodad);
  return { proxy, peer };
}

/** The tproxy policy route in `ns`: packets with `fwmark` (`value[/mask]`) are delivered locally through `table`, whatever their destination. */
export function deliverMarkedLocally(scratch: NetworkScratch, ns: ScratchNetns, ipFlag: '-4' | '-6', fwmark: string, table: string): void {
  scratch.ip(ns, ipFlag, 'rule', 'add', 'fwmark', fwmark, 'lookup', table);
  scratch.ip(ns, ipFlag, 'route', 'add', 'local', ipFlag === '-4' ? '0.0.0.0/0' : '::/0', 'dev', 'lo', 'table', table);
}
