// PeerMatch → a union of atoms (identity set × address set), over the identities and
// addresses the index knows. `and`, `or` and `not` are set algebra on those unions:
// `not` complements identity sets against the universe of identities present (every
// workload identity plus the reserved host, remote-node, world and kube-apiserver),
// so a rule with `not` is re-resolved when an identity it matches appears or goes
// (the index notices: the changed endpoint matches the rule's peer).

import { RESERVED_IDENTITY, type NumericIdentity } from '../identity/reserved.js';
import { cidrContainsAddress, cidrContainsCidr, hostCidr, parseCidr, type Cidr } from '../model/cidr.js';
import { type Entity, type PeerMatch } from '../model/policy.js';
import { matchSelector, type Selector, type SelectorSubject } from '../model/selector.js';
import { type IndexedEndpoint, type IndexedNetworkSet } from '../evaluate/snapshot.js';
import { type NamedGrouping } from './named-groups.js';
import { type PeerAtom } from './types.js';

/** What peers are resolved against. */
export interface PeerUniverse {
  /** Every workload identity present, with the selector subject its endpoints share. */
  readonly identities: ReadonlyMap<NumericIdentity, SelectorSubject>;
  readonly hosts: Iterable<IndexedEndpoint>;
  readonly networkSets: Iterable<IndexedNetworkSet>;
  readonly kubeApiServer: readonly Cidr[];
  /** The workload endpoints that have an identity. */
  members(identity: NumericIdentity): Iterable<IndexedEndpoint>;
  /** The workload identities of a namespace's endpoints. */
  namespaceIdentities(namespace: string): Iterable<NumericIdentity>;
  /** Resolutions already made over this same universe, by the peer's JSON text (cleared when the universe changes). */
  readonly resolved?: Map<string, PeerAtom[]>;
  /** How many workload endpoints have an identity. */
  memberCount(identity: NumericIdentity): number;
  /**
   * Remote sides with named ports grouped over this same universe, by the peer and the
   * names (see named-groups.ts): cleared with `resolved`, otherwise updated by delta.
   */
  readonly groupings?: Map<string, NamedGrouping>;
  /** Endpoints found inside address-only atoms, by the atoms' JSON text (cleared with `resolved`). */
  readonly inNets?: Map<string, IndexedEndpoint[]>;
}

/** The namespace a selector confines its subjects to, when it says so at its top (`in-namespace`). */
export function selectorNamespace(selector: Selector): string | undefined {
  if (selector.kind === 'in-namespace') return selector.namespace;
  if (selector.kind !== 'and') return undefined;
  for (const part of selector.of) if (part.kind === 'in-namespace') return part.namespace;
  return undefined;
}

/** The workload identities `selector` matches, looking only in its namespace when it names one. */
export function identitiesMatching(universe: PeerUniverse, selector: Selector): Set<number> {
  const ids = new Set<number>();
  const namespace = selectorNamespace(selector);
  if (namespace !== undefined) {
    for (const id of universe.namespaceIdentities(namespace)) {
      const subject = universe.identities.get(id);
      if (subject !== undefined && matchSelector(selector, subject)) ids.add(id);
    }
    return ids;
  }
  for (const [id, subject] of universe.identities) if (matchSelector(selector, subject)) ids.add(id);
  return ids;
}

/** An atom while resolving: parsed CIDRs; `except` only with `nets`. */
interface Atom {
  readonly ids?: ReadonlySet<number>;
  readonly nets?: readonly Cidr[];
  readonly except: readonly Cidr[];
}

const ANY: Atom = { except: [] };
const ALL_V4 = parseCidr('0.0.0.0/0') as Cidr;
const ALL_V6 = parseCidr('::/0') as Cidr;
const RESERVED_PEERS = [RESERVED_IDENTITY.HOST, RESERVED_IDENTITY.REMOTE_NODE, RESERVED_IDENTITY.WORLD, RESERVED_IDENTITY.KUBE_APISERVER];

const cidrCache = new Map<string, Cidr | undefined>();
function cidr(text: string): Cidr | undefined {
  if (!cidrCache.has(text)) cidrCache.set(text, parseCidr(text));
  return cidrCache.get(text);
}

const overlaps = (a: Cidr, b: Cidr): boolean => cidrContainsCidr(a, b) || cidrContainsCidr(b, a);

// Drops nets an except covers whole and excepts that touch no net; undefined when nothing is left.
function normalise(ids: ReadonlySet<number> | undefined, nets: readonly Cidr[] | undefined, except: readonly Cidr[]): Atom | undefined {
  if (ids !== undefined && ids.size === 0) return undefined;
  if (nets === undefined) return ids === undefined ? ANY : { ids, except: [] };
  const kept = nets.filter((net) => !except.some((e) => cidrContainsCidr(e, net)));
  if (kept.length === 0) return undefined;
  const keptExcept = except.filter((e) => kept.some((net) => overlaps(net, e)));
  return { ...(ids === undefined ? {} : { ids }), nets: kept, except: keptExcept };
}

function intersectAtoms(a: Atom, b: Atom): Atom | undefined {
  let ids = a.ids ?? b.ids;
  if (a.ids !== undefined && b.ids !== undefined) {
    const [small, large] = a.ids.size <= b.ids.size ? [a.ids, b.ids] : [b.ids, a.ids];
    ids = new Set([...small].filter((id) => large.has(id)));
  }
  let nets = a.nets ?? b.nets;
  if (a.nets !== undefined && b.nets !== undefined) {
    const both: Cidr[] = [];
    for (const x of a.nets) {
      for (const y of b.nets) {
        if (cidrContainsCidr(x, y)) both.push(y);
        else if (cidrContainsCidr(y, x)) both.push(x);
      }
    }
    nets = both;
  }
  return normalise(ids, nets, [...a.except, ...b.except]);
}

/** The intersection of two unions of atoms. */
function intersect(a: readonly Atom[], b: readonly Atom[]): Atom[] {
  const out: Atom[] = [];
  for (const x of a) {
    for (const y of b) {
      const atom = intersectAtoms(x, y);
      if (atom !== undefined) out.push(atom);
    }
  }
  return out;
}

function complementAtom(atom: Atom, universe: ReadonlySet<number>): Atom[] {
  const parts: Atom[] = [];
  if (atom.ids !== undefined) {
    const rest = new Set([...universe].filter((id) => !atom.ids?.has(id)));
    if (rest.size > 0) parts.push({ ids: rest, except: [] });
  }
  if (atom.nets !== undefined) {
    for (const all of [ALL_V4, ALL_V6]) {
      const part = normalise(undefined, [all], atom.nets.filter((n) => n.family === all.family));
      if (part !== undefined) parts.push(part);
    }
    if (atom.except.length > 0) parts.push({ nets: atom.except, except: [] });
  }
  return parts;
}

function complement(atoms: readonly Atom[], universe: ReadonlySet<number>): Atom[] {
  let result: Atom[] = [ANY];
  for (const atom of atoms) {
    result = intersect(result, complementAtom(atom, universe));
    if (result.length === 0) break;
  }
  return result;
}

function hostNets(hosts: Iterable<IndexedEndpoint>, test: (host: IndexedEndpoint) => boolean): Cidr[] {
  const nets: Cidr[] = [];
  for (const host of hosts) if (test(host)) nets.push(...host.addresses.map(hostCidr));
  return nets;
}

function identitiesWhere(universe: PeerUniverse, test: (subject: SelectorSubject) => boolean): Set<number> {
  const ids = new Set<number>();
  for (const [id, subject] of universe.identities) if (test(subject)) ids.add(id);
  return ids;
}

function unionOf(ids: Set<number>, nets: Cidr[]): Atom[] {
  return [...(ids.size > 0 ? [{ ids, except: [] }] : []), ...(nets.length > 0 ? [{ nets, except: [] }] : [])];
}

function entityAtoms(entity: Entity, universe: PeerUniverse): Atom[] {
  switch (entity) {
    case 'all':
      return [ANY];
    case 'world':
      return [{ ids: new Set([RESERVED_IDENTITY.WORLD]), except: [] }];
    case 'host':
      return [{ ids: new Set([RESERVED_IDENTITY.HOST]), except: [] }];
    case 'remote-node':
      return [{ ids: new Set([RESERVED_IDENTITY.REMOTE_NODE]), except: [] }];
    case 'cluster':
      return [{ ids: new Set([...universe.identities.keys(), RESERVED_IDENTITY.HOST, RESERVED_IDENTITY.REMOTE_NODE]), except: [] }];
    case 'kube-apiserver':
      return universe.kubeApiServer.length === 0 ? [] : [{ nets: universe.kubeApiServer, except: [] }];
    case 'init':
    case 'health':
    case 'unmanaged': {
      const label = `reserved:${entity}`;
      const has = (labels: object): boolean => Object.prototype.hasOwnProperty.call(labels, label);
      return unionOf(identitiesWhere(universe, (s) => has(s.labels)), hostNets(universe.hosts, (h) => has(h.endpoint.labels)));
    }
  }
}

function resolveAtoms(peer: PeerMatch, universe: PeerUniverse, all: () => ReadonlySet<number>): Atom[] {
  switch (peer.kind) {
    case 'any':
      return [ANY];
    case 'selector': {
      const nets = hostNets(universe.hosts, (h) => matchSelector(peer.selector, h.subject));
      for (const set of universe.networkSets) if (matchSelector(peer.selector, set.subject)) nets.push(...set.nets);
      return unionOf(identitiesMatching(universe, peer.selector), nets);
    }
    case 'cidr': {
      const nets = peer.cidrs.map(cidr).filter((c): c is Cidr => c !== undefined);
      const except = (peer.except ?? []).map(cidr).filter((c): c is Cidr => c !== undefined);
      const atom = normalise(undefined, nets, except);
      return atom === undefined ? [] : [atom];
    }
    case 'entity':
      return peer.entities.flatMap((entity) => entityAtoms(entity, universe));
    case 'and':
      return peer.of.reduce<Atom[]>((acc, p) => (acc.length === 0 ? acc : intersect(acc, resolveAtoms(p, universe, all))), [ANY]);
    case 'or':
      return peer.of.flatMap((p) => resolveAtoms(p, universe, all));
    case 'not':
      return complement(resolveAtoms(peer.of, universe, all), all());
  }
}

const texts = (nets: readonly Cidr[]): string[] => [...new Set(nets.map((n) => n.text))].sort();

/**
 * The atoms of `peer` over `universe`, in a canonical form (sorted identities and
 * CIDRs, duplicate atoms dropped), so that equal resolutions compare equal.
 */
export function resolvePeer(peer: PeerMatch, universe: PeerUniverse): PeerAtom[] {
  if (universe.resolved === undefined) return resolveUncached(peer, universe);
  const key = JSON.stringify(peer);
  let found = universe.resolved.get(key);
  if (found === undefined) {
    found = resolveUncached(peer, universe);
    universe.resolved.set(key, found);
  }
  return found;
}

function resolveUncached(peer: PeerMatch, universe: PeerUniverse): PeerAtom[] {
  // Only `not` needs the whole universe: build it on first use.
  let cached: Set<number> | undefined;
  const all = (): ReadonlySet<number> => (cached ??= new Set<number>([...universe.identities.keys(), ...RESERVED_PEERS]));
  const seen = new Set<string>();
  const out: PeerAtom[] = [];
  const atoms = fromAtoms(resolveAtoms(peer, universe, all));
  if (atoms.length < 2) return atoms;
  for (const result of atoms) {
    const key = JSON.stringify(result);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(result);
  }
  return out;
}

function toAtom(peer: PeerAtom): Atom {
  const parse = (list: readonly string[]): Cidr[] => list.map(cidr).filter((c): c is Cidr => c !== undefined);
  return {
    ...(peer.identities === undefined ? {} : { ids: new Set<number>(peer.identities) }),
    ...(peer.cidrs === undefined ? {} : { nets: parse(peer.cidrs) }),
    except: parse(peer.except ?? []),
  };
}

function fromAtoms(atoms: readonly Atom[]): PeerAtom[] {
  return atoms.map((atom) => ({
    ...(atom.ids === undefined ? {} : { identities: [...atom.ids].sort((a, b) => a - b) as NumericIdentity[] }),
    ...(atom.nets === undefined ? {} : { cidrs: texts(atom.nets) }),
    ...(atom.except.length === 0 ? {} : { except: texts(atom.except) }),
  }));
}

/**
 * A test of whether an endpoint, as the remote side, falls in one of `peers`' atoms:
 * its identity (a host's as `host` or `remote-node`, whichever the local endpoint's
 * node makes it) and one of its addresses. What a rule's resolved peer selects, without
 * matching the IR peer again.
 */
export function remoteInPeers(peers: readonly PeerAtom[]): (endpoint: IndexedEndpoint) => boolean {
  const atoms = peers.map(toAtom);
  return (endpoint) => {
    const ids = endpoint.endpoint.kind === 'host' ? [RESERVED_IDENTITY.HOST, RESERVED_IDENTITY.REMOTE_NODE] : [endpoint.identity];
    return atoms.some((atom) => {
      if (atom.ids !== undefined && !ids.some((id) => atom.ids?.has(id) === true)) return false;
      if (atom.nets === undefined) return true;
      return endpoint.addresses.some((address) =>
        atom.nets?.some((net) => cidrContainsAddress(net, address)) === true && !atom.except.some((net) => cidrContainsAddress(net, address)));
    });
  };
}

/** `peers` restricted to the given host addresses (`a.b.c.d`, `fd00::1`). */
export function restrictToAddresses(peers: readonly PeerAtom[], addresses: readonly Cidr[]): PeerAtom[] {
  if (addresses.length === 0) return [];
  return fromAtoms(intersect(peers.map(toAtom), [{ nets: addresses, except: [] }]));
}

/** `peers` without the given host addresses. */
export function excludeAddresses(peers: readonly PeerAtom[], addresses: readonly Cidr[]): PeerAtom[] {
  if (addresses.length === 0) return [...peers];
  const outside = complement([{ nets: addresses, except: [] }], new Set());
  return fromAtoms(intersect(peers.map(toAtom), outside));
}
