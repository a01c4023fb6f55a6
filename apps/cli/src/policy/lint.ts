// `twill policy lint`: documents that do not validate (errors), and the policy engine's
// lint findings over the ones that do (rules that can never match are errors; shadowed
// rules, Allow/Deny overlaps and policies that select nothing are warnings).

import { lintPolicies, type LintFinding, type LintFindingKind } from '@twill/policy-engine';

import { type CommandContext } from '../context.js';
import { FailedError, UsageError } from '../errors.js';
import { renderJson, renderTable, renderYaml, type OutputFormat } from '../output.js';
import { expandPaths, locate, parseDocuments, readText, type SourceDocument } from './documents.js';
import { buildSnapshot, compilePolicyDocuments, policySource, readClusterObjects } from './compile.js';

/** The options of `policy lint`, as parsed. */
export interface LintOptions {
  readonly cluster?: string;
  readonly strict?: boolean;
  readonly output: OutputFormat;
}

/** How bad a finding is: errors fail the command (exit 1), warnings only with `--strict`. */
export type Severity = 'error' | 'warning';

/** One finding in the JSON output (README: "policy lint: JSON"). */
export interface FindingJson {
  readonly severity: Severity;
  /** `invalid-document`, `yaml-syntax`, or one of the engine's lint kinds. */
  readonly kind: LintFindingKind | 'invalid-document' | 'yaml-syntax';
  /** `file:line`. */
  readonly location: string;
  /** `NetworkPolicy x/deny-all`, when known. */
  readonly policy?: string;
  /** The rule's path in its document. */
  readonly rule?: string;
  readonly message: string;
  /** The other rule, for shadowing and overlaps: `file:line`, policy and rule. */
  readonly related?: { readonly location?: string; readonly policy: string; readonly rule: string };
}

const SEVERITY: Readonly<Record<LintFindingKind, Severity>> = {
  'never-matches': 'error',
  shadowed: 'warning',
  'allow-deny-overlap': 'warning',
  'selects-nothing': 'warning',
};

const refText = (ref: LintFinding['policy']): string => `${ref.kind} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}`;

/** Runs `policy lint`; 0 without errors (or warnings, with `--strict`), 1 otherwise. */
export async function runLint(ctx: CommandContext, paths: readonly string[], options: LintOptions): Promise<number> {
  const files = await expandPaths(ctx.io, ctx.command, 'PATH', paths);
  const findings: FindingJson[] = [];
  const docs: SourceDocument[] = [];
  for (const file of files) {
    const parsed = parseDocuments(file, await readText(ctx.io, ctx.command, file));
    docs.push(...parsed.documents);
    if (parsed.problem !== undefined) findings.push({ severity: 'error', kind: 'yaml-syntax', location: parsed.problem.where, message: parsed.problem.what });
  }
  const compiled = compilePolicyDocuments(docs);
  for (const problem of compiled.problems) {
    for (const line of problem.lines) findings.push({ severity: 'error', kind: 'invalid-document', location: line.where, message: line.what });
  }
  let snapshot;
  if (options.cluster !== undefined) {
    const clusterFiles = await expandPaths(ctx.io, ctx.command, '--cluster', [options.cluster]);
    const clusterDocs: SourceDocument[] = [];
    for (const file of clusterFiles) {
      const parsed = parseDocuments(file, await readText(ctx.io, ctx.command, file));
      if (parsed.problem !== undefined) throw new UsageError(ctx.command, parsed.problem.where, parsed.problem.what);
      clusterDocs.push(...parsed.documents);
    }
    snapshot = buildSnapshot(ctx.command, readClusterObjects(ctx.command, clusterDocs), compiled);
  }
  for (const finding of lintPolicies({ policies: compiled.policies, tiers: compiled.tiers, ...(snapshot === undefined ? {} : { snapshot }) })) {
    const doc = policySource(compiled, finding.policy);
    const relatedDoc = finding.related === undefined ? undefined : policySource(compiled, finding.related.policy);
    findings.push({
      severity: SEVERITY[finding.kind],
      kind: finding.kind,
      location: doc === undefined ? '' : locate(doc, finding.path),
      policy: refText(finding.policy),
      ...(finding.path === undefined ? {} : { rule: finding.path }),
      message: finding.message,
      ...(finding.related === undefined
        ? {}
        : {
            related: {
              ...(relatedDoc === undefined ? {} : { location: locate(relatedDoc, finding.related.path) }),
              policy: refText(finding.related.policy),
              rule: finding.related.path,
            },
          }),
    });
  }

  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  const summary = {
    files: files.length,
    documents: docs.length,
    policies: compiled.policies.length,
    errors,
    warnings,
  };
  write(ctx, options.output, findings, summary);
  const failed = errors > 0 || (options.strict === true && warnings > 0);
  if (failed && (options.output === 'table' || options.output === 'wide')) {
    // The one-line reason on stderr; the findings themselves went to stdout.
    ctx.io.stderr.write(`${new FailedError(ctx.command, '', `${errors} error(s)${options.strict === true ? `, ${warnings} warning(s) (--strict)` : ''}`).line()}\n`);
  }
  return failed ? 1 : 0;
}

function write(ctx: CommandContext, output: OutputFormat, findings: readonly FindingJson[], summary: Record<string, number>): void {
  const { stdout } = ctx.io;
  if (output === 'json' || output === 'yaml') {
    const value = { findings, summary };
    stdout.write(output === 'json' ? renderJson(value) : renderYaml(value));
    return;
  }
  const { style } = ctx;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const totals = `${plural(summary['errors'] ?? 0, 'error')}, ${plural(summary['warnings'] ?? 0, 'warning')} in ${plural(summary['files'] ?? 0, 'file')} (${plural(summary['documents'] ?? 0, 'document')}, ${plural(summary['policies'] ?? 0, 'policy')})`
    .replace('policys', 'policies');
  if (findings.length === 0) {
    stdout.write(`no findings: ${totals}\n`);
    return;
  }
  const severity = (s: Severity): string => (s === 'error' ? style.bad(s) : style.warn(s));
  const columns = [{ header: 'LOCATION' }, { header: 'SEVERITY' }, { header: 'KIND' }, { header: 'MESSAGE' }, ...(output === 'wide' ? [{ header: 'RELATED' }] : [])];
  const rows = findings.map((f) => [f.location, severity(f.severity), f.kind, f.message, ...(output === 'wide' ? [f.related?.location ?? ''] : [])]);
  stdout.write(`${renderTable(columns, rows, style)}${totals}\n`);
}
