/**
 * Evaluation of a selector against one label map, with Calico's semantics
 * (libcalico-go `selector/parser/ast.go`): `==`, `contains`, `starts with`, `ends with`,
 * `in` and `has()` need the label present; `!=` and `not in` match an absent label;
 * `all()` and `global()` match everything.
 */
import { type SelectorLabels, type SelectorNode } from './ast.js';

function lookup(labels: SelectorLabels, key: string): string | undefined {
  if (labels instanceof Map) return (labels as ReadonlyMap<string, string>).get(key);
  const record = labels as Readonly<Record<string, string>>;
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** True when `node` selects an endpoint (or namespace, or service account) with `labels`. */
export function evaluateSelector(node: SelectorNode, labels: SelectorLabels): boolean {
  switch (node.kind) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return lookup(labels, node.key) !== undefined;
    case 'eq':
      return lookup(labels, node.key) === node.value;
    case 'ne':
      return lookup(labels, node.key) !== node.value;
    case 'contains': {
      const v = lookup(labels, node.key);
      return v !== undefined && v.includes(node.value);
    }
    case 'startsWith': {
      const v = lookup(labels, node.key);
      return v !== undefined && v.startsWith(node.value);
    }
    case 'endsWith': {
      const v = lookup(labels, node.key);
      return v !== undefined && v.endsWith(node.value);
    }
    case 'in': {
      const v = lookup(labels, node.key);
      return v !== undefined && node.values.includes(v);
    }
    case 'notIn': {
      const v = lookup(labels, node.key);
      return v === undefined || !node.values.includes(v);
    }
    case 'not':
      return !evaluateSelector(node.operand, labels);
    case 'and':
      return node.operands.every((o) => evaluateSelector(o, labels));
    case 'or':
      return node.operands.some((o) => evaluateSelector(o, labels));
  }
}
