// A conformance report as Markdown (a table) and as one line.
import { CHECK_STATUS, type CheckStatus, type ConformanceReport } from './types.js';

/** Options of {@link formatConformanceMarkdown}. */
export interface MarkdownReportOptions {
  /** The heading (default: the plugins and the network). */
  readonly title?: string;
  /** Heading level of the title, 1 to 6 (default 2). */
  readonly level?: number;
}

const LABEL: Readonly<Record<CheckStatus, string>> = {
  [CHECK_STATUS.PASSED]: 'passed',
  [CHECK_STATUS.FAILED]: '**failed**',
  [CHECK_STATUS.NOT_APPLICABLE]: 'not applicable',
};

/** A table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\\/g, '\\\\').replace(/\|/g, '\\|').trim();
}

/** `bridge+host-local`. */
function pluginNames(report: ConformanceReport): string {
  return report.plugins.join('+');
}

/**
 * One line: `bridge+host-local (network dbnet, CNI 1.0.0): 20 passed, 1 failed, 3 not applicable`.
 */
export function summarizeConformance(report: ConformanceReport): string {
  const { passed, failed, notApplicable } = report.summary;
  return `${pluginNames(report)} (network ${report.network}, CNI ${report.version}): ${passed} passed, ${failed} failed, ${notApplicable} not applicable`;
}

/**
 * The report as Markdown: a heading, the summary line, the versions each plugin claims,
 * a table of every check (check, plugin, result, reason) and the notes, if any.
 */
export function formatConformanceMarkdown(report: ConformanceReport, options: MarkdownReportOptions = {}): string {
  const level = Math.min(6, Math.max(1, Math.trunc(options.level ?? 2)));
  const title = options.title ?? `${pluginNames(report)} (network ${report.network})`;
  const lines = [`${'#'.repeat(level)} ${cell(title)}`, '', summarizeConformance(report), ''];
  for (const plugin of report.plugins) {
    const claimed = report.claimedVersions[plugin];
    lines.push(`- \`${plugin}\` claims ${claimed ? claimed.join(', ') : 'nothing (no valid VERSION answer)'}`);
  }
  lines.push('', '| check | plugin | result | reason |', '|---|---|---|---|');
  for (const check of report.checks) {
    lines.push(`| \`${check.id}\` ${cell(check.title)} | ${check.plugin ? `\`${check.plugin}\`` : 'network'} | ${LABEL[check.status]} | ${cell(check.reason)} |`);
  }
  if (report.notes.length > 0) {
    lines.push('', 'Notes:', '');
    for (const note of report.notes) lines.push(`- ${cell(note)}`);
  }
  return `${lines.join('\n')}\n`;
}
