// Compiles a parsed RE2 pattern to a Thompson NFA and runs it as a set of states
// stepped once per input character (Pike's VM without captures): time
// O(input length × program size), memory O(program size), whatever the pattern. This
// is how RE2 itself stays linear; a JavaScript RegExp backtracks and can take
// exponential time on patterns like `(a+)+$`, so policy patterns never reach one.
// Most patterns run on a lazily built DFA over the same program instead (re2-dfa.ts):
// the same answers, one table lookup per character once warm.
//
// The match is always of the WHOLE value (Cilium has Envoy match `:path`, `:method`
// and `:authority` with a full match), so there is no search loop and laziness or
// leftmost-first preference cannot change the answer.

import { dfaCapable, dfaMatcher } from './re2-dfa.js';
import { type Re2CharClass, type Re2Node } from './re2-parse.js';

/** The most instructions one pattern may compile to; bounds the work per input character. */
export const RE2_MAX_PROGRAM = 2000;

/** One instruction of a compiled program (internal to the l7 matcher). */
export type Instruction =
  | { op: 'char'; test: (cp: number) => boolean; next: number }
  | { op: 'split'; a: number; b: number }
  | { op: 'jump'; next: number }
  | { op: 'assert'; which: 'text-start' | 'text-end' | 'line-start' | 'line-end' | 'word' | 'not-word'; next: number }
  | { op: 'match' };

/** A compiled pattern: run it with {@link Re2Program.fullMatch}. */
export interface Re2Program {
  /** Whether the pattern matches the whole of `input` (read by code point). */
  fullMatch(input: string): boolean;
  /** How many instructions the pattern compiled to (at most {@link RE2_MAX_PROGRAM}). */
  readonly size: number;
  /** Set when the pattern is a plain literal: matching is string equality. */
  readonly literal?: string;
  /** Set when the pattern is a literal followed by `.*` under (?s), or when no input can hold a newline: matching is startsWith. */
  readonly prefix?: string;
}

/** Thrown when a pattern needs more than {@link RE2_MAX_PROGRAM} instructions. */
export class Re2TooLargeError extends Error {
  override readonly name = 'Re2TooLargeError';
}

function inClass(cls: Re2CharClass, cp: number): boolean {
  let lo = 0;
  let hi = cls.ranges.length - 1;
  let found = false;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = cls.ranges[mid] as readonly [number, number];
    if (cp < a) hi = mid - 1;
    else if (cp > b) lo = mid + 1;
    else { found = true; break; }
  }
  return found !== cls.negated;
}

// Simple case folding: the code point and its one-code-point upper and lower forms.
function caseVariants(cp: number): number[] {
  const s = String.fromCodePoint(cp);
  const out = [cp];
  for (const v of [s.toLowerCase(), s.toUpperCase()]) {
    const c = v.codePointAt(0) as number;
    if (v.length === String.fromCodePoint(c).length && !out.includes(c)) out.push(c);
  }
  return out;
}

function charTest(node: Re2Node & { kind: 'char' | 'class' | 'any' }): (cp: number) => boolean {
  if (node.kind === 'any') return node.newline ? () => true : (cp) => cp !== 0x0a;
  if (node.kind === 'char') {
    if (!node.fold) { const want = node.cp; return (cp) => cp === want; }
    const set = caseVariants(node.cp);
    return (cp) => set.includes(cp);
  }
  const cls = node.cls;
  if (!node.fold) return (cp) => inClass(cls, cp);
  return (cp) => caseVariants(cp).some((v) => inClass(cls, v));
}

class Compiler {
  readonly code: Instruction[] = [];

  private emit(ins: Instruction): number {
    if (this.code.length >= RE2_MAX_PROGRAM) throw new Re2TooLargeError(`pattern too large: more than ${RE2_MAX_PROGRAM} instructions`);
    this.code.push(ins);
    return this.code.length - 1;
  }

  // Emits `node` so that it continues at the instruction index returned by `patch` later:
  // every emitted instruction with next === -1 is a hole filled by `fill`.
  compile(node: Re2Node): number[] {
    switch (node.kind) {
      case 'empty': {
        const j = this.emit({ op: 'jump', next: -1 });
        return [j];
      }
      case 'char': case 'class': case 'any': {
        const c = this.emit({ op: 'char', test: charTest(node), next: -1 });
        return [c];
      }
      case 'assert': {
        const a = this.emit({ op: 'assert', which: node.which, next: -1 });
        return [a];
      }
      case 'concat': {
        let holes: number[] = [];
        node.of.forEach((part, index) => {
          const start = this.code.length;
          const partHoles = this.compile(part);
          if (index > 0) this.fill(holes, start);
          holes = partHoles;
        });
        return holes;
      }
      case 'alt': {
        // split → first | split → second | ... ; every branch's holes are the alternation's.
        const holes: number[] = [];
        let pendingSplit = -1;
        node.of.forEach((branch, index) => {
          const last = index === node.of.length - 1;
          const split = last ? -1 : this.emit({ op: 'split', a: -1, b: -1 });
          const start = this.code.length;
          if (pendingSplit >= 0) (this.code[pendingSplit] as { b: number }).b = split >= 0 ? split : start;
          if (split >= 0) (this.code[split] as { a: number }).a = split + 1;
          holes.push(...this.compile(branch));
          pendingSplit = split;
        });
        return holes;
      }
      case 'repeat':
        return this.compileRepeat(node.of, node.min, node.max);
    }
  }

  private compileRepeat(of: Re2Node, min: number, max: number): number[] {
    // x{n,m} = x x ... x (n times) then (x (x ...)?)? (m-n times), or x* when unbounded.
    let holes: number[] = [];
    let first = true;
    for (let i = 0; i < min; i += 1) {
      const start = this.code.length;
      const h = this.compile(of);
      if (!first) this.fill(holes, start);
      holes = h;
      first = false;
    }
    if (max === Infinity) {
      const split = this.emit({ op: 'split', a: -1, b: -1 });
      if (!first) this.fill(holes, split);
      const body = this.code.length;
      (this.code[split] as { a: number }).a = body;
      const h = this.compile(of);
      this.fill(h, split);
      // The split's `b` is the way out.
      return [-(split + 1)];
    }
    const outs: number[] = [];
    for (let i = min; i < max; i += 1) {
      const split = this.emit({ op: 'split', a: -1, b: -1 });
      if (!first) this.fill(holes, split);
      first = false;
      (this.code[split] as { a: number }).a = this.code.length;
      outs.push(-(split + 1));
      holes = this.compile(of);
    }
    if (first) return [this.emit({ op: 'jump', next: -1 })];
    return [...holes, ...outs];
  }

  // A hole is an instruction index whose `next` is unset, or -(index+1) for a split's `b`.
  fill(holes: readonly number[], target: number): void {
    for (const hole of holes) {
      if (hole < 0) (this.code[-hole - 1] as { b: number }).b = target;
      else (this.code[hole] as { next: number }).next = target;
    }
  }
}

const isWord = (cp: number | undefined): boolean =>
  cp !== undefined && ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || cp === 0x5f || (cp >= 0x61 && cp <= 0x7a));

function assertHolds(which: string, prev: number | undefined, next: number | undefined): boolean {
  switch (which) {
    case 'text-start': return prev === undefined;
    case 'text-end': return next === undefined;
    case 'line-start': return prev === undefined || prev === 0x0a;
    case 'line-end': return next === undefined || next === 0x0a;
    case 'word': return isWord(prev) !== isWord(next);
    default: return isWord(prev) === isWord(next);
  }
}

// A pattern that is a plain literal, or a literal then `.*`: cheap to match without the VM.
function shortcut(node: Re2Node): { literal?: string; prefix?: string; anyNewline?: boolean } {
  const parts = node.kind === 'concat' ? node.of : [node];
  let text = '';
  for (const [index, part] of parts.entries()) {
    if (part.kind === 'char' && !part.fold) { text += String.fromCodePoint(part.cp); continue; }
    const last = index === parts.length - 1;
    if (last && part.kind === 'repeat' && part.min === 0 && part.max === Infinity && part.of.kind === 'any') {
      return { prefix: text, anyNewline: part.of.newline };
    }
    return {};
  }
  return { literal: text };
}

/**
 * Compile a parsed pattern.
 * @throws {Re2TooLargeError} when it needs more than {@link RE2_MAX_PROGRAM} instructions
 *   (`(a{1000}){1000}` would need a million).
 */
export function compileRe2(node: Re2Node): Re2Program {
  const compiler = new Compiler();
  const holes = compiler.compile(node);
  const matchAt = compiler.code.length;
  compiler.code.push({ op: 'match' });
  compiler.fill(holes, matchAt);
  const code = compiler.code;
  const size = code.length;
  const short = shortcut(node);
  if (short.literal !== undefined) {
    const literal = short.literal;
    return { size, literal, fullMatch: (input) => input === literal };
  }

  const run = (input: string): boolean => {
    const cps = Array.from(input, (c) => c.codePointAt(0) as number);
    let current = new Int32Array(size);
    let next = new Int32Array(size);
    let currentCount = 0;
    let nextCount = 0;
    const mark = new Int32Array(size).fill(-1);
    const stack: number[] = [];
    // Adds `pc` and every state reachable from it without reading a character, at position `pos`.
    const add = (list: Int32Array, count: number, pc: number, pos: number): number => {
      stack.push(pc);
      let n = count;
      while (stack.length > 0) {
        const at = stack.pop() as number;
        if (mark[at] === pos) continue;
        mark[at] = pos;
        const ins = code[at] as Instruction;
        if (ins.op === 'jump') stack.push(ins.next);
        else if (ins.op === 'split') { stack.push(ins.b); stack.push(ins.a); }
        else if (ins.op === 'assert') { if (assertHolds(ins.which, cps[pos - 1], cps[pos])) stack.push(ins.next); }
        else { list[n] = at; n += 1; }
      }
      return n;
    };
    currentCount = add(current, 0, 0, 0);
    for (let pos = 0; pos < cps.length; pos += 1) {
      const cp = cps[pos] as number;
      nextCount = 0;
      for (let k = 0; k < currentCount; k += 1) {
        const ins = code[current[k] as number] as Instruction;
        if (ins.op === 'char' && ins.test(cp)) nextCount = add(next, nextCount, ins.next, pos + 1);
      }
      if (nextCount === 0) return false;
      [current, next] = [next, current];
      currentCount = nextCount;
    }
    for (let k = 0; k < currentCount; k += 1) if ((code[current[k] as number] as Instruction).op === 'match') return true;
    return false;
  };

  if (short.prefix !== undefined) {
    const prefix = short.prefix;
    const anyNewline = short.anyNewline === true;
    return { size, prefix, fullMatch: (input) => input.startsWith(prefix) && (anyNewline || !input.includes('\n', prefix.length)) };
  }
  // The lazy DFA when the program allows it (the usual case), else the NFA simulation.
  return { size, fullMatch: dfaCapable(code) ? dfaMatcher(code) : run };
}
