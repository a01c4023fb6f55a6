// The connectivity matrix of one step of the demonstration: what a TCP connect from each
// pod to each other pod's served port saw, beside what `twill policy simulate` predicts
// for the same snapshot and policies. Pure: rendering and comparison only.

import { type Style } from '../../output.js';

/** A verdict, observed or predicted. */
export type Verdict = 'allow' | 'deny';

/** A column: a pod and the port it serves. */
export interface MatrixTarget {
  /** `namespace/name`. */
  readonly pod: string;
  readonly port: number;
}

/** One probe: observed in the pods, predicted by simulate. */
export interface MatrixCell {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  /** What the probe saw. */
  readonly observed: Verdict;
  /** Why the probe failed, when it did (`timeout`, `refused`, an errno code). */
  readonly detail?: string;
  /** What `twill policy simulate` predicts. */
  readonly predicted: Verdict;
  /** The enforcement point and rule simulate names (`ingress: NetworkPolicy x/y spec.ingress[0]`). */
  readonly decidedBy: string;
}

/** A matrix: rows are the source pods, columns the targets. */
export interface ConnectivityMatrix {
  /** Every pod, `namespace/name`, in row order. */
  readonly pods: readonly string[];
  readonly targets: readonly MatrixTarget[];
  /** Every probed pair (not a pod to itself). */
  readonly cells: readonly MatrixCell[];
}

/** The cells where the probe and simulate disagree. */
export function disagreements(matrix: ConnectivityMatrix): MatrixCell[] {
  return matrix.cells.filter((cell) => cell.observed !== cell.predicted);
}

const cellKey = (from: string, to: string, port: number): string => `${from}>${to}:${port}`;

// A column is named by the pod's name when no other namespace has a pod of that name.
function columnNames(targets: readonly MatrixTarget[]): string[] {
  const names = targets.map((t) => t.pod.slice(t.pod.indexOf('/') + 1));
  return targets.map((t, i) => (names.filter((n) => n === names[i]).length > 1 ? t.pod : (names[i] as string)));
}

// eslint-disable-next-line no-control-regex -- the ESC of the colour codes Style writes
const visible = (text: string): number => text.replace(/\u001b\[[0-9;]*m/g, '').length;
const padEnd = (text: string, width: number): string => text + ' '.repeat(Math.max(0, width - visible(text)));

/**
 * The matrix as text: a header of two lines (the target pod, then `:port`), one row per
 * source pod, cells `allow` or `deny` where the probe and simulate agree, `ALLOW!` or
 * `DENY!` (what the probe saw) where they do not, `-` for a pod and itself; then a legend,
 * the counts, and every disagreement with what simulate said decided it. Colour only
 * through `style` (plain when it is off).
 */
export function renderMatrix(matrix: ConnectivityMatrix, style: Style): string {
  const cells = new Map(matrix.cells.map((c) => [cellKey(c.from, c.to, c.port), c]));
  const header1 = ['FROM \\ TO', ...columnNames(matrix.targets)];
  const header2 = ['', ...matrix.targets.map((t) => `:${t.port}`)];
  const rows = matrix.pods.map((from) => [from, ...matrix.targets.map((target) => {
    if (target.pod === from) return style.dim('-');
    const cell = cells.get(cellKey(from, target.pod, target.port));
    if (cell === undefined) return style.dim('?');
    if (cell.observed !== cell.predicted) return style.bold(style.warn(`${cell.observed.toUpperCase()}!`));
    return cell.observed === 'allow' ? style.good('allow') : style.bad('deny');
  })]);
  const widths = header1.map((h, i) => Math.max(visible(h), visible(header2[i] ?? ''), ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cellsOfLine: readonly string[]): string => cellsOfLine.map((c, i) => padEnd(c, widths[i] ?? 0)).join('  ').trimEnd();
  const out = [style.bold(line(header1)), style.bold(line(header2)), ...rows.map(line)];

  const allowed = matrix.cells.filter((c) => c.observed === 'allow').length;
  const wrong = disagreements(matrix);
  out.push(
    '',
    'allow/deny: what a TCP connect from the row\'s pod to the column\'s pod and port saw, and what twill policy simulate predicts;',
    'ALLOW!/DENY!: what the probe saw where simulate predicts the opposite.',
    `${matrix.cells.length} probes: ${allowed} allowed, ${matrix.cells.length - allowed} denied; ${wrong.length === 0 ? 'twill policy simulate agrees on every one' : style.bold(style.bad(`${wrong.length} DISAGREE with twill policy simulate`))}`,
  );
  for (const cell of wrong) {
    out.push(style.bad(`  !! ${cell.from} -> ${cell.to}:${cell.port}: the probe saw ${cell.observed}${cell.detail === undefined ? '' : ` (${cell.detail})`}, simulate predicts ${cell.predicted} (${cell.decidedBy})`));
  }
  return `${out.join('\n')}\n`;
}
