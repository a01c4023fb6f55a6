/**
 * Calico's selector language: tokenize, parse, evaluate, print.
 * @packageDocumentation
 */
export {
  SELECTOR_LABEL_KEY_PATTERN,
  SELECTOR_VALUE_OPERATORS,
  selectorUsesGlobal,
  type SelectorAll,
  type SelectorAnd,
  type SelectorCompare,
  type SelectorGlobal,
  type SelectorHas,
  type SelectorLabels,
  type SelectorNode,
  type SelectorNot,
  type SelectorOr,
  type SelectorSet,
  type SelectorValueOperator,
} from './ast.js';
export { evaluateSelector } from './evaluate.js';
export { parseSelector } from './parser.js';
export { printSelector } from './print.js';
export { SELECTOR_TOKEN_KIND, tokenizeSelector, type SelectorToken, type SelectorTokenKind } from './tokenizer.js';
