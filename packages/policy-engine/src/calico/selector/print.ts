/**
 * The canonical printer of selector expressions: one space around binary operators,
 * `{"a", "b"}` sets, double quotes unless the value holds a `"`, and only the parentheses
 * needed to give back the same tree, so `parseSelector(printSelector(n))` deep-equals `n`.
 */
import { CalicoError, POLICY_ERROR_CODE } from '../../errors.js';
import { SELECTOR_LABEL_KEY_PATTERN, type SelectorNode } from './ast.js';

const OPERATOR_TEXT = {
  eq: '==',
  ne: '!=',
  contains: 'contains',
  startsWith: 'starts with',
  endsWith: 'ends with',
} as const;

function quote(value: string): string {
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  // Calico strings have no escapes, so such a value can never come from a parsed selector.
  throw new CalicoError(
    POLICY_ERROR_CODE.INVALID_VALUE,
    '',
    `selector value ${JSON.stringify(value)} holds both quote characters and cannot be written (Calico strings have no escapes)`,
  );
}

function key(k: string): string {
  if (!SELECTOR_LABEL_KEY_PATTERN.test(k)) {
    throw new CalicoError(POLICY_ERROR_CODE.INVALID_VALUE, '', `selector label key ${JSON.stringify(k)} has characters outside [a-zA-Z0-9_./-]`);
  }
  return k;
}

/** Nodes that print as one unit and need no parentheses under `!`. */
function isAtom(node: SelectorNode): boolean {
  return node.kind === 'all' || node.kind === 'global' || node.kind === 'has';
}

/**
 * Prints a selector tree as canonical Calico selector text.
 *
 * @throws {@link CalicoError} (`invalid-value`) for a tree no selector text can
 *   express: a value holding both `'` and `"`, or a label key with other characters.
 */
export function printSelector(node: SelectorNode): string {
  switch (node.kind) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${key(node.key)})`;
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      return `${key(node.key)} ${OPERATOR_TEXT[node.kind]} ${quote(node.value)}`;
    case 'in':
    case 'notIn':
      return `${key(node.key)} ${node.kind === 'in' ? 'in' : 'not in'} {${node.values.map(quote).join(', ')}}`;
    case 'not':
      return isAtom(node.operand) ? `!${printSelector(node.operand)}` : `!(${printSelector(node.operand)})`;
    case 'and':
      // A nested && or || keeps its parentheses so the tree survives a round trip.
      return node.operands
        .map((o) => (o.kind === 'and' || o.kind === 'or' ? `(${printSelector(o)})` : printSelector(o)))
        .join(' && ');
    case 'or':
      return node.operands.map((o) => (o.kind === 'or' ? `(${printSelector(o)})` : printSelector(o))).join(' || ');
  }
}
