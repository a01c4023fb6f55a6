// Writes benchmark sections into BENCHMARKS.md, each between markers so that a rerun
// replaces its own section and leaves the others alone.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const FILE = join(ROOT, 'BENCHMARKS.md');
const HEADER = `# Benchmarks

Each section is written by \`npm run bench\`; rerun the command it names to update it.
Sides run alternately (A B A B ...) in the same run; figures are milliseconds unless
a section says otherwise, and the ratio is median(A) / median(B). This machine is
shared and noisy: compare ratios, not absolute figures, and rerun before concluding.
`;

/** Options for {@link writeSection}. */
export interface SectionOptions {
  /** Stable id of the section (the benchmark file's name). */
  id: string;
  title: string;
  /** The exact command that produced it. */
  command: string;
  /** Markdown body: tables and what they show. */
  body: string;
  /** The file to write (default BENCHMARKS.md at the workspace root). */
  file?: string;
}

/** Replaces (or appends) one section of BENCHMARKS.md. */
export function writeSection(options: SectionOptions): void {
  const start = `<!-- bench:${options.id} -->`;
  const end = `<!-- /bench:${options.id} -->`;
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const section = [
    start,
    `## ${options.title}`,
    '',
    `Command: \`${options.command}\` — ${when} UTC, ${cpus().length} CPUs, Node ${process.version}, Linux.`,
    '',
    options.body.trim(),
    end,
  ].join('\n');
  const file = options.file ?? FILE;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + section + text.slice(j + end.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, text);
}
