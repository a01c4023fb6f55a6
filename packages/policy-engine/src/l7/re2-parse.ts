// A parser for the RE2 syntax Cilium's HTTP rules are written in
// (https://github.com/google/re2/wiki/Syntax). It builds a small AST that
// re2-program.ts turns into a Thompson NFA; no JavaScript RegExp ever runs a policy
// pattern, so no pattern can backtrack (RE2's own guarantee: time linear in the input).
//
// What it refuses, with the reason RE2 gives or the reason it cannot be kept:
// backreferences (`\1`), lookaround and atomic groups (`(?=`, `(?!`, `(?<=`, `(?<!`,
// `(?>`), possessive repetition (`a*+`), repeated repetition (`a**`), `\Z` (RE2 has
// only `\z`), `\C` (one byte), Unicode classes (`\pL`: the names differ between RE2
// and JavaScript, so a silent difference is worse than a refusal), comments (`(?#`),
// repetition counts above 1000 (RE2's limit) and unknown escapes (`\y`).

/** A set of code points, as sorted inclusive ranges, possibly negated. */
export interface Re2CharClass {
  /** Inclusive [first, last] code point ranges. */
  readonly ranges: readonly (readonly [number, number])[];
  /** Whether the class is the complement of `ranges`. */
  readonly negated: boolean;
}

/** A node of a parsed pattern. */
export type Re2Node =
  | { readonly kind: 'empty' }
  | { readonly kind: 'char'; readonly cp: number; readonly fold: boolean }
  | { readonly kind: 'class'; readonly cls: Re2CharClass; readonly fold: boolean }
  | { readonly kind: 'any'; readonly newline: boolean }
  | { readonly kind: 'assert'; readonly which: 'text-start' | 'text-end' | 'line-start' | 'line-end' | 'word' | 'not-word' }
  | { readonly kind: 'concat'; readonly of: readonly Re2Node[] }
  | { readonly kind: 'alt'; readonly of: readonly Re2Node[] }
  | { readonly kind: 'repeat'; readonly of: Re2Node; readonly min: number; readonly max: number /* Infinity: unbounded */ };

/** Why a pattern was refused, and where in it (0-based offset into the pattern). */
export class Re2SyntaxError extends Error {
  override readonly name = 'Re2SyntaxError';
  constructor(readonly reason: string, readonly offset: number) {
    super(`${reason} at offset ${offset}`);
  }
}

/** RE2's limit on `{n,m}` counts. */
export const RE2_MAX_REPEAT = 1000;

interface Flags { readonly i: boolean; readonly m: boolean; readonly s: boolean }

const DIGIT: Re2CharClass = { ranges: [[0x30, 0x39]], negated: false };
const SPACE: Re2CharClass = { ranges: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]], negated: false };
const WORD: Re2CharClass = { ranges: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]], negated: false };

// RE2's POSIX classes ([[:alpha:]]), ASCII only as in RE2.
const POSIX: Readonly<Record<string, readonly (readonly [number, number])[]>> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };

/** Complement of sorted, merged ranges over all code points. */
function complement(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [a, b] of normalize(ranges)) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

/** Sort and merge overlapping or adjacent ranges. */
export function normalize(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/**
 * Parse an RE2 pattern.
 * @throws {Re2SyntaxError} when RE2 would refuse the pattern, or when it uses a
 *   construct this parser refuses on purpose (see the file comment).
 */
export function parseRe2(pattern: string): Re2Node {
  return new Parser(pattern).parseAll();
}

class Parser {
  private pos = 0;
  private readonly cps: number[];
  constructor(pattern: string) {
    this.cps = Array.from(pattern, (c) => c.codePointAt(0) as number);
  }

  parseAll(): Re2Node {
    const node = this.parseAlt({ i: false, m: false, s: false }, 0);
    if (this.pos < this.cps.length) throw new Re2SyntaxError('unexpected )', this.pos);
    return node;
  }

  private fail(reason: string, at = this.pos): never {
    throw new Re2SyntaxError(reason, at);
  }

  private peek(offset = 0): number | undefined {
    return this.cps[this.pos + offset];
  }

  private ch(offset = 0): string {
    const cp = this.peek(offset);
    return cp === undefined ? '' : String.fromCodePoint(cp);
  }

  // alternation := concat ('|' concat)*
  private parseAlt(flags: Flags, depth: number): Re2Node {
    if (depth > 100) this.fail('groups nested more than 100 deep');
    const branches: Re2Node[] = [];
    let current = flags;
    for (;;) {
      const [branch, after] = this.parseConcat(current, depth);
      branches.push(branch);
      // A flag group `(?i)` lasts to the end of the enclosing group, across `|` (as in RE2).
      current = after;
      if (this.ch() !== '|') break;
      this.pos += 1;
    }
    return branches.length === 1 ? (branches[0] as Re2Node) : { kind: 'alt', of: branches };
  }

  private parseConcat(start: Flags, depth: number): [Re2Node, Flags] {
    let flags = start;
    const items: Re2Node[] = [];
    while (this.pos < this.cps.length) {
      const c = this.ch();
      if (c === '|' || c === ')') break;
      if (c === '(' && this.ch(1) === '?' && /^[imsU-]$/.test(this.ch(2))) {
        const scoped = this.parseFlagGroup(flags, depth);
        if (scoped.kind === 'set') { flags = scoped.flags; continue; }
        items.push(this.parseRepeats(scoped.node));
        continue;
      }
      if (c === '*' || c === '+' || c === '?') this.fail(`missing argument to repetition operator ${c}`);
      if (c === '{' && this.repeatAhead() !== undefined) this.fail('missing argument to repetition operator {');
      const atom = this.parseAtom(flags, depth);
      items.push(this.parseRepeats(atom));
    }
    const node: Re2Node = items.length === 0 ? { kind: 'empty' } : items.length === 1 ? (items[0] as Re2Node) : { kind: 'concat', of: items };
    return [node, flags];
  }

  private parseFlagGroup(flags: Flags, depth: number): { kind: 'set'; flags: Flags } | { kind: 'group'; node: Re2Node } {
    const start = this.pos;
    this.pos += 2;
    const next = { ...flags };
    let negate = false;
    let sawFlag = false;
    for (;;) {
      const c = this.ch();
      if (c === '') this.fail('missing closing )', start);
      this.pos += 1;
      if (c === 'i' || c === 'm' || c === 's') { next[c] = !negate; sawFlag = true; continue; }
      // U (ungreedy) changes which match is reported, never whether one exists: a full match ignores it.
      if (c === 'U') { sawFlag = true; continue; }
      if (c === '-') {
        if (negate) this.fail('invalid flag group: two -', start);
        negate = true;
        sawFlag = false;
        continue;
      }
      if (c === ')' || c === ':') {
        if (negate && !sawFlag) this.fail('invalid flag group: - with no flag after it', start);
        if (c === ')') return { kind: 'set', flags: next };
        const node = this.parseAlt(next, depth + 1);
        if (this.ch() !== ')') this.fail('missing closing )', start);
        this.pos += 1;
        return { kind: 'group', node };
      }
      this.fail(`invalid flag ${c} in flag group`, this.pos - 1);
    }
  }

  // A `{n}`, `{n,}` or `{n,m}` at the current position, or undefined when the `{` is a literal (as in RE2).
  private repeatAhead(): { min: number; max: number; length: number } | undefined {
    const rest = String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 24));
    const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
    if (m === null) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    return { min, max, length: (m[0] as string).length };
  }

  private parseRepeats(atom: Re2Node): Re2Node {
    let node = atom;
    let repeated = false;
    for (;;) {
      const c = this.ch();
      let min: number;
      let max: number;
      const at = this.pos;
      if (c === '*') { min = 0; max = Infinity; this.pos += 1; }
      else if (c === '+') { min = 1; max = Infinity; this.pos += 1; }
      else if (c === '?') { min = 0; max = 1; this.pos += 1; }
      else if (c === '{') {
        const r = this.repeatAhead();
        if (r === undefined) return node;
        if (r.min > RE2_MAX_REPEAT || (r.max !== Infinity && r.max > RE2_MAX_REPEAT)) this.fail(`bad repetition operator: counts above ${RE2_MAX_REPEAT}`);
        if (r.max < r.min) this.fail('bad repetition operator: {n,m} with m < n');
        min = r.min; max = r.max; this.pos += r.length;
      } else return node;
      if (repeated) this.fail('bad repetition operator: a repetition of a repetition (RE2 refuses a** and a*{2})', at);
      // Lazy `*?` changes only which match is reported: irrelevant to a full match.
      if (this.ch() === '?') this.pos += 1;
      else if (this.ch() === '+') this.fail('possessive repetition is not RE2 syntax');
      node = { kind: 'repeat', of: node, min, max };
      repeated = true;
    }
  }

  private parseAtom(flags: Flags, depth: number): Re2Node {
    const c = this.ch();
    const start = this.pos;
    if (c === '(') {
      this.pos += 1;
      if (this.ch() === '?') {
        const kind = this.ch(1);
        if (kind === ':') this.pos += 2;
        else if (kind === 'P' && this.ch(2) === '<') this.skipGroupName(3, start);
        else if (kind === '<' && this.ch(2) !== '=' && this.ch(2) !== '!') this.skipGroupName(2, start);
        else if (kind === '=' || kind === '!') this.fail('lookahead is not RE2 syntax', start);
        else if (kind === '<') this.fail('lookbehind is not RE2 syntax', start);
        else if (kind === '>') this.fail('atomic groups are not RE2 syntax', start);
        else if (kind === '#') this.fail('comments are not RE2 syntax', start);
        else if (kind === 'P' && (this.ch(2) === '=' || this.ch(2) === '>')) this.fail('named backreferences are not RE2 syntax', start);
        else this.fail(`invalid group (?${kind}`, start);
      }
      const node = this.parseAlt(flags, depth + 1);
      if (this.ch() !== ')') this.fail('missing closing )', start);
      this.pos += 1;
      return node;
    }
    if (c === '[') return this.parseClass(flags);
    if (c === '.') { this.pos += 1; return { kind: 'any', newline: flags.s }; }
    if (c === '^') { this.pos += 1; return { kind: 'assert', which: flags.m ? 'line-start' : 'text-start' }; }
    // RE2's `$` without (?m) is the end of the text only, not "before a final newline" as in Perl and JavaScript.
    if (c === '$') { this.pos += 1; return { kind: 'assert', which: flags.m ? 'line-end' : 'text-end' }; }
    if (c === '\\') return this.parseEscape(flags, false);
    this.pos += 1;
    return { kind: 'char', cp: this.cps[start] as number, fold: flags.i };
  }

  private skipGroupName(skip: number, start: number): void {
    this.pos += skip;
    const nameStart = this.pos;
    while (/^[A-Za-z0-9_]$/.test(this.ch())) this.pos += 1;
    if (this.pos === nameStart || this.ch() !== '>') this.fail('invalid named capture group', start);
    this.pos += 1;
  }

  // An escape outside or (inClass) inside a class: a node, or for classes a char class / code point.
  private parseEscape(flags: Flags, inClass: true): Re2CharClass | number;
  private parseEscape(flags: Flags, inClass: false): Re2Node;
  private parseEscape(flags: Flags, inClass: boolean): Re2Node | Re2CharClass | number {
    const start = this.pos;
    this.pos += 1;
    const c = this.ch();
    if (c === '') this.fail('trailing backslash at end of pattern', start);
    this.pos += 1;
    const lit = (cp: number): Re2Node | number => (inClass ? cp : { kind: 'char', cp, fold: flags.i });
    const cls = (k: Re2CharClass): Re2Node | Re2CharClass => (inClass ? k : { kind: 'class', cls: k, fold: false });
    if (c === 'd' || c === 'D') return cls({ ...DIGIT, negated: c === 'D' });
    if (c === 's' || c === 'S') return cls({ ...SPACE, negated: c === 'S' });
    if (c === 'w' || c === 'W') return cls({ ...WORD, negated: c === 'W' });
    if (c in SIMPLE_ESCAPES) return lit(SIMPLE_ESCAPES[c] as number);
    if (c === 'x') {
      if (this.ch() === '{') {
        const close = this.cps.indexOf(0x7d, this.pos);
        const hex = close < 0 ? '' : String.fromCodePoint(...this.cps.slice(this.pos + 1, close));
        if (!/^[0-9A-Fa-f]{1,6}$/.test(hex) || Number.parseInt(hex, 16) > 0x10ffff) this.fail('invalid escape \\x{...}', start);
        this.pos = close + 1;
        return lit(Number.parseInt(hex, 16));
      }
      const hex = this.ch() + this.ch(1);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) this.fail('invalid escape \\x: two hex digits needed', start);
      this.pos += 2;
      return lit(Number.parseInt(hex, 16));
    }
    if (c === '0') {
      // \0, \0N, \0NN: octal (RE2). A longer \NNN octal is refused: it reads like a backreference.
      let digits = '';
      while (digits.length < 2 && /^[0-7]$/.test(this.ch())) { digits += this.ch(); this.pos += 1; }
      return lit(digits === '' ? 0 : Number.parseInt(digits, 8));
    }
    if (/^[1-9]$/.test(c)) this.fail(`backreference \\${c} is not RE2 syntax (RE2 has no backreferences)`, start);
    if (!inClass) {
      if (c === 'A') return { kind: 'assert', which: 'text-start' };
      if (c === 'z') return { kind: 'assert', which: 'text-end' };
      if (c === 'b') return { kind: 'assert', which: 'word' };
      if (c === 'B') return { kind: 'assert', which: 'not-word' };
      if (c === 'Q') return this.parseQuoted(flags);
    }
    if (c === 'Z') this.fail('\\Z is not RE2 syntax (use \\z: RE2 has no "end before a final newline")', start);
    if (c === 'C') this.fail('\\C (any byte) is not supported: patterns match characters', start);
    if (c === 'p' || c === 'P') this.fail('Unicode classes (\\p, \\P) are not supported: RE2 and JavaScript name them differently', start);
    if (c === 'E') this.fail('\\E without \\Q', start);
    // Any other punctuation stands for itself; an unknown letter or digit escape is an error (as in RE2).
    const cp = this.cps[this.pos - 1] as number;
    if (cp < 0x80 && !/^[A-Za-z0-9]$/.test(c)) return lit(cp);
    return this.fail(`invalid escape \\${c}`, start);
  }

  private parseQuoted(flags: Flags): Re2Node {
    const items: Re2Node[] = [];
    while (this.pos < this.cps.length) {
      if (this.ch() === '\\' && this.ch(1) === 'E') { this.pos += 2; break; }
      items.push({ kind: 'char', cp: this.cps[this.pos] as number, fold: flags.i });
      this.pos += 1;
    }
    return items.length === 0 ? { kind: 'empty' } : items.length === 1 ? (items[0] as Re2Node) : { kind: 'concat', of: items };
  }

  private parseClass(flags: Flags): Re2Node {
    const start = this.pos;
    this.pos += 1;
    let negated = false;
    if (this.ch() === '^') { negated = true; this.pos += 1; }
    const ranges: [number, number][] = [];
    let first = true;
    for (;;) {
      const c = this.ch();
      if (c === '') this.fail('missing closing ]', start);
      // `]` first in a class is a literal (RE2, POSIX).
      if (c === ']' && !first) { this.pos += 1; break; }
      first = false;
      if (c === '[' && this.ch(1) === ':') {
        const close = String.fromCodePoint(...this.cps.slice(this.pos)).indexOf(':]');
        const name = close < 0 ? '' : String.fromCodePoint(...this.cps.slice(this.pos + 2, this.pos + close));
        let positive = name;
        if (name.startsWith('^')) positive = name.slice(1);
        const posix = POSIX[positive];
        if (posix === undefined) this.fail(`invalid POSIX class [:${name}:]`, this.pos);
        ranges.push(...(name.startsWith('^') ? complement(posix) : posix.map(([a, b]): [number, number] => [a, b])));
        this.pos += close + 2;
        continue;
      }
      const lo = this.classAtom(flags);
      if (typeof lo !== 'number') {
        ranges.push(...(lo.negated ? complement(lo.ranges) : lo.ranges.map(([a, b]): [number, number] => [a, b])));
        continue;
      }
      if (this.ch() === '-' && this.ch(1) !== ']' && this.ch(1) !== '') {
        const at = this.pos;
        this.pos += 1;
        const hi = this.classAtom(flags);
        if (typeof hi !== 'number') this.fail('invalid character class range: a class as its end', at);
        if (hi < lo) this.fail(`invalid character class range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}`, at);
        ranges.push([lo, hi]);
      } else ranges.push([lo, lo]);
    }
    return { kind: 'class', cls: { ranges: normalize(ranges), negated }, fold: flags.i };
  }

  private classAtom(flags: Flags): Re2CharClass | number {
    if (this.ch() === '\\') return this.parseEscape(flags, true);
    const cp = this.cps[this.pos] as number;
    this.pos += 1;
    return cp;
  }
}
