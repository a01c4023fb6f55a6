/**
 * The tokenizer of Calico's selector language. It follows Calico's
 * (libcalico-go `selector/tokenizer`) choices on purpose, so that what Calico accepts we
 * accept and what it rejects we reject:
 *
 * - whitespace is spaces and tabs only (a newline inside a selector is an error in Calico);
 * - a label key is a run of `[a-zA-Z0-9_./-]`;
 * - the word operators (`in`, `not in`, `contains`, `starts with`, `ends with`) are only
 *   recognised right after a label key, so a key may itself be called `in` or `has`;
 * - `has(`, `all(` and `global(` must be written without a space before the `(`;
 * - strings are single- or double-quoted, with no escapes, and may be empty.
 */
import { SelectorSyntaxError } from '../../errors.js';

/** The kinds of token the tokenizer produces. */
export const SELECTOR_TOKEN_KIND = {
  LABEL: 'label',
  STRING: 'string',
  LBRACE: '{',
  RBRACE: '}',
  COMMA: ',',
  EQ: '==',
  NE: '!=',
  IN: 'in',
  NOT_IN: 'not in',
  CONTAINS: 'contains',
  STARTS_WITH: 'starts with',
  ENDS_WITH: 'ends with',
  ALL: 'all()',
  GLOBAL: 'global()',
  HAS: 'has()',
  NOT: '!',
  LPAREN: '(',
  RPAREN: ')',
  AND: '&&',
  OR: '||',
  EOF: 'end',
} as const;

/** One of the values of {@link SELECTOR_TOKEN_KIND}. */
export type SelectorTokenKind = (typeof SELECTOR_TOKEN_KIND)[keyof typeof SELECTOR_TOKEN_KIND];

/** A token: its kind, its value (the key, or the string's content) and where it starts. */
export interface SelectorToken {
  readonly kind: SelectorTokenKind;
  /** The label key (for `label` and `has()`), the unquoted string, or `''`. */
  readonly value: string;
  /** 0-based offset of the token's first character in the selector. */
  readonly pos: number;
}

const K = SELECTOR_TOKEN_KIND;

function isKeyChar(c: string | undefined): boolean {
  return c !== undefined && /[a-zA-Z0-9_./-]/.test(c);
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/**
 * Splits a selector into tokens, ending with one `end` token.
 *
 * @throws {@link SelectorSyntaxError} naming the offset of the first character it cannot
 *   make a token of.
 */
export function tokenizeSelector(input: string): SelectorToken[] {
  const tokens: SelectorToken[] = [];
  let i = 0;
  const fail = (pos: number, detail: string): never => {
    throw new SelectorSyntaxError(input, pos, detail);
  };
  const skipSpace = (): void => {
    while (isSpace(input[i])) i++;
  };
  const readKey = (): string => {
    const start = i;
    while (isKeyChar(input[i])) i++;
    return input.slice(start, i);
  };
  const startsAt = (word: string): boolean => input.startsWith(word, i);

  for (;;) {
    skipSpace();
    const pos = i;
    const c = input[i];
    if (c === undefined) {
      tokens.push({ kind: K.EOF, value: '', pos });
      return tokens;
    }
    const last = tokens[tokens.length - 1]?.kind;
    const push = (kind: SelectorTokenKind, length: number, value = ''): void => {
      tokens.push({ kind, value, pos });
      i += length;
    };
    switch (c) {
      case '(':
        push(K.LPAREN, 1);
        continue;
      case ')':
        push(K.RPAREN, 1);
        continue;
      case '{':
        push(K.LBRACE, 1);
        continue;
      case '}':
        push(K.RBRACE, 1);
        continue;
      case ',':
        push(K.COMMA, 1);
        continue;
      case '"':
      case "'": {
        const end = input.indexOf(c, i + 1);
        if (end === -1) fail(pos, `unterminated string (no closing ${c})`);
        tokens.push({ kind: K.STRING, value: input.slice(i + 1, end), pos });
        i = end + 1;
        continue;
      }
      case '=':
        if (input[i + 1] !== '=') fail(pos, "expected '==' (a single '=' is not an operator)");
        push(K.EQ, 2);
        continue;
      case '!':
        if (input[i + 1] === '=') push(K.NE, 2);
        else push(K.NOT, 1);
        continue;
      case '&':
        if (input[i + 1] !== '&') fail(pos, "expected '&&'");
        push(K.AND, 2);
        continue;
      case '|':
        if (input[i + 1] !== '|') fail(pos, "expected '||'");
        push(K.OR, 2);
        continue;
      default:
        break;
    }
    if (last === K.LABEL) {
      // After a label key only a word operator may follow (Calico matches these by prefix).
      const key = tokens[tokens.length - 1]?.value ?? '';
      const word = /^[^ \t]*/.exec(input.slice(i))?.[0] ?? '';
      const expected = `expected an operator after label ${JSON.stringify(key)}, found ${JSON.stringify(word)}`;
      if (startsAt('contains')) {
        push(K.CONTAINS, 'contains'.length);
      } else if (startsAt('starts') || startsAt('ends')) {
        const first = startsAt('starts') ? 'starts' : 'ends';
        i += first.length;
        skipSpace();
        if (!startsAt('with')) fail(i, `expected 'with' after '${first}'`);
        tokens.push({ kind: first === 'starts' ? K.STARTS_WITH : K.ENDS_WITH, value: '', pos });
        i += 'with'.length;
      } else if (startsAt('not')) {
        i += 'not'.length;
        skipSpace();
        if (!startsAt('in')) fail(i, "expected 'in' after 'not'");
        tokens.push({ kind: K.NOT_IN, value: '', pos });
        i += 'in'.length;
      } else if (startsAt('in')) {
        push(K.IN, 'in'.length);
      } else {
        fail(pos, expected);
      }
      continue;
    }
    if (startsAt('has(')) {
      i += 'has('.length;
      skipSpace();
      const keyPos = i;
      const key = readKey();
      if (key === '') fail(keyPos, 'expected a label key inside has()');
      skipSpace();
      if (input[i] !== ')') fail(i, "expected ')' to close has(");
      i++;
      tokens.push({ kind: K.HAS, value: key, pos });
      continue;
    }
    if (startsAt('all(') || startsAt('global(')) {
      const word = startsAt('all(') ? 'all' : 'global';
      i += word.length + 1;
      skipSpace();
      if (input[i] !== ')') fail(i, `expected ')' after ${word}(`);
      i++;
      tokens.push({ kind: word === 'all' ? K.ALL : K.GLOBAL, value: '', pos });
      continue;
    }
    const key = readKey();
    if (key !== '') {
      tokens.push({ kind: K.LABEL, value: key, pos });
      continue;
    }
    if (c === '\n' || c === '\r') {
      fail(pos, `unexpected character ${JSON.stringify(c)} (Calico allows only spaces and tabs between tokens)`);
    }
    fail(pos, `unexpected character ${JSON.stringify(c)}`);
  }
}
