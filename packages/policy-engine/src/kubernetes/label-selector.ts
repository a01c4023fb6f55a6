// metav1.LabelSelector: validation (ValidateLabelSelector in apimachinery) and
// translation to the selector AST.

import { POLICY_ERROR_CODE } from '../errors.js';
import { type DocumentReader, join } from '../internal/document.js';
import { allOf, labelEquals, not, type Selector } from '../model/selector.js';
import { labelKeyProblem, labelValueProblem } from './names.js';
import { LABEL_SELECTOR_OPERATOR, type LabelSelector, type LabelSelectorOperator, type LabelSelectorRequirement } from './types.js';

const OPERATORS: readonly string[] = Object.values(LABEL_SELECTOR_OPERATOR);

function readRequirement(reader: DocumentReader, value: unknown, path: string): LabelSelectorRequirement | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['key', 'operator', 'values'], path);
  const before = reader.errors.length;
  const keyValue = reader.field(object, 'key');
  const key = keyValue === undefined ? reader.fail(POLICY_ERROR_CODE.REQUIRED, join(path, 'key'), 'required') : reader.string(keyValue, join(path, 'key'));
  if (key !== undefined) {
    const problem = labelKeyProblem(key);
    if (problem !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, join(path, 'key'), `invalid label key ${JSON.stringify(key)}: ${problem}`);
  }
  const operatorValue = reader.field(object, 'operator');
  const operatorText = operatorValue === undefined
    ? reader.fail(POLICY_ERROR_CODE.REQUIRED, join(path, 'operator'), 'required')
    : reader.string(operatorValue, join(path, 'operator'));
  let operator: LabelSelectorOperator | undefined;
  if (operatorText !== undefined) {
    if (OPERATORS.includes(operatorText)) operator = operatorText as LabelSelectorOperator;
    else {
      reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, join(path, 'operator'),
        `unknown operator ${JSON.stringify(operatorText)}: must be one of In, NotIn, Exists, DoesNotExist`);
    }
  }
  const valuesValue = reader.field(object, 'values');
  const values: string[] = [];
  if (valuesValue !== undefined) {
    reader.array(valuesValue, join(path, 'values'))?.forEach((entry, index) => {
      const valuePath = `${join(path, 'values')}[${index}]`;
      const text = reader.string(entry, valuePath);
      if (text === undefined) return;
      const problem = labelValueProblem(text);
      if (problem !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, valuePath, `invalid label value ${JSON.stringify(text)}: ${problem}`);
      values.push(text);
    });
  }
  if (operator === 'In' || operator === 'NotIn') {
    if (values.length === 0) reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, join(path, 'values'), `must not be empty when operator is ${operator}`);
  } else if (operator !== undefined && values.length > 0) {
    reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, join(path, 'values'), `must be empty when operator is ${operator}`);
  }
  if (reader.errors.length > before || key === undefined || operator === undefined) return undefined;
  return operator === 'In' || operator === 'NotIn' ? { key, operator, values } : { key, operator };
}

/**
 * Reads and validates a label selector at `path`. Returns `undefined` (with errors
 * recorded) when it is invalid.
 */
export function readLabelSelector(reader: DocumentReader, value: unknown, path: string): LabelSelector | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['matchLabels', 'matchExpressions'], path);
  const before = reader.errors.length;
  const selector: { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] } = {};
  const labelsValue = reader.field(object, 'matchLabels');
  if (labelsValue !== undefined) {
    const labelsPath = join(path, 'matchLabels');
    const labels = reader.stringMap(labelsValue, labelsPath);
    if (labels !== undefined) {
      for (const [key, label] of Object.entries(labels)) {
        const keyProblem = labelKeyProblem(key);
        const entryPath = `${labelsPath}[${JSON.stringify(key)}]`;
        if (keyProblem !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, entryPath, `invalid label key ${JSON.stringify(key)}: ${keyProblem}`);
        const valueProblem = labelValueProblem(label);
        if (valueProblem !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, entryPath, `invalid label value ${JSON.stringify(label)}: ${valueProblem}`);
      }
      selector.matchLabels = labels;
    }
  }
  const expressionsValue = reader.field(object, 'matchExpressions');
  if (expressionsValue !== undefined) {
    const expressionsPath = join(path, 'matchExpressions');
    const expressions: LabelSelectorRequirement[] = [];
    reader.array(expressionsValue, expressionsPath)?.forEach((entry, index) => {
      const requirement = readRequirement(reader, entry, `${expressionsPath}[${index}]`);
      if (requirement !== undefined) expressions.push(requirement);
    });
    selector.matchExpressions = expressions;
  }
  return reader.errors.length > before ? undefined : selector;
}

/**
 * The selector AST of a label selector: matchLabels and matchExpressions ANDed; an
 * empty selector matches everything. `NotIn` and `DoesNotExist` match subjects without
 * the key, as in apimachinery's labels.Requirement.
 */
export function labelSelectorToSelector(selector: LabelSelector): Selector {
  const parts: Selector[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => labelEquals(key, value));
  for (const requirement of selector.matchExpressions ?? []) {
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        parts.push({ kind: 'in', key: requirement.key, values });
        break;
      case 'NotIn':
        parts.push(not({ kind: 'in', key: requirement.key, values }));
        break;
      case 'Exists':
        parts.push({ kind: 'exists', key: requirement.key });
        break;
      case 'DoesNotExist':
        parts.push(not({ kind: 'exists', key: requirement.key }));
        break;
    }
  }
  return allOf(...parts);
}
