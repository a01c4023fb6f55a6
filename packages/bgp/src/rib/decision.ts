// The decision process of RFC 4271 §9.1.2.2 with the route-reflection tie-breakers of
// RFC 4456 §9. It works as the RFC describes it, by eliminating candidates step by
// step over the whole set (not by pairwise comparison, which the MED rule makes
// non-transitive), so the best path does not depend on the order routes arrived.
import { type AttributeSet } from './attributes.js';
import { NO_PATH, type PathReader } from './path.js';
import { type PeerEntry } from './peer.js';

/** Settings of the decision process. */
export interface DecisionOptions {
  /** The local AS: the neighbour AS of routes with an empty path (§9.1.2.2 c). */
  readonly localAs: number;
  /** Compare MED between routes from different neighbour ASes too (FRR `bgp always-compare-med`). */
  readonly alwaysCompareMed: boolean;
  /**
   * The interior cost to a next hop (§9.1.2.2 e), or undefined when it cannot be
   * resolved: the route is then not eligible (§9.1.2.1).
   */
  readonly igpCost: (nextHop: string) => number | undefined;
}

/** LOCAL_PREF when absent (the common default of BIRD, FRR and GoBGP). */
export const DEFAULT_LOCAL_PREF = 100;

interface Candidate {
  readonly path: number;
  readonly peer: PeerEntry;
  readonly attrs: AttributeSet;
  readonly pathId: number;
  readonly cost: number;
}

function keep(list: Candidate[], score: (c: Candidate) => number, lowest: boolean): Candidate[] {
  let best = lowest ? Infinity : -Infinity;
  for (const c of list) {
    const s = score(c);
    if (lowest ? s < best : s > best) best = s;
  }
  return list.filter((c) => score(c) === best);
}

/**
 * The best of the paths in the list starting at `head`, or NO_PATH when none is
 * eligible. The steps, in order:
 * 0. a locally originated route (as BIRD's protocol preference and FRR's weight do);
 * a. highest LOCAL_PREF; b. shortest AS_PATH (AS_SET counts 1); c. lowest ORIGIN;
 * d. lowest MED among routes from the same neighbour AS (missing MED is 0);
 * e. eBGP over iBGP; f. lowest interior cost to the next hop;
 * g. lowest BGP Identifier, the ORIGINATOR_ID when the route was reflected (RFC 4456 §9);
 * h. shortest CLUSTER_LIST (RFC 4456 §9); i. lowest peer address;
 * j. lowest ADD-PATH path identifier (so the result is deterministic).
 */
export function selectBest(paths: PathReader, head: number, options: DecisionOptions): number {
  if (head === NO_PATH) return NO_PATH;
  if (paths.nextOf(head) === NO_PATH) return options.igpCost(paths.attrsOf(head).nextHop) === undefined && !paths.peerOf(head).local ? NO_PATH : head;
  let list: Candidate[] = [];
  for (let p = head; p !== NO_PATH; p = paths.nextOf(p)) {
    const peer = paths.peerOf(p);
    const attrs = paths.attrsOf(p);
    const cost = peer.local ? 0 : options.igpCost(attrs.nextHop);
    if (cost !== undefined) list.push({ path: p, peer, attrs, pathId: paths.pathIdOf(p), cost });
  }
  if (list.length <= 1) return list[0]?.path ?? NO_PATH;
  const steps: ((l: Candidate[]) => Candidate[])[] = [
    (l) => keep(l, (c) => (c.peer.local ? 0 : 1), true),
    (l) => keep(l, (c) => c.attrs.value.localPref ?? DEFAULT_LOCAL_PREF, false),
    (l) => keep(l, (c) => c.attrs.pathLength, true),
    (l) => keep(l, (c) => c.attrs.value.origin ?? 2, true),
    (l) => eliminateByMed(l, options),
    (l) => keep(l, (c) => (c.peer.ebgp ? 0 : 1), true),
    (l) => keep(l, (c) => c.cost, true),
    (l) => keep(l, (c) => c.attrs.originatorId || c.peer.routerIdNumber, true),
    (l) => keep(l, (c) => c.attrs.value.clusterList?.length ?? 0, true),
    (l) => {
      let min = l[0]?.peer.addressKey ?? '';
      for (const c of l) if (c.peer.addressKey < min) min = c.peer.addressKey;
      return l.filter((c) => c.peer.addressKey === min);
    },
    (l) => keep(l, (c) => c.pathId, true),
  ];
  for (const step of steps) {
    list = step(list);
    if (list.length === 1) break;
  }
  return list[0]?.path ?? NO_PATH;
}

/** §9.1.2.2 c: drop every route whose MED is above the lowest MED of its neighbour AS. */
function eliminateByMed(list: Candidate[], options: DecisionOptions): Candidate[] {
  const med = (c: Candidate): number => c.attrs.value.med ?? 0;
  if (options.alwaysCompareMed) return keep(list, med, true);
  const group = (c: Candidate): number => c.attrs.neighborAs ?? options.localAs;
  const lowest = new Map<number, number>();
  for (const c of list) {
    const g = group(c);
    const m = med(c);
    if (m < (lowest.get(g) ?? Infinity)) lowest.set(g, m);
  }
  return list.filter((c) => med(c) === lowest.get(group(c)));
}
