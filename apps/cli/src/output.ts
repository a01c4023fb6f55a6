// Output for people and for programs: aligned tables (colour only on a terminal and
// never with NO_COLOR), JSON and YAML. What a pipe receives is plain and stable.

import { stringify } from 'yaml';

import { type CliIo } from './io.js';

/** The `-o` formats. Each command accepts the ones that make sense for it. */
export const OUTPUT_FORMAT = {
  TABLE: 'table',
  WIDE: 'wide',
  JSON: 'json',
  YAML: 'yaml',
} as const;

/** One of {@link OUTPUT_FORMAT}. */
export type OutputFormat = (typeof OUTPUT_FORMAT)[keyof typeof OUTPUT_FORMAT];

/** Colours for a terminal; every function is the identity when colour is off. */
export interface Style {
  readonly enabled: boolean;
  good(text: string): string;
  bad(text: string): string;
  warn(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

const sgr = (code: string) => (text: string): string => `\u001b[${code}m${text}\u001b[0m`;
const plain = (text: string): string => text;

/**
 * The style for `io.stdout`: colour when it is a terminal, unless `NO_COLOR` is set to
 * anything non-empty (no-color.org) or `TERM` is `dumb`.
 */
export function styleFor(io: Pick<CliIo, 'stdout' | 'env'>): Style {
  const enabled = io.stdout.isTTY && (io.env['NO_COLOR'] ?? '') === '' && io.env['TERM'] !== 'dumb';
  return enabled
    ? { enabled, good: sgr('32'), bad: sgr('31'), warn: sgr('33'), bold: sgr('1'), dim: sgr('2') }
    : { enabled, good: plain, bad: plain, warn: plain, bold: plain, dim: plain };
}

// Escape sequences take no room on screen.
// eslint-disable-next-line no-control-regex -- matching the ESC of the colour codes this module writes
const visibleLength = (text: string): number => text.replace(/\u001b\[[0-9;]*m/g, '').length;

/** A table column: its header and whether it is right-aligned (numbers). */
export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

/**
 * Rows under upper-case headers, columns two spaces apart and aligned on the widest
 * cell, no trailing spaces. Cells may hold colour; alignment ignores it.
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], style?: Style): string {
  const widths = columns.map((column, i) => Math.max(visibleLength(column.header), ...rows.map((row) => visibleLength(row[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - visibleLength(cell));
        if (columns[i]?.align === 'right') return pad + cell;
        return i === cells.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  const header = line(columns.map((c) => c.header));
  return [style === undefined ? header : style.bold(header), ...rows.map(line)].join('\n') + '\n';
}

/** JSON, two-space indented, with a final newline. */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** YAML (block style), with a final newline. */
export function renderYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}
