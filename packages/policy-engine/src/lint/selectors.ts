// What lint can tell about selectors without a snapshot: when a conjunction can match
// nothing, and when one selector matches at least everything another does. Both are
// sound but incomplete: "unsatisfiable" and "covers" are only claimed when the
// structure shows it, never guessed.

import { type Selector } from '../model/selector.js';
import { deepEqual } from '../engine/equal.js';

interface KeyConstraint {
  /** The value must be one of these (intersection of every `in`). */
  allowed?: Set<string>;
  /** The value must be none of these. */
  forbidden: Set<string>;
  present: boolean;
  absent: boolean;
}

const conjuncts = (selector: Selector): readonly Selector[] => (selector.kind === 'and' ? selector.of : [selector]);

/**
 * Why a selector can match no subject (`app == "a" && app == "b"`), or `undefined` when
 * lint cannot tell.
 */
export function contradiction(selector: Selector): string | undefined {
  if (selector.kind === 'none') return 'it is !all()';
  const keys = new Map<string, KeyConstraint>();
  const namespaces = new Set<string>();
  const constraint = (key: string): KeyConstraint => {
    let found = keys.get(key);
    if (found === undefined) {
      found = { forbidden: new Set(), present: false, absent: false };
      keys.set(key, found);
    }
    return found;
  };
  for (const part of conjuncts(selector)) {
    if (part.kind === 'none') return 'it is !all()';
    if (part.kind === 'in') {
      const c = constraint(part.key);
      c.present = true;
      c.allowed = new Set(part.values.filter((v) => c.allowed === undefined || c.allowed.has(v)));
    } else if (part.kind === 'exists') {
      constraint(part.key).present = true;
    } else if (part.kind === 'in-namespace') {
      namespaces.add(part.namespace);
    } else if (part.kind === 'namespace') {
      const inner = contradiction(part.selector);
      if (inner !== undefined) return `its namespace selector can match nothing (${inner})`;
    } else if (part.kind === 'not' && part.of.kind === 'exists') {
      constraint(part.of.key).absent = true;
    } else if (part.kind === 'not' && part.of.kind === 'in') {
      for (const value of part.of.values) constraint(part.of.key).forbidden.add(value);
    } else if (part.kind === 'not' && part.of.kind === 'all') {
      return 'it is !all()';
    }
  }
  if (namespaces.size > 1) return `a subject cannot be in namespaces ${[...namespaces].join(' and ')} at once`;
  for (const [key, c] of keys) {
    if (c.present && c.absent) return `label ${key} must be both present and absent`;
    if (c.allowed !== undefined && [...c.allowed].every((v) => c.forbidden.has(v))) return `no value of label ${key} satisfies every test`;
  }
  return undefined;
}

/** Whether `outer` matches every subject `inner` matches (as far as structure shows). */
export function selectorCovers(outer: Selector, inner: Selector): boolean {
  if (outer.kind === 'all' || deepEqual(outer, inner)) return true;
  // Every conjunct of `outer` appears (or is implied by one) among those of `inner`.
  return conjuncts(outer).every((o) => conjuncts(inner).some((i) => deepEqual(o, i) || (o.kind === 'in' && i.kind === 'in' && o.key === i.key && i.values.every((v) => o.values.includes(v)))
    || (o.kind === 'exists' && i.kind === 'in' && o.key === i.key)));
}
