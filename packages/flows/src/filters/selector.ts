// Label selectors for the label filters, over labels written `source:key=value` (Hubble's
// and Cilium's form: `k8s:app=frontend`, `reserved:world`). A selector is requirements
// joined by commas, all of which must hold:
//   key        a label with that key exists          !key        none exists
//   key=value  (or key==value) one has that value     key!=value  none has that value
//   key in (a,b)   one has one of the values          key notin (a,b)  none has any of them
// A key may carry a source (`k8s:app`): only labels of that source count; without one
// (or with `any:`) labels of every source do.

/** One parsed endpoint label. */
interface Label {
  readonly source: string;
  readonly key: string;
  readonly value: string;
}

/** One requirement of a selector. */
interface Requirement {
  readonly source: string | undefined;
  readonly key: string;
  readonly op: 'exists' | 'absent' | 'in' | 'notin';
  readonly values: readonly string[];
}

/** A compiled selector: whether a label list satisfies it. */
export type LabelSelector = (labels: readonly string[]) => boolean;

const KEY = /^[A-Za-z0-9]([A-Za-z0-9_.\-/]*[A-Za-z0-9])?$/;
const SOURCE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const VALUE = /^([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?$/;

/** Splits at commas outside parentheses. */
function splitTop(text: string): string[] | string {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') {
      if (++depth > 1) return 'nested parentheses';
    } else if (c === ')') {
      if (--depth < 0) return 'a ")" without "("';
    } else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) return 'a "(" without ")"';
  out.push(text.slice(start));
  return out;
}

function parseKey(text: string): { source: string | undefined; key: string } | string {
  const colon = text.indexOf(':');
  const source = colon >= 0 ? text.slice(0, colon) : undefined;
  const key = colon >= 0 ? text.slice(colon + 1) : text;
  if (source !== undefined && !SOURCE.test(source)) return `${JSON.stringify(source)} is not a label source`;
  if (!KEY.test(key)) return `${JSON.stringify(key)} is not a label key`;
  return { source: source === 'any' ? undefined : source, key };
}

function parseValue(text: string): string | { error: string } {
  const v = text.trim();
  return VALUE.test(v) ? v : { error: `${JSON.stringify(v)} is not a label value` };
}

function parseRequirement(text: string): Requirement | string {
  const t = text.trim();
  if (t === '') return 'an empty requirement';
  const set = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(t);
  if (set !== null) {
    const key = parseKey(set[1] as string);
    if (typeof key === 'string') return key;
    const values: string[] = [];
    for (const raw of (set[3] as string).split(',')) {
      const v = parseValue(raw);
      if (typeof v !== 'string') return v.error;
      values.push(v);
    }
    return { ...key, op: set[2] === 'in' ? 'in' : 'notin', values };
  }
  const cmp = /^([^!=\s]+)\s*(!=|==|=)\s*(.*)$/.exec(t);
  if (cmp !== null) {
    const key = parseKey(cmp[1] as string);
    if (typeof key === 'string') return key;
    const v = parseValue(cmp[3] as string);
    if (typeof v !== 'string') return v.error;
    return { ...key, op: cmp[2] === '!=' ? 'notin' : 'in', values: [v] };
  }
  const negated = t.startsWith('!');
  const key = parseKey(negated ? t.slice(1).trim() : t);
  if (typeof key === 'string') return key;
  return { ...key, op: negated ? 'absent' : 'exists', values: [] };
}

/** Parses one `source:key=value` label of an endpoint. */
export function parseLabel(text: string): Label {
  const eq = text.indexOf('=');
  const left = eq >= 0 ? text.slice(0, eq) : text;
  const value = eq >= 0 ? text.slice(eq + 1) : '';
  const colon = left.indexOf(':');
  return colon >= 0 ? { source: left.slice(0, colon), key: left.slice(colon + 1), value } : { source: '', key: left, value };
}

const parsedLabels = new WeakMap<readonly string[], readonly Label[]>();

function labelsOf(labels: readonly string[]): readonly Label[] {
  let parsed = parsedLabels.get(labels);
  if (parsed === undefined) {
    parsed = labels.map(parseLabel);
    parsedLabels.set(labels, parsed);
  }
  return parsed;
}

function holds(r: Requirement, labels: readonly Label[]): boolean {
  const matching = labels.filter((l) => l.key === r.key && (r.source === undefined || l.source === r.source));
  switch (r.op) {
    case 'exists':
      return matching.length > 0;
    case 'absent':
      return matching.length === 0;
    case 'in':
      return matching.some((l) => r.values.includes(l.value));
    case 'notin':
      return !matching.some((l) => r.values.includes(l.value));
  }
}

/** Compiles a selector; returns the reason as a string when `text` is not one. */
export function compileLabelSelector(text: string): LabelSelector | string {
  const parts = splitTop(text);
  if (typeof parts === 'string') return parts;
  const requirements: Requirement[] = [];
  for (const part of parts) {
    const r = parseRequirement(part);
    if (typeof r === 'string') return r;
    requirements.push(r);
  }
  return (labels) => {
    const parsed = labelsOf(labels);
    return requirements.every((r) => holds(r, parsed));
  };
}
