// Label and field selectors with the syntax and errors of k8s.io/apimachinery
// pkg/labels (selector.go's lexer and parser) and pkg/fields (selector.go).

import { badRequest } from './status.js';

/** One label requirement. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';
  readonly values: readonly string[];
}

/** A parsed label selector: every requirement must hold (empty matches everything). */
export type LabelSelector = readonly LabelRequirement[];

const qualifiedNamePart = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key, or undefined (validation.IsQualifiedName). */
function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length > 2) return `a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`;
  if (parts.length === 2 && (parts[0]!.length === 0 || parts[0]!.length > 253 || !subdomain.test(parts[0]!))) return 'prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character';
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!qualifiedNamePart.test(name)) return 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character (e.g. \'MyName\',  or \'my.name\',  or \'123-abc\', regex used for validation is \'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\')';
  return undefined;
}

/** Why `value` is not a valid label value, or undefined (validation.IsValidLabelValue). */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (value !== '' && !qualifiedNamePart.test(value)) return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  return undefined;
}

type Token = { kind: 'id' | 'op' | '(' | ')' | ',' | 'end'; text: string };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c === '(' || c === ')' || c === ',') { tokens.push({ kind: c, text: c }); i++; continue; }
    const two = input.slice(i, i + 2);
    if (two === '==' || two === '!=') { tokens.push({ kind: 'op', text: two }); i += 2; continue; }
    if (c === '=' || c === '!' || c === '<' || c === '>') { tokens.push({ kind: 'op', text: c }); i++; continue; }
    let j = i;
    while (j < input.length && !' \t\n\r(),=!<>'.includes(input[j]!)) j++;
    tokens.push({ kind: 'id', text: input.slice(i, j) });
    i = j;
  }
  tokens.push({ kind: 'end', text: '' });
  return tokens;
}

function parseError(message: string): Error {
  return badRequest(`unable to parse requirement: ${message}`);
}

/** Parses a labelSelector query value; a syntax error is 400 BadRequest. */
export function parseLabelSelector(input: string): LabelSelector {
  const tokens = tokenize(input);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const next = (): Token => tokens[pos++]!;
  const requirements: LabelRequirement[] = [];
  if (peek().kind === 'end') return requirements;
  for (;;) {
    let negated = false;
    if (peek().kind === 'op' && peek().text === '!') { next(); negated = true; }
    const keyToken = next();
    if (keyToken.kind !== 'id') throw badRequest(`found '${keyToken.text}', expected: !, identifier, or 'end of string'`);
    const key = keyToken.text;
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) throw parseError(`key: Invalid value: ${JSON.stringify(key)}: ${keyProblem}`);
    if (negated) {
      requirements.push({ key, operator: '!', values: [] });
    } else if (peek().kind === ',' || peek().kind === 'end') {
      requirements.push({ key, operator: 'exists', values: [] });
    } else {
      const opToken = next();
      let operator: LabelRequirement['operator'];
      if (opToken.kind === 'op' && (opToken.text === '=' || opToken.text === '==')) operator = '=';
      else if (opToken.kind === 'op' && opToken.text === '!=') operator = '!=';
      else if (opToken.kind === 'op' && opToken.text === '>') operator = 'gt';
      else if (opToken.kind === 'op' && opToken.text === '<') operator = 'lt';
      else if (opToken.kind === 'id' && opToken.text === 'in') operator = 'in';
      else if (opToken.kind === 'id' && opToken.text === 'notin') operator = 'notin';
      else throw badRequest(`found '${opToken.text}', expected: in, notin, =, ==, !=, gt, lt`);
      const values: string[] = [];
      if (operator === 'in' || operator === 'notin') {
        const open = next();
        if (open.kind !== '(') throw badRequest(`found '${open.text}', expected: '('`);
        for (;;) {
          const t = peek();
          if (t.kind === 'id') { values.push(next().text); }
          else if (t.kind === ',' || t.kind === ')') { values.push(''); }
          else throw badRequest(`found '${t.text}', expected: ',', or identifier`);
          const sep = next();
          if (sep.kind === ')') break;
          if (sep.kind !== ',') throw badRequest(`found '${sep.text}', expected: ',' or ')'`);
        }
        if (values.length === 0) throw parseError(`values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty`);
      } else {
        const t = peek();
        if (t.kind === 'id') values.push(next().text);
        else if (t.kind === ',' || t.kind === 'end') values.push('');
        else throw badRequest(`found '${t.text}', expected: identifier`);
        if ((operator === 'gt' || operator === 'lt') && !/^-?\d+$/.test(values[0]!)) {
          throw parseError(`values[0]: Invalid value: ${JSON.stringify(values[0])}: for 'Gt', 'Lt' operators, the value must be an integer`);
        }
      }
      if (operator !== 'gt' && operator !== 'lt') {
        values.forEach((v, i) => {
          const problem = labelValueProblem(v);
          if (problem !== undefined) throw parseError(`values[${i}][${key}]: Invalid value: ${JSON.stringify(v)}: ${problem}`);
        });
      }
      requirements.push({ key, operator, values });
    }
    const sep = next();
    if (sep.kind === 'end') return requirements;
    if (sep.kind !== ',') throw badRequest(`found '${sep.text}', expected: ',' or 'end of string'`);
  }
}

/** Whether `labels` satisfy every requirement of `selector`. */
export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const value = l[r.key];
    switch (r.operator) {
      case 'exists': return has;
      case '!': return !has;
      case '=': return has && value === r.values[0];
      case '!=': return !has || value !== r.values[0];
      case 'in': return has && r.values.includes(value!);
      case 'notin': return !has || !r.values.includes(value!);
      case 'gt': return has && /^-?\d+$/.test(value!) && Number(value) > Number(r.values[0]);
      case 'lt': return has && /^-?\d+$/.test(value!) && Number(value) < Number(r.values[0]);
    }
    return false;
  });
}

/** One field requirement (`spec.nodeName=n1`, `metadata.name!=x`). */
export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

/** Parses a fieldSelector query value (with `\` escapes); a syntax error is 400. */
export function parseFieldSelector(input: string): FieldRequirement[] {
  if (input.trim() === '') return [];
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && i + 1 < input.length) { current += c + input[i + 1]; i++; continue; }
    if (c === ',') { parts.push(current); current = ''; continue; }
    current += c;
  }
  parts.push(current);
  return parts.map((part) => {
    const m = /^([^=!]*?)(==|!=|=)(.*)$/s.exec(part);
    if (m === null) throw badRequest(`invalid selector: '${input}'; can't understand '${part}'`);
    const value = m[3]!.replace(/\\(.)/g, '$1');
    return { field: m[1]!.trim(), operator: m[2] === '!=' ? '!=' : '=', value };
  });
}

/** Whether `read(field)` satisfies every requirement. */
export function matchesFields(selector: readonly FieldRequirement[], read: (field: string) => string): boolean {
  return selector.every((r) => (r.operator === '=' ? read(r.field) === r.value : read(r.field) !== r.value));
}
