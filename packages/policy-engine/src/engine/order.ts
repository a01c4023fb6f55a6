// Evaluation order, as the snapshot sorts: tiers with the deny-precedence tier first,
// then by order (absent last) and name; policies by order (absent last), then name.

import { DENY_PRECEDENCE_TIER, type Policy, type Tier } from '../model/policy.js';

/** Calico's order: lower first, absent last, ties by name. */
export function compareOrder(a: { order?: number; name: string }, b: { order?: number; name: string }): number {
  if (a.order !== b.order) {
    if (a.order === undefined) return 1;
    if (b.order === undefined) return -1;
    return a.order - b.order;
  }
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Tiers in evaluation order: the deny-precedence tier first, whatever the orders. */
export function compareTiers(a: Tier, b: Tier): number {
  if (a.name === b.name) return 0;
  if (a.name === DENY_PRECEDENCE_TIER.name) return -1;
  if (b.name === DENY_PRECEDENCE_TIER.name) return 1;
  return compareOrder(a, b);
}

/** Policies of one tier in evaluation order; ties by name (namespace and kind only make the order total). */
export function comparePolicies(a: Policy, b: Policy): number {
  const key = (p: Policy): { order?: number; name: string } => {
    const name = `${p.ref.name}\u0000${p.ref.namespace ?? ''}\u0000${p.ref.kind}`;
    return p.order === undefined ? { name } : { order: p.order, name };
  };
  return compareOrder(key(a), key(b));
}
