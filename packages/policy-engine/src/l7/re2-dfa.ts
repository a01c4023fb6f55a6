// A lazily built DFA over a compiled RE2 program, as RE2 itself runs: each DFA state is
// the set of NFA states reachable after some input, built the first time it is needed
// and cached, so a warm match costs one table lookup per character. Programs with line
// or word assertions (`(?m)^`, `\b`) need the characters around each position and run
// on the NFA instead; `^`/`\A` and `$`/`\z` only need "at the start" and "at the end".
// The cache is bounded: past RE2_MAX_DFA_STATES, new states are built for the match at
// hand and not kept (still linear, only slower).

import { type Instruction } from './re2-program.js';

/** The most DFA states kept per pattern. */
export const RE2_MAX_DFA_STATES = 4096;

interface DfaState {
  /** The `char` instructions of the state's closure, in program order. */
  readonly pcs: readonly number[];
  /** Whether a match is reached if the input ends here. */
  readonly accept: boolean;
  /** Next states by ASCII character, filled lazily. */
  readonly ascii: (DfaState | undefined)[];
  /** Next states for other code points. */
  readonly other: Map<number, DfaState>;
}

/** Whether a program can run on the DFA: no assertions but text start and end. */
export function dfaCapable(code: readonly Instruction[]): boolean {
  return code.every((ins) => ins.op !== 'assert' || ins.which === 'text-start' || ins.which === 'text-end');
}

/** A full-match function over `code` (which {@link dfaCapable} accepted). */
export function dfaMatcher(code: readonly Instruction[]): (input: string) => boolean {
  const cache = new Map<string, DfaState>();
  const seen = new Int32Array(code.length).fill(-1);
  let generation = 0;

  // The char instructions reachable from `kernel` without reading, and whether `match` is.
  const closure = (kernel: readonly number[], atStart: boolean, atEnd: boolean): { pcs: number[]; match: boolean } => {
    generation += 1;
    const pcs: number[] = [];
    let match = false;
    const stack = [...kernel].reverse();
    while (stack.length > 0) {
      const at = stack.pop() as number;
      if (seen[at] === generation) continue;
      seen[at] = generation;
      const ins = code[at] as Instruction;
      if (ins.op === 'jump') stack.push(ins.next);
      else if (ins.op === 'split') { stack.push(ins.b); stack.push(ins.a); }
      else if (ins.op === 'assert') { if (ins.which === 'text-start' ? atStart : atEnd) stack.push(ins.next); }
      else if (ins.op === 'match') match = true;
      else pcs.push(at);
    }
    return { pcs, match };
  };
  const build = (kernel: readonly number[], atStart: boolean): DfaState => ({
    pcs: closure(kernel, atStart, false).pcs,
    accept: closure(kernel, atStart, true).match,
    ascii: [],
    other: new Map(),
  });
  const start = build([0], true);

  const step = (state: DfaState, cp: number): DfaState => {
    const cached = cp < 128 ? state.ascii[cp] : state.other.get(cp);
    if (cached !== undefined) return cached;
    const kernel: number[] = [];
    for (const pc of state.pcs) {
      const ins = code[pc] as Instruction & { op: 'char' };
      if (ins.test(cp) && !kernel.includes(ins.next)) kernel.push(ins.next);
    }
    const key = kernel.join(',');
    let next = cache.get(key);
    if (next === undefined) {
      next = build(kernel, false);
      if (cache.size >= RE2_MAX_DFA_STATES) return next;
      cache.set(key, next);
    }
    if (cp < 128) state.ascii[cp] = next;
    else if (state.other.size < 256) state.other.set(cp, next);
    return next;
  };

  return (input) => {
    let state = start;
    const length = input.length;
    for (let i = 0; i < length; i += 1) {
      let cp = input.charCodeAt(i);
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < length) {
        const low = input.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) { cp = (cp - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000; i += 1; }
      }
      state = step(state, cp);
      if (state.pcs.length === 0) return i === length - 1 && state.accept;
    }
    return state.accept;
  };
}
