// The runnable example of a package README: the one fenced block opened with
// ```ts example  (or ```ts example root  when it needs root), and the ```text output
// block after it, which is what running it prints.

/** A README's runnable example. */
export interface ReadmeExample {
  /** The TypeScript source. */
  readonly code: string;
  /** What it prints on stdout, exactly. */
  readonly output: string;
  /** Whether it needs root (it creates namespaces or BPF objects). */
  readonly root: boolean;
  /** The 1-based line of the opening fence. */
  readonly line: number;
}

const OPEN = /^```ts example( root)?\s*$/;
const OUTPUT = /^```text output\s*$/;

/** The example of `markdown`; `file` names it in errors. Throws when there is not exactly one, or it has no output block. */
export function readmeExample(markdown: string, file: string): ReadmeExample {
  const lines = markdown.split('\n');
  const opens = lines.flatMap((text, i) => (OPEN.test(text) ? [i] : []));
  if (opens.length !== 1) {
    throw new Error(`${file}: expected one \`\`\`ts example block, found ${opens.length}${opens.length ? ` (lines ${opens.map((i) => i + 1).join(', ')})` : ''}`);
  }
  const start = opens[0]!;
  const code = block(lines, start, file);
  const outputStart = lines.findIndex((text, i) => i > code.end && OUTPUT.test(text));
  if (outputStart === -1) throw new Error(`${file}:${start + 1}: the example has no \`\`\`text output block after it`);
  const between = lines.slice(code.end + 1, outputStart).join('\n');
  if (between.includes('```')) throw new Error(`${file}:${outputStart + 1}: another block stands between the example and its output`);
  const output = block(lines, outputStart, file);
  return { code: code.text, output: output.text, root: OPEN.exec(lines[start]!)![1] !== undefined, line: start + 1 };
}

function block(lines: readonly string[], open: number, file: string): { text: string; end: number } {
  const end = lines.findIndex((text, i) => i > open && /^```\s*$/.test(text));
  if (end === -1) throw new Error(`${file}:${open + 1}: the block is not closed`);
  return { text: lines.slice(open + 1, end).join('\n') + '\n', end };
}
