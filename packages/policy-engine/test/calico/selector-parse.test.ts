import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  CalicoError,
  parseSelector,
  printSelector,
  SelectorSyntaxError,
  tokenizeSelector,
  type SelectorNode,
} from '../../src/calico/index.js';

describe('parseSelector', () => {
  it('builds the tree with ! over && over ||', () => {
    expect(parseSelector('a == "1" || !has(b) && c != "2"')).toEqual({
      kind: 'or',
      operands: [
        { kind: 'eq', key: 'a', value: '1' },
        {
          kind: 'and',
          operands: [
            { kind: 'not', operand: { kind: 'has', key: 'b' } },
            { kind: 'ne', key: 'c', value: '2' },
          ],
        },
      ],
    });
  });

  it('flattens chains and keeps explicit grouping', () => {
    expect(parseSelector('has(a) && has(b) && has(c)')).toEqual({
      kind: 'and',
      operands: [{ kind: 'has', key: 'a' }, { kind: 'has', key: 'b' }, { kind: 'has', key: 'c' }],
    });
    expect(parseSelector('(has(a) && has(b)) && has(c)')).toEqual({
      kind: 'and',
      operands: [{ kind: 'and', operands: [{ kind: 'has', key: 'a' }, { kind: 'has', key: 'b' }] }, { kind: 'has', key: 'c' }],
    });
  });

  it('reads every comparison operator and both quotes', () => {
    expect(parseSelector(`k contains 'x"y'`)).toEqual({ kind: 'contains', key: 'k', value: 'x"y' });
    expect(parseSelector('k starts with "p"')).toEqual({ kind: 'startsWith', key: 'k', value: 'p' });
    expect(parseSelector('k ends with ""')).toEqual({ kind: 'endsWith', key: 'k', value: '' });
    expect(parseSelector('global()')).toEqual({ kind: 'global' });
  });

  it('sorts and de-duplicates set values, and accepts a trailing comma', () => {
    expect(parseSelector("k in {'b', 'a', 'b',}")).toEqual({ kind: 'in', key: 'k', values: ['a', 'b'] });
    expect(parseSelector('k not in {}')).toEqual({ kind: 'notIn', key: 'k', values: [] });
  });

  it('collapses leading ! by parity but keeps ! around a group', () => {
    expect(parseSelector('!!has(a)')).toEqual({ kind: 'has', key: 'a' });
    expect(parseSelector('!(!has(a))')).toEqual({ kind: 'not', operand: { kind: 'not', operand: { kind: 'has', key: 'a' } } });
  });

  it('treats the empty selector as all()', () => {
    expect(parseSelector('')).toEqual({ kind: 'all' });
    expect(parseSelector(' \t ')).toEqual({ kind: 'all' });
  });

  it('tokenizes with positions', () => {
    expect(tokenizeSelector('a in {"x"}').map((t) => [t.kind, t.value, t.pos])).toEqual([
      ['label', 'a', 0],
      ['in', '', 2],
      ['{', '', 5],
      ['string', 'x', 6],
      ['}', '', 9],
      ['end', '', 10],
    ]);
  });
});

describe('printSelector', () => {
  it.each([
    ['', 'all()'],
    ['  app=="web"  ', 'app == "web"'],
    [`q == 'say "hi"'`, `q == 'say "hi"'`],
    ["k in {'b','a'}", 'k in {"a", "b"}'],
    ['k notin{}', 'k not in {}'],
    ['!k == "v"', '!(k == "v")'],
    ['! has( k )', '!has(k)'],
    ['(a == "1" || b == "2") && c == "3"', '(a == "1" || b == "2") && c == "3"'],
    ['a == "1" || (b == "2" && c == "3")', 'a == "1" || b == "2" && c == "3"'],
    ['(a == "1" || b == "2") || c == "3"', '(a == "1" || b == "2") || c == "3"'],
    ['k starts  with "x" && k ends with"y" && k contains "z"', 'k starts with "x" && k ends with "y" && k contains "z"'],
  ])('prints %j as %j', (input, expected) => {
    expect(printSelector(parseSelector(input))).toBe(expected);
  });

  it('refuses a value no Calico string can hold', () => {
    expect(() => printSelector({ kind: 'eq', key: 'k', value: `'"` })).toThrow(CalicoError);
    expect(() => printSelector({ kind: 'has', key: 'bad key' })).toThrow(/outside \[a-zA-Z0-9_.\/-\]/);
  });
});

// Generated trees obey the parser's invariants: and/or have two or more operands, set
// values are sorted and unique, and no value holds both quote characters.
const key = fc.stringMatching(/^[a-zA-Z0-9_./-]{1,12}$/);
const value = fc.string({ maxLength: 8 }).filter((s) => !(s.includes('"') && s.includes("'")));
const leaf: fc.Arbitrary<SelectorNode> = fc.oneof(
  fc.constant<SelectorNode>({ kind: 'all' }),
  fc.constant<SelectorNode>({ kind: 'global' }),
  key.map((k): SelectorNode => ({ kind: 'has', key: k })),
  fc
    .tuple(fc.constantFrom('eq', 'ne', 'contains', 'startsWith', 'endsWith' as const), key, value)
    .map(([kind, k, v]): SelectorNode => ({ kind, key: k, value: v })),
  fc
    .tuple(fc.constantFrom('in', 'notIn' as const), key, fc.uniqueArray(value, { maxLength: 4 }))
    .map(([kind, k, vs]): SelectorNode => ({ kind, key: k, values: [...vs].sort() })),
);
const { node } = fc.letrec<{ node: SelectorNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('node').map((operand): SelectorNode => ({ kind: 'not', operand })),
    fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((operands): SelectorNode => ({ kind: 'and', operands })),
    fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((operands): SelectorNode => ({ kind: 'or', operands })),
  ),
}));

describe('round trip', () => {
  it('parse(print(ast)) equals ast for generated trees', () => {
    fc.assert(
      fc.property(node, (ast) => {
        expect(parseSelector(printSelector(ast))).toEqual(ast);
      }),
      { numRuns: 500 },
    );
  });

  it('print is a fixed point: print(parse(print(ast))) equals print(ast)', () => {
    fc.assert(
      fc.property(node, (ast) => {
        const text = printSelector(ast);
        expect(printSelector(parseSelector(text))).toBe(text);
      }),
    );
  });
});

// Each bad selector with the exact message, position included.
const bad: readonly (readonly [string, string])[] = [
  ['app == ', 'selector "app == " at 7: expected a quoted string'],
  ['app = "web"', `selector "app = \\"web\\"" at 4: expected '==' (a single '=' is not an operator)`],
  ['app', 'selector "app" at 3: expected an operator after label "app", found the end of the selector'],
  ['app web', 'selector "app web" at 4: expected an operator after label "app", found "web"'],
  ['app == web', 'selector "app == web" at 7: expected a quoted string'],
  ['app == "web', 'selector "app == \\"web" at 7: unterminated string (no closing ")'],
  ["app == 'web", `selector "app == 'web" at 7: unterminated string (no closing ')`],
  ['app in "web"', `selector "app in \\"web\\"" at 7: expected '{' to start a set of quoted strings`],
  ['app in {"a" "b"}', `selector "app in {\\"a\\" \\"b\\"}" at 12: expected ',' or '}'`],
  ['app in {,}', `selector "app in {,}" at 8: expected a quoted string or '}'`],
  ['app not "x"', `selector "app not \\"x\\"" at 8: expected 'in' after 'not'`],
  ['app ends wit "x"', `selector "app ends wit \\"x\\"" at 9: expected 'with' after 'ends'`],
  ['has(app', `selector "has(app" at 7: expected ')' to close has(`],
  ['has()', 'selector "has()" at 4: expected a label key inside has()'],
  ['has (app)', `selector "has (app)" at 4: expected an operator after label "has", found '('`],
  ['global(x)', `selector "global(x)" at 7: expected ')' after global(`],
  ['(app == "a"', `selector "(app == \\"a\\"" at 11: expected ')' to close the '(' at 0, found the end of the selector`],
  ['app == "a")', `selector "app == \\"a\\")" at 10: unexpected ')' with no matching '('`],
  ['&& app == "a"', `selector "&& app == \\"a\\"" at 0: expected an expression, found '&&'`],
  ['app == "a" &&', 'selector "app == \\"a\\" &&" at 13: expected an expression, found the end of the selector'],
  ['app == "a" & b == "c"', `selector "app == \\"a\\" & b == \\"c\\"" at 11: expected '&&'`],
  ['app == "a" | b == "c"', `selector "app == \\"a\\" | b == \\"c\\"" at 11: expected '||'`],
  ['()', `selector "()" at 1: expected an expression, found ')'`],
  ['app == "a" app == "b"', `selector "app == \\"a\\" app == \\"b\\"" at 11: expected '&&', '||' or the end of the selector, found label "app"`],
  ['app == "a"\n&& b == "c"', 'selector "app == \\"a\\"\\n&& b == \\"c\\"" at 10: unexpected character "\\n" (Calico allows only spaces and tabs between tokens)'],
  ['app == #', 'selector "app == #" at 7: unexpected character "#"'],
  ['"web" == app', 'selector "\\"web\\" == app" at 0: expected an expression, found string "web"'],
  ['!', 'selector "!" at 1: expected an expression, found the end of the selector'],
];

describe('bad selectors', () => {
  it('has at least 20 cases', () => {
    expect(bad.length).toBeGreaterThanOrEqual(20);
  });

  it.each(bad)('%j', (selector, message) => {
    let error: unknown;
    try {
      parseSelector(selector);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SelectorSyntaxError);
    const syntax = error as SelectorSyntaxError;
    expect(syntax.message).toBe(message);
    expect(syntax.code).toBe('invalid-selector');
    expect(syntax.selector).toBe(selector);
    expect(message).toContain(` at ${syntax.position}: `);
  });
});
