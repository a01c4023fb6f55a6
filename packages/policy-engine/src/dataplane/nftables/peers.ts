// A rule's remote peer atoms → address ranges. Identities become the addresses the
// identity map gives them; `world` (and its per-family variants) is "not a cluster
// address", which no finite set holds, so it stays a test against the cluster set.

import { RESERVED_IDENTITY, type NumericIdentity } from '../../identity/reserved.js';
import { type IpFamily } from '../../model/cidr.js';
import { type PeerAtom } from '../../engine/types.js';
import { addressRange, subtractRanges, unionRanges, type AddressRange } from './ranges.js';

/** Address → identity knowledge the generator needs: each identity's addresses. */
export type IdentityAddresses = ReadonlyMap<NumericIdentity, readonly string[]>;

/** What one peer atom matches: any address, these ranges, or outside addresses (world). */
export type AtomAddresses =
  | { readonly kind: 'any' }
  | { readonly kind: 'ranges'; readonly ranges: readonly AddressRange[] }
  | { readonly kind: 'world'; readonly families: readonly IpFamily[]; readonly ranges?: readonly AddressRange[] };

const WORLD_FAMILIES = new Map<number, readonly IpFamily[]>([
  [RESERVED_IDENTITY.WORLD, [4, 6]],
  [RESERVED_IDENTITY.WORLD_IPV4, [4]],
  [RESERVED_IDENTITY.WORLD_IPV6, [6]],
]);

function ranges(texts: readonly string[]): AddressRange[] {
  return texts.flatMap((t) => {
    const r = addressRange(t);
    return r === undefined ? [] : [r];
  });
}

// Keeps the parts of `addresses` inside `within`: exact for /32 and /128 addresses and
// for prefixes, which nest or are disjoint.
function intersect(addresses: readonly AddressRange[], within: readonly AddressRange[]): AddressRange[] {
  const out: AddressRange[] = [];
  for (const a of addresses) {
    for (const w of within) {
      if (a.family !== w.family) continue;
      const first = a.first > w.first ? a.first : w.first;
      const last = a.last < w.last ? a.last : w.last;
      if (first <= last) out.push({ family: a.family, first, last });
    }
  }
  return unionRanges(out);
}

/**
 * The addresses one atom matches, split into a finite part and a world part (either may
 * be absent; an empty result means the atom matches nothing). Every identity listed in
 * `identities` contributes the addresses `known` gives it.
 */
export function atomAddresses(atom: PeerAtom, known: IdentityAddresses): AtomAddresses[] {
  const nets = atom.cidrs === undefined ? undefined : subtractRanges(ranges(atom.cidrs), ranges(atom.except ?? []));
  if (atom.identities === undefined) {
    if (nets === undefined) return [{ kind: 'any' }];
    return nets.length === 0 ? [] : [{ kind: 'ranges', ranges: nets }];
  }
  const out: AtomAddresses[] = [];
  const worldFamilies = new Set<IpFamily>();
  const finite: AddressRange[] = [];
  for (const identity of atom.identities) {
    const families = WORLD_FAMILIES.get(identity);
    if (families !== undefined) families.forEach((f) => worldFamilies.add(f));
    else finite.push(...ranges(known.get(identity) ?? []));
  }
  const inside = nets === undefined ? unionRanges(finite) : intersect(finite, nets);
  if (inside.length > 0) out.push({ kind: 'ranges', ranges: inside });
  if (worldFamilies.size > 0) {
    const families = [...worldFamilies].sort();
    if (nets === undefined) {
      out.push({ kind: 'world', families });
    } else {
      const within = nets.filter((n) => worldFamilies.has(n.family));
      if (within.length > 0) out.push({ kind: 'world', families: [...new Set(within.map((n) => n.family))].sort(), ranges: within });
    }
  }
  return out;
}

/** Every identity an atom list names (the rules to recompile when one's addresses move). */
export function atomIdentities(atoms: readonly PeerAtom[]): NumericIdentity[] {
  return atoms.flatMap((a) => a.identities ?? []);
}
