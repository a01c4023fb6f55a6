// The RE2 subset Cilium's HTTP rules are written in: what it accepts, what it refuses
// (with the reason), and that it agrees with an anchored JavaScript RegExp wherever both
// are defined, while never backtracking.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { parseRe2, Re2SyntaxError } from '../../src/l7/re2-parse.js';
import { compileRe2, RE2_MAX_PROGRAM, Re2TooLargeError } from '../../src/l7/re2-program.js';

const full = (pattern: string, input: string): boolean => compileRe2(parseRe2(pattern)).fullMatch(input);

describe('RE2 full match', () => {
  it.each([
    // pattern, input, matches
    ['/api/v1/.*', '/api/v1/users', true],
    ['/api/v1/.*', '/api/v1/', true],
    ['/api/v1/.*', '/api/v1', false],
    ['/api/v1/.*', '/x/api/v1/users', false],
    ['GET', 'GET', true],
    ['GET', 'GETX', false],
    ['GET', 'xGET', false],
    ['GET|HEAD', 'HEAD', true],
    ['GET|HEAD', 'GETHEAD', false],
    ['(GET)|(HEAD)', 'GET', true],
    ['/users/[0-9]+', '/users/42', true],
    ['/users/[0-9]+', '/users/4a', false],
    ['/users/\\d{2,3}', '/users/4', false],
    ['/users/\\d{2,3}', '/users/423', true],
    ['/users/\\d{2,3}', '/users/4234', false],
    ['/users/\\d{2}', '/users/42', true],
    ['/users/\\d{2,}', '/users/4242424', true],
    ['/a{', '/a{', true], // `{` that is no repetition is a literal, as in RE2
    ['a{,2}', 'a{,2}', true],
    ['[]a]+', ']a]', true],
    ['[^/]+', 'abc', true],
    ['[^/]+', 'a/c', false],
    ['[a-]', '-', true],
    ['[[:alpha:]]+', 'Abc', true],
    ['[[:^digit:]]', '5', false],
    ['\\w+\\s\\W', 'ab !', true],
    ['(?i)get', 'GeT', true],
    ['(?i:get)X', 'GETx', false],
    ['a(?i)b|c', 'C', true], // the flag lasts to the end of the group, across |
    ['\\Q.*\\E', '.*', true],
    ['\\Q.*\\E', 'ab', false],
    ['\\.', '.', true],
    ['\\.', 'a', false],
    ['.', '\n', false],
    ['(?s).', '\n', true],
    ['a$', 'a\n', false], // RE2's $ is the end of the text, never before a final newline
    ['^a$', 'a', true],
    ['(?m)a$\\n^b', 'a\nb', true],
    ['\\Aab\\z', 'ab', true],
    ['a\\bb', 'ab', false],
    ['a\\b b', 'a b', true],
    ['a\\Bb', 'ab', true],
    ['\\x41\\x{42}\\0', 'AB\0', true],
    ['(?P<id>[0-9]+)/(?<n>x)', '1/x', true],
    ['x*?y+?z??', 'yy', true],
    ['', '', true],
    ['(?:)*', '', true],
    ['^*a', 'a', true],
    ['', 'a', false],
    ['a|', '', true],
    ['é.', 'éü', true],
    ['(a|ab)(c|bcd)(d*)', 'abcd', true],
    ['/v1/(users|groups)/[^/]+/?', '/v1/groups/x/', true],
  ])('%j on %j → %s', (pattern, input, expected) => {
    expect(full(pattern, input)).toBe(expected);
  });
});

describe('RE2 refusals', () => {
  // Each refused pattern and the reason given, as a user reads it.
  it.each([
    ['(a', 'missing closing ) at offset 0'],
    ['a)', 'unexpected ) at offset 1'],
    ['[a', 'missing closing ] at offset 0'],
    ['*a', 'missing argument to repetition operator * at offset 0'],
    ['{2}', 'missing argument to repetition operator { at offset 0'],
    ['a**', 'bad repetition operator: a repetition of a repetition (RE2 refuses a** and a*{2}) at offset 2'],
    ['a*{2}', 'bad repetition operator: a repetition of a repetition (RE2 refuses a** and a*{2}) at offset 2'],
    ['a*+', 'possessive repetition is not RE2 syntax at offset 2'],
    ['a++', 'possessive repetition is not RE2 syntax at offset 2'],
    ['a{1001}', 'bad repetition operator: counts above 1000 at offset 1'],
    ['a{3,2}', 'bad repetition operator: {n,m} with m < n at offset 1'],
    ['(a)\\1', 'backreference \\1 is not RE2 syntax (RE2 has no backreferences) at offset 3'],
    ['(?P<n>a)(?P=n)', 'named backreferences are not RE2 syntax at offset 8'],
    ['a(?=b)', 'lookahead is not RE2 syntax at offset 1'],
    ['a(?!b)', 'lookahead is not RE2 syntax at offset 1'],
    ['(?<=a)b', 'lookbehind is not RE2 syntax at offset 0'],
    ['(?<!a)b', 'lookbehind is not RE2 syntax at offset 0'],
    ['(?>a+)b', 'atomic groups are not RE2 syntax at offset 0'],
    ['(?#comment)a', 'comments are not RE2 syntax at offset 0'],
    ['a\\Z', '\\Z is not RE2 syntax (use \\z: RE2 has no "end before a final newline") at offset 1'],
    ['\\C', '\\C (any byte) is not supported: patterns match characters at offset 0'],
    ['\\pL', 'Unicode classes (\\p, \\P) are not supported: RE2 and JavaScript name them differently at offset 0'],
    ['\\p{Greek}', 'Unicode classes (\\p, \\P) are not supported: RE2 and JavaScript name them differently at offset 0'],
    ['\\y', 'invalid escape \\y at offset 0'],
    ['\\k<n>', 'invalid escape \\k at offset 0'],
    ['a\\', 'trailing backslash at end of pattern at offset 1'],
    ['[z-a]', 'invalid character class range z-a at offset 2'],
    ['[[:word2:]]', 'invalid POSIX class [:word2:] at offset 1'],
    ['(?x)a', 'invalid group (?x at offset 0'],
    ['(?i-)a', 'invalid flag group: - with no flag after it at offset 0'],
    ['\\x{110000}', 'invalid escape \\x{...} at offset 0'],
    ['\\xZ1', 'invalid escape \\x: two hex digits needed at offset 0'],
    ['\\E', '\\E without \\Q at offset 0'],
  ])('%j: %s', (pattern, message) => {
    const attempt = (): unknown => parseRe2(pattern);
    expect(attempt).toThrow(Re2SyntaxError);
    expect(attempt).toThrow(message);
  });

  it('refuses a pattern that would compile to more than the program limit', () => {
    expect(() => compileRe2(parseRe2('(a{1000}){1000}'))).toThrow(Re2TooLargeError);
    expect(() => compileRe2(parseRe2('a{1000}b{1000}c'))).toThrow(`more than ${RE2_MAX_PROGRAM} instructions`);
    expect(compileRe2(parseRe2('[a-z]{1,500}')).size).toBeLessThanOrEqual(RE2_MAX_PROGRAM);
  });
});

describe('RE2 linear time', () => {
  // These take exponential or high polynomial time in a backtracking engine; here each is
  // one pass over the input, so they finish (no timing assert: the test would hang otherwise).
  it.each([
    ['(a+)+$', 'a'.repeat(20_000) + '!'],
    ['(a|a)*b', 'a'.repeat(20_000)],
    ['(.*)*x', 'y'.repeat(20_000)],
    ['.*.*.*.*.*=.*', 'x'.repeat(20_000)],
    ['(\\w+\\s?)+$', 'word '.repeat(4_000) + '!'],
  ])('%j on a long hostile input', (pattern, input) => {
    expect(full(pattern, input)).toBe(false);
  });
});

// A generator of patterns in the common subset of RE2 and JavaScript over a small
// alphabet, where both engines must agree on a full match.
const atom = fc.constantFrom('a', 'b', '.', '[ab]', '[^a]', '\\d', '(?:)', '\\.', '\\b', '^', '$');
const pattern: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    fc.tuple(tie('node'), tie('node')).map(([x, y]) => `${x}${y}`),
    fc.tuple(tie('node'), tie('node')).map(([x, y]) => `(?:${x}|${y})`),
    fc.tuple(tie('node'), fc.constantFrom('*', '+', '?', '{2}', '{1,3}', '{0,}', '*?')).map(([x, q]) => `(?:${x})${q}`),
  ),
})).node;
const input = fc.string({ unit: fc.constantFrom('a', 'b', '1', '.', '\n'), maxLength: 10 });

describe('RE2 lazy DFA', () => {
  it('stays correct past its state cache bound (a pattern whose DFA has 2^13 states)', () => {
    const program = compileRe2(parseRe2('[ab]*a[ab]{12}'));
    const js = /^(?:[ab]*a[ab]{12})$/;
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', 'b'), minLength: 13, maxLength: 60 }), (s) => {
      expect(program.fullMatch(s)).toBe(js.test(s));
    }), { numRuns: 3000 });
  });
});

describe('RE2 properties', () => {
  // Patterns with `\b` run on the NFA, the others on the lazy DFA: both are checked.
  it('agrees with an anchored JavaScript RegExp on the common subset', () => {
    fc.assert(fc.property(pattern, input, (p, s) => {
      expect(full(p, s)).toBe(new RegExp(`^(?:${p})$`).test(s));
    }), { numRuns: 2000 });
  });

  it('is anchored: a literal never matches a value with extra text before or after it', () => {
    const text = fc.string({ minLength: 1, maxLength: 12 });
    const quote = (s: string): string => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
    fc.assert(fc.property(text, text, text, (value, before, after) => {
      expect(full(quote(value), value)).toBe(true);
      expect(full(quote(value), before + value)).toBe(before + value === value);
      expect(full(quote(value), value + after)).toBe(false);
    }));
  });

  it('is anchored: a path pattern never matches the path behind another prefix', () => {
    const segment = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    fc.assert(fc.property(segment, segment, (prefix, rest) => {
      expect(full('/api/v1/.*', `/api/v1/${rest}`)).toBe(true);
      expect(full('/api/v1/.*', `${prefix}/api/v1/${rest}`)).toBe(false);
      expect(full('/api/v1/[a-z0-9]+', `/api/v1/${rest}/${prefix}`)).toBe(false);
    }));
  });
});
