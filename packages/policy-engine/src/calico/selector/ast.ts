/**
 * The abstract syntax tree of a Calico selector expression. The shapes mirror Calico's
 * own nodes (libcalico-go `selector/parser`): comparisons on one label, `has()`, `all()`,
 * `global()`, negation, and n-ary `&&` / `||` (a chain `a && b && c` is one `and` node).
 *
 * Invariants that {@link parseSelector} guarantees and {@link printSelector} relies on:
 * `and` / `or` have at least two operands; `in` / `notIn` values are sorted and unique
 * (Calico stores them as a sorted string set); label keys match
 * {@link SELECTOR_LABEL_KEY_PATTERN}.
 */

/** The characters Calico allows in a label key inside a selector (tokenizer `findIdentifier`). */
export const SELECTOR_LABEL_KEY_PATTERN = /^[a-zA-Z0-9_./-]+$/;

/** The comparison operators that take one quoted value. */
export const SELECTOR_VALUE_OPERATORS = ['eq', 'ne', 'contains', 'startsWith', 'endsWith'] as const;

/** One of {@link SELECTOR_VALUE_OPERATORS}. */
export type SelectorValueOperator = (typeof SELECTOR_VALUE_OPERATORS)[number];

/** `all()` (or the empty selector): matches every label set. */
export interface SelectorAll {
  /** Always `all`. */
  readonly kind: 'all';
}

/**
 * `global()`: matches every label set. Its meaning is in where it is allowed: only as a
 * rule's `namespaceSelector`, where it selects non-namespaced endpoints (global network
 * sets and host endpoints) instead of namespaced ones.
 */
export interface SelectorGlobal {
  /** Always `global`. */
  readonly kind: 'global';
}

/** `has(key)`: the label is present, whatever its value. */
export interface SelectorHas {
  /** Always `has`. */
  readonly kind: 'has';
  /** The label key. */
  readonly key: string;
}

/**
 * `key == "v"`, `key != "v"`, `key contains "v"`, `key starts with "v"`,
 * `key ends with "v"`. Only `!=` matches when the label is absent.
 */
export interface SelectorCompare {
  /** The operator: `eq` (`==`), `ne` (`!=`), `contains`, `startsWith` (`starts with`), `endsWith` (`ends with`). */
  readonly kind: SelectorValueOperator;
  /** The label key. */
  readonly key: string;
  /** The value compared with, unquoted. */
  readonly value: string;
}

/** `key in {"a", "b"}` and `key not in {...}`; `not in` matches when the label is absent. */
export interface SelectorSet {
  /** `in` or `notIn` (`not in`). */
  readonly kind: 'in' | 'notIn';
  /** The label key. */
  readonly key: string;
  /** Sorted, without duplicates. */
  readonly values: readonly string[];
}

/** `!expr`. */
export interface SelectorNot {
  /** Always `not`. */
  readonly kind: 'not';
  /** The negated expression. */
  readonly operand: SelectorNode;
}

/** `a && b && ...` (at least two operands). */
export interface SelectorAnd {
  /** Always `and`. */
  readonly kind: 'and';
  /** The operands, in written order; all must match. */
  readonly operands: readonly SelectorNode[];
}

/** `a || b || ...` (at least two operands). */
export interface SelectorOr {
  /** Always `or`. */
  readonly kind: 'or';
  /** The operands, in written order; one must match. */
  readonly operands: readonly SelectorNode[];
}

/** Any node of a selector expression. */
export type SelectorNode =
  | SelectorAll
  | SelectorGlobal
  | SelectorHas
  | SelectorCompare
  | SelectorSet
  | SelectorNot
  | SelectorAnd
  | SelectorOr;

/** The label map a selector is evaluated against: a plain object or a `Map`. */
export type SelectorLabels = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

/**
 * True when the expression contains `global()` anywhere. Calico allows `global()` only as
 * the whole of a rule's `namespaceSelector`; the document validators use this to say so.
 */
export function selectorUsesGlobal(node: SelectorNode): boolean {
  switch (node.kind) {
    case 'global':
      return true;
    case 'not':
      return selectorUsesGlobal(node.operand);
    case 'and':
    case 'or':
      return node.operands.some(selectorUsesGlobal);
    default:
      return false;
  }
}
