// Regular expressions of the HTTP path and URL filters, searched in linear time. Hubble
// compiles them with Go's RE2 and searches (an unanchored match); a JavaScript RegExp
// backtracks, and a pattern like `(a+)+$` from any client of the observer socket could
// hold the agent's event loop for minutes. So the pattern is parsed here (a subset of
// RE2's syntax, every other construct refused by name) into a Thompson NFA that is run as
// a set of states stepped once per character (Pike's VM without captures): time
// O(text length × program size), whatever the pattern. Pure.

/** The most instructions one pattern may compile to (bounds the work per character). */
export const MAX_REGEX_PROGRAM = 2000;

/** The longest pattern accepted, in characters. */
export const MAX_REGEX_LENGTH = 1000;

type CharTest = (cp: number) => boolean;

type Node =
  | { readonly kind: 'char'; readonly test: CharTest }
  | { readonly kind: 'start' | 'end' | 'empty' }
  | { readonly kind: 'concat' | 'alt'; readonly parts: readonly Node[] }
  | { readonly kind: 'repeat'; readonly node: Node; readonly min: number; readonly max: number | undefined };

/** A pattern Twill cannot search with: `reason` says what and where (0-based character offset). */
export class RegexSyntaxError extends Error {
  override readonly name = 'RegexSyntaxError';
}

const NEWLINE = 0x0a;
const isDigit: CharTest = (c) => c >= 0x30 && c <= 0x39;
const isWord: CharTest = (c) => isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
// RE2's \s: space, \t, \n, \f, \r (not \v).
const isSpace: CharTest = (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
const not = (t: CharTest): CharTest => (c) => !t(c);
const CLASS_ESCAPES: Readonly<Record<string, CharTest>> = { d: isDigit, D: not(isDigit), w: isWord, W: not(isWord), s: isSpace, S: not(isSpace) };
const CONTROL_ESCAPES: Readonly<Record<string, number>> = { t: 0x09, n: 0x0a, r: 0x0d, f: 0x0c, v: 0x0b, a: 0x07 };

class Parser {
  #at = 0;
  readonly #chars: readonly string[];

  constructor(readonly pattern: string) {
    this.#chars = [...pattern];
  }

  parse(): Node {
    const node = this.#alternation();
    if (this.#at < this.#chars.length) throw this.#error(`unmatched ')'`);
    return node;
  }

  #error(reason: string, at = this.#at): RegexSyntaxError {
    return new RegexSyntaxError(`${reason} at offset ${at}`);
  }

  #peek(offset = 0): string | undefined {
    return this.#chars[this.#at + offset];
  }

  #alternation(): Node {
    const parts = [this.#concatenation()];
    while (this.#peek() === '|') {
      this.#at += 1;
      parts.push(this.#concatenation());
    }
    return parts.length === 1 ? (parts[0] as Node) : { kind: 'alt', parts };
  }

  #concatenation(): Node {
    const parts: Node[] = [];
    for (let c = this.#peek(); c !== undefined && c !== '|' && c !== ')'; c = this.#peek()) parts.push(this.#repetition());
    return parts.length === 1 ? (parts[0] as Node) : parts.length === 0 ? { kind: 'empty' } : { kind: 'concat', parts };
  }

  #repetition(): Node {
    const start = this.#at;
    let node = this.#atom();
    let repeated = false;
    for (;;) {
      const c = this.#peek();
      let min: number;
      let max: number | undefined;
      if (c === '*' || c === '+' || c === '?') {
        this.#at += 1;
        [min, max] = c === '*' ? [0, undefined] : c === '+' ? [1, undefined] : [0, 1];
      } else if (c === '{' && this.#bounds() !== undefined) {
        [min, max] = this.#bounds() as [number, number | undefined];
        while (this.#peek() !== '}') this.#at += 1;
        this.#at += 1;
      } else break;
      // RE2 refuses `a**`; a lazy `?` after a quantifier changes no match, so it is taken.
      if (repeated) throw this.#error('a repetition of a repetition is refused (as RE2 does)', start);
      if (this.#peek() === '?') this.#at += 1;
      if (node.kind === 'start' || node.kind === 'end') throw this.#error('nothing to repeat', start);
      node = { kind: 'repeat', node, min, max };
      repeated = true;
    }
    return node;
  }

  // `{n}`, `{n,}`, `{n,m}` at the cursor; undefined when it is not one (then `{` is a literal, as in RE2).
  #bounds(): [number, number | undefined] | undefined {
    const rest = this.#chars.slice(this.#at, this.#at + 16).join('');
    const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(rest);
    if (m === null) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
    if (min > 1000 || (max !== undefined && (max > 1000 || max < min))) throw this.#error(`bad repetition ${m[0]} (RE2 allows at most 1000, and min ≤ max)`);
    return [min, max];
  }

  #atom(): Node {
    const c = this.#peek() as string;
    const at = this.#at;
    this.#at += 1;
    switch (c) {
      case '.':
        return { kind: 'char', test: (cp) => cp !== NEWLINE };
      case '^':
        return { kind: 'start' };
      case '$':
        return { kind: 'end' };
      case '[':
        return { kind: 'char', test: this.#class() };
      case '\\':
        return { kind: 'char', test: this.#escape(false) };
      case '*':
      case '+':
      case '?':
        throw this.#error(`missing argument to repetition operator '${c}'`, at);
      case '(': {
        if (this.#peek() === '?') {
          if (this.#peek(1) !== ':') {
            throw this.#error('flags, named groups and lookaround are not supported (only `(...)` and `(?:...)`)', at);
          }
          this.#at += 2;
        }
        const inner = this.#alternation();
        if (this.#peek() !== ')') throw this.#error(`missing ')'`, at);
        this.#at += 1;
        return inner;
      }
      default: {
        const cp = c.codePointAt(0) as number;
        return { kind: 'char', test: (x) => x === cp };
      }
    }
  }

  // After a backslash. In a class, `\b` would be a backspace in some syntaxes: refused alike.
  #escape(inClass: boolean): CharTest {
    const at = this.#at - 1;
    const c = this.#peek();
    if (c === undefined) throw this.#error('trailing backslash', at);
    this.#at += 1;
    const cls = CLASS_ESCAPES[c];
    if (cls !== undefined) return cls;
    const control = CONTROL_ESCAPES[c];
    if (control !== undefined) return (x) => x === control;
    // Escaped punctuation stands for itself (RE2: any non-word ASCII character may be escaped).
    if (/^[!-/:-@[-`{-~]$/.test(c)) {
      const cp = c.codePointAt(0) as number;
      return (x) => x === cp;
    }
    throw this.#error(`\\${c} is not supported${inClass ? ' in a class' : ''} (word boundaries, back references, \\p and hex escapes are refused)`, at);
  }

  // After `[`: ranges, negation, escapes; `]` first is a literal.
  #class(): CharTest {
    const at = this.#at - 1;
    const negated = this.#peek() === '^';
    if (negated) this.#at += 1;
    const tests: CharTest[] = [];
    let first = true;
    for (;;) {
      const c = this.#peek();
      if (c === undefined) throw this.#error(`missing ']'`, at);
      if (c === ']' && !first) {
        this.#at += 1;
        break;
      }
      first = false;
      if (c === '[' && this.#peek(1) === ':') throw this.#error('POSIX classes ([:alpha:]) are not supported', this.#at);
      const low = this.#classChar();
      if (typeof low === 'number' && this.#peek() === '-' && this.#peek(1) !== ']' && this.#peek(1) !== undefined) {
        this.#at += 1;
        const high = this.#classChar();
        if (typeof high !== 'number' || high < low) throw this.#error('bad character class range', at);
        tests.push((x) => x >= low && x <= high);
      } else if (typeof low === 'number') {
        tests.push((x) => x === low);
      } else tests.push(low);
    }
    const any = (x: number): boolean => tests.some((t) => t(x));
    return negated ? (x) => !any(x) : any;
  }

  // One member of a class: a code point, or a class escape's test.
  #classChar(): number | CharTest {
    const c = this.#peek() as string;
    this.#at += 1;
    if (c !== '\\') return c.codePointAt(0) as number;
    const next = this.#peek();
    const test = this.#escape(true);
    if (next !== undefined && CLASS_ESCAPES[next] === undefined) {
      const control = CONTROL_ESCAPES[next];
      return control ?? (next.codePointAt(0) as number);
    }
    return test;
  }
}

// ---- program -------------------------------------------------------------------------------

type Instruction =
  | { op: 'char'; test: CharTest; next: number }
  | { op: 'split'; a: number; b: number }
  | { op: 'jump'; next: number }
  | { op: 'assert'; at: 'start' | 'end'; next: number }
  | { op: 'match' };

class Compiler {
  readonly program: Instruction[] = [];

  #emit(i: Instruction): number {
    if (this.program.length >= MAX_REGEX_PROGRAM) {
      throw new RegexSyntaxError(`the pattern compiles to more than ${MAX_REGEX_PROGRAM} instructions (large repetition counts multiply)`);
    }
    this.program.push(i);
    return this.program.length - 1;
  }

  // Emits `node` so that it continues at the instruction emitted next; returns nothing.
  compile(node: Node): void {
    switch (node.kind) {
      case 'char':
        this.#emit({ op: 'char', test: node.test, next: this.program.length + 1 });
        return;
      case 'start':
      case 'end':
        this.#emit({ op: 'assert', at: node.kind, next: this.program.length + 1 });
        return;
      case 'empty':
        return;
      case 'concat':
        for (const part of node.parts) this.compile(part);
        return;
      case 'alt': {
        // split L1, next; L1: a; jump end; next: (rest of the alternatives) ...
        const jumps: number[] = [];
        node.parts.forEach((part, i) => {
          if (i < node.parts.length - 1) {
            const split = this.#emit({ op: 'split', a: 0, b: 0 });
            (this.program[split] as { a: number }).a = this.program.length;
            this.compile(part);
            jumps.push(this.#emit({ op: 'jump', next: 0 }));
            (this.program[split] as { b: number }).b = this.program.length;
          } else this.compile(part);
        });
        for (const j of jumps) (this.program[j] as { next: number }).next = this.program.length;
        return;
      }
      case 'repeat': {
        for (let i = 0; i < node.min; i += 1) this.compile(node.node);
        if (node.max === undefined) {
          // L: split body, end; body; jump L
          const split = this.#emit({ op: 'split', a: 0, b: 0 });
          (this.program[split] as { a: number }).a = this.program.length;
          this.compile(node.node);
          this.#emit({ op: 'jump', next: split });
          (this.program[split] as { b: number }).b = this.program.length;
          return;
        }
        // Optional copies: split body, end; body; split body, end; ... (ends patched last).
        const splits: number[] = [];
        for (let i = node.min; i < node.max; i += 1) {
          const split = this.#emit({ op: 'split', a: 0, b: 0 });
          (this.program[split] as { a: number }).a = this.program.length;
          splits.push(split);
          this.compile(node.node);
        }
        for (const s of splits) (this.program[s] as { b: number }).b = this.program.length;
        return;
      }
    }
  }

  finish(): Instruction[] {
    this.#emit({ op: 'match' });
    return this.program;
  }
}

/**
 * Compiles a pattern for searching: the test is true when the pattern matches anywhere in
 * the text (Go's `regexp.MatchString`; anchor with `^` and `$`). The syntax is RE2's,
 * less what this matcher refuses: literals, `.`, classes `[a-z]` `[^/]` with `\d \w \s`
 * (and their negations), escaped punctuation, `\t \n \r \f \v`, groups `(...)` `(?:...)`,
 * `|`, `* + ?` (lazy forms too), `{n}` `{n,}` `{n,m}` (up to 1000), `^` and `$` (start
 * and end of the text). Flags, named groups, lookaround, back references, word boundaries,
 * `\p` classes and POSIX classes are refused. Runs in time linear in the text.
 * @throws RegexSyntaxError saying what is wrong and at which offset.
 */
export function compileSearch(pattern: string): (text: string) => boolean {
  if (pattern.length > MAX_REGEX_LENGTH) throw new RegexSyntaxError(`the pattern is ${pattern.length} characters long, more than ${MAX_REGEX_LENGTH}`);
  const compiler = new Compiler();
  compiler.compile(new Parser(pattern).parse());
  const program = compiler.finish();
  const size = program.length;
  // Two lists of states and a mark per instruction (the step it was last added in).
  let current = new Int32Array(size);
  let next = new Int32Array(size);
  const marks = new Int32Array(size);
  // Each instruction is expanded once per step and pushes at most two others.
  const stack = new Int32Array(2 * size + 2);
  return (text) => {
    const chars = [...text];
    const length = chars.length;
    marks.fill(-1);
    let step = 0;
    let count = 0;
    // Adds pc and everything it reaches without reading a character, at position `pos`, to `list`.
    const add = (list: Int32Array, n: number, pc: number, pos: number): number | -1 => {
      let top = 0;
      stack[top++] = pc;
      while (top > 0) {
        const at = stack[--top] as number;
        if (marks[at] === step) continue;
        marks[at] = step;
        const i = program[at] as Instruction;
        switch (i.op) {
          case 'match':
            return -1;
          case 'jump':
            stack[top++] = i.next;
            break;
          case 'split':
            // Pushed b first so a is explored first (order does not change whether it matches).
            stack[top++] = i.b;
            stack[top++] = i.a;
            break;
          case 'assert':
            if ((i.at === 'start' && pos === 0) || (i.at === 'end' && pos === length)) stack[top++] = i.next;
            break;
          default:
            list[n++] = at;
        }
      }
      return n;
    };
    for (let pos = 0; pos <= length; pos += 1) {
      // Unanchored: a new thread starts at every position.
      const started = add(current, count, 0, pos);
      if (started === -1) return true;
      count = started;
      if (pos === length) break;
      const cp = (chars[pos] as string).codePointAt(0) as number;
      step += 1;
      let n = 0;
      for (let k = 0; k < count; k += 1) {
        const i = program[current[k] as number] as Extract<Instruction, { op: 'char' }>;
        if (i.test(cp)) {
          const added = add(next, n, i.next, pos + 1);
          if (added === -1) return true;
          n = added;
        }
      }
      [current, next] = [next, current];
      count = n;
    }
    return false;
  };
}
