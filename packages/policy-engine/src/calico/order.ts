/**
 * Calico's policy ordering. Tiers apply by tier order (lower first; a tier without an
 * order goes last; ties by tier name); within a tier, policies apply by `order` (lower
 * first; absent last, as if infinite; ties by name). The default tier has order
 * 1,000,000 unless a `Tier` object says otherwise; a tier with no `Tier` object known
 * is treated as having no order.
 *
 * The name compared is the policy's qualified name, prefixed by `<namespace>/` for a
 * NetworkPolicy (Felix keys namespaced policies by namespace and name), so two policies
 * never compare equal unless they are the same policy.
 */
import { CALICO_DEFAULT_TIER, CALICO_DEFAULT_TIER_ORDER, type CalicoPolicy, type CalicoTier } from './types.js';

/** Compares two optional orders: lower first, absent last. */
export function compareCalicoOrder(a: number | undefined, b: number | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareText(a: string, b: string): number {
  // Byte-wise like Go's string comparison (for ASCII names, code units agree).
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The name a policy sorts by within its tier (see the module comment). */
export function calicoPolicySortName(policy: CalicoPolicy): string {
  return policy.kind === 'NetworkPolicy' ? `${policy.namespace}/${policy.qualifiedName}` : policy.qualifiedName;
}

/**
 * Builds a comparator that sorts policies in the order Calico applies them, given the
 * known tiers.
 *
 * @example `policies.toSorted(createCalicoPolicyComparator(tiers))`
 */
export function createCalicoPolicyComparator(tiers: readonly CalicoTier[]): (a: CalicoPolicy, b: CalicoPolicy) => number {
  const tierOrder = new Map<string, number | undefined>([[CALICO_DEFAULT_TIER, CALICO_DEFAULT_TIER_ORDER]]);
  for (const tier of tiers) tierOrder.set(tier.metadata.name, tier.order);
  return (a, b) =>
    compareCalicoOrder(tierOrder.get(a.tier), tierOrder.get(b.tier)) ||
    compareText(a.tier, b.tier) ||
    compareCalicoOrder(a.order, b.order) ||
    compareText(calicoPolicySortName(a), calicoPolicySortName(b));
}

/**
 * Sorts tiers in the order Calico applies them: by order, absent last, ties by name.
 * Returns a new array.
 */
export function sortCalicoTiers(tiers: readonly CalicoTier[]): CalicoTier[] {
  return [...tiers].sort((a, b) => compareCalicoOrder(a.order, b.order) || compareText(a.metadata.name, b.metadata.name));
}
