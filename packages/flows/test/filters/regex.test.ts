import { describe, expect, it } from 'vitest';

import { compileSearch, MAX_REGEX_PROGRAM, RegexSyntaxError } from '../../src/filters/regex.js';

const finds = (pattern: string, text: string): boolean => compileSearch(pattern)(text);

describe('compileSearch', () => {
  it.each<[string, string, boolean]>([
    ['api', '/v1/api/x', true],
    ['^/api', '/v1/api', false],
    ['^/api', '/api/v1', true],
    ['v1$', '/api/v1', true],
    ['v1$', '/api/v1/', false],
    ['^$', '', true],
    ['', 'anything', true],
    ['/api/.*', '/api/', true],
    ['/api/.+', '/api/', false],
    ['^/users/[0-9]+$', '/users/42', true],
    ['^/users/[0-9]+$', '/users/4a', false],
    ['^/users/\\d{2,3}$', '/users/1', false],
    ['^/users/\\d{2,3}$', '/users/123', true],
    ['^/users/\\d{2,3}$', '/users/1234', false],
    ['^/users/\\d{2,}$', '/users/12345', true],
    ['^a{3}$', 'aaa', true],
    ['^a{3}$', 'aa', false],
    ['^(GET|HEAD)$', 'HEAD', true],
    ['^(?:GET|HEAD)$', 'GETX', false],
    ['[^/]+\\.json$', '/a/b.json', true],
    ['[^/]+\\.json$', '/a/b/json', false],
    ['^[a-c-]+$', 'a-b', true],
    ['^[]a]+$', ']a]', true],
    ['^\\w+\\s\\S$', 'ab_9 x', true],
    ['^\\W$', 'a', false],
    ['colou?r', 'color', true],
    ['colou??r', 'colour', true],
    ['a.c', 'a\nc', false],
    ['(a*)*b', 'aaab', true],
    ['x{', 'ax{', true],
    ['é+$', '/caf\u00e9', true],
    ['^.$', '\u{1f600}', true],
  ])('%j in %j: %s', (pattern, text, expected) => {
    expect(finds(pattern, text)).toBe(expected);
  });

  it('runs in linear time on patterns that make a backtracking RegExp take exponential time', () => {
    const text = `${'a'.repeat(5000)}!`;
    const started = performance.now();
    expect(finds('^(a+)+$', text)).toBe(false);
    expect(finds('(a|aa)*b', text)).toBe(false);
    expect(finds(`${'.*'.repeat(20)}x`, text)).toBe(false);
    // A backtracking engine takes longer than the age of the universe on the first; here, milliseconds.
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it.each<[string, string]>([
    ['(', "missing ')' at offset 0"],
    ['a)', "unmatched ')' at offset 1"],
    ['[a-', "missing ']' at offset 0"],
    ['[z-a]', 'bad character class range at offset 0'],
    ['*a', "missing argument to repetition operator '*' at offset 0"],
    ['a**', 'a repetition of a repetition is refused (as RE2 does) at offset 0'],
    ['^*', 'nothing to repeat at offset 0'],
    ['a{2,1}', 'bad repetition {2,1}'],
    ['a{1001}', 'bad repetition {1001}'],
    ['(?i)abc', 'flags, named groups and lookaround are not supported'],
    ['(?P<n>a)', 'flags, named groups and lookaround are not supported'],
    ['(?!a)', 'flags, named groups and lookaround are not supported'],
    ['\\bword', '\\b is not supported'],
    ['(a)\\1', '\\1 is not supported'],
    ['\\pL', '\\p is not supported'],
    ['[[:alpha:]]', 'POSIX classes ([:alpha:]) are not supported'],
    ['abc\\', 'trailing backslash at offset 3'],
    ['(a{1000}){1000}', `more than ${MAX_REGEX_PROGRAM} instructions`],
    ['a'.repeat(1001), 'more than 1000'],
  ])('refuses %j: %s', (pattern, message) => {
    expect(() => compileSearch(pattern)).toThrow(RegexSyntaxError);
    expect(() => compileSearch(pattern)).toThrow(message);
  });
});
