// What `twill bgp` prints for people: the sessions (state, how long up, prefixes each
// way, the last error in words, as BIRD's `show protocols all` has them) and the paths
// the speaker holds (best marked `*`, as `birdc show route` marks it). Pure.

import { type BgpRouteView, type BgpStatus, type PeerStatus } from '../client/index.js';
import { durationWords } from '../duration.js';
import { renderTable, type Style } from '../output.js';

const ESTABLISHED = 'Established';

/** How long the session has been up, in words; `-` when it is not Established. */
export function uptimeWords(peer: PeerStatus): string {
  return peer.state === ESTABLISHED && typeof peer.uptimeSeconds === 'number' ? durationWords(peer.uptimeSeconds) : '-';
}

/** The peer's latest problem in words, `-` when it never had one. */
export function lastErrorWords(peer: PeerStatus): string {
  const text = peer.lastError ?? peer.lastDown;
  return typeof text === 'string' && text !== '' ? text : '-';
}

function received(peer: PeerStatus): string {
  const stale = typeof peer.stalePrefixes === 'number' && peer.stalePrefixes > 0 ? ` (${peer.stalePrefixes} stale)` : '';
  return `${peer.receivedPrefixes}${stale}`;
}

/**
 * One row per session: peer, AS, state, uptime in words, prefixes each way (stale ones
 * said), the last error in words. `twill bgp peers`, `twill status` and `describe
 * bgppeer` all draw sessions through here and {@link peerLine}.
 */
export function renderPeerTable(peers: readonly PeerStatus[], style?: Style): string {
  const state = (s: string): string => (style === undefined ? s : s === ESTABLISHED ? style.good(s) : style.warn(s));
  const right = { align: 'right' as const };
  return renderTable(
    [{ header: 'PEER' }, { header: 'AS', ...right }, { header: 'STATE' }, { header: 'UPTIME' }, { header: 'RECEIVED', ...right }, { header: 'ADVERTISED', ...right }, { header: 'LAST ERROR' }],
    peers.map((p) => [p.address, String(p.asn), state(p.state), uptimeWords(p), received(p), String(p.advertisedPrefixes), lastErrorWords(p)]),
    style,
  );
}

/** One session on one line, the table's words: `192.0.2.11 AS 64512: Established for 2 hours, 3 received, 2 advertised; last error: -`. */
export function peerLine(peer: PeerStatus): string {
  const uptime = uptimeWords(peer);
  return `${peer.address} AS ${peer.asn}: ${peer.state}${uptime === '-' ? '' : ` for ${uptime}`}, ${received(peer)} received, ${peer.advertisedPrefixes} advertised; last error: ${lastErrorWords(peer)}`;
}

/**
 * The speaker's identity, one row per peer, then the BGPPeers that could not be used,
 * the prefixes this node originates, and routes the kernel refused.
 */
export function renderPeers(status: BgpStatus, style?: Style): string {
  const identity = `local AS ${status.localAs ?? '-'}, router id ${status.routerId ?? '-'}\n`;
  const table = status.peers.length === 0 ? 'no BGP peers\n' : renderPeerTable(status.peers, style);
  const notes = [
    ...status.problems.map((p) => `BGPPeer ${p.peer} not used: ${p.reason}`),
    ...(status.originated.length === 0 ? [] : [`originated: ${status.originated.join(', ')}`]),
    ...status.fibProblems.map((p) => `the kernel refused the route to ${p.dst}: ${p.error}`),
  ];
  return `${identity}${table}${notes.length === 0 ? '' : `\n${notes.join('\n')}\n`}`;
}

/** An AS path as BIRD prints it (`65001 65002`), `-` when empty (a route of this AS). */
export const asPathText = (route: BgpRouteView): string => (route.asPath.length === 0 ? '-' : route.asPath.join(' '));

/** Origin as BIRD names it: `IGP`, `EGP`, `incomplete`. */
export const originText = (route: BgpRouteView): string => (route.origin === 'incomplete' ? 'incomplete' : route.origin.toUpperCase());

/**
 * One row per path, in the agent's order (the best first per prefix), the best marked
 * `*`; a stale path (kept while its peer restarts, RFC 4724) says so.
 * @param wide - Adds local preference, MED, communities and large communities (RFC 8092).
 */
export function renderRoutes(routes: readonly BgpRouteView[], wide: boolean, style?: Style): string {
  if (routes.length === 0) return 'no routes\n';
  const right = { align: 'right' as const };
  const columns = [
    { header: ' ' }, { header: 'PREFIX' }, { header: 'NEXT HOP' }, { header: 'FROM' }, { header: 'AS PATH' }, { header: 'ORIGIN' },
    ...(wide ? [{ header: 'LOCAL PREF', ...right }, { header: 'MED', ...right }, { header: 'COMMUNITIES' }, { header: 'LARGE COMMUNITIES' }] : []),
  ];
  const rows = routes.map((r) => [
    r.best ? '*' : '',
    r.prefix,
    r.nextHop,
    `${r.from}${r.stale ? ' (stale)' : ''}`,
    asPathText(r),
    originText(r),
    ...(wide ? [r.localPref === undefined ? '-' : String(r.localPref), r.med === undefined ? '-' : String(r.med), r.communities.length === 0 ? '-' : r.communities.join(' '), r.largeCommunities.length === 0 ? '-' : r.largeCommunities.join(' ')] : []),
  ]);
  const best = routes.filter((r) => r.best).length;
  const prefixes = new Set(routes.map((r) => r.prefix)).size;
  return `${renderTable(columns, rows, style)}${routes.length} path${routes.length === 1 ? '' : 's'} to ${prefixes} prefix${prefixes === 1 ? '' : 'es'}, ${best} best (*)\n`;
}
