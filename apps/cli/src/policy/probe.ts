// How `policy simulate` and `policy explain` print probes: one per row, the grids of a
// matrix, or the probe JSON (@twill/policy-engine's evaluateProbe: the deciding
// enforcement point, rule and policy, and where the policy came from, a file's line for
// simulate, a stored object for explain). The JSON is documented in the README
// ("policy simulate: JSON") and stable.

import { formatPolicyRef, type DecidedByJson, type PolicyJson, type PolicyRef, type ProbeJson } from '@twill/policy-engine';

import { type CommandContext } from '../context.js';
import { renderJson, renderTable, renderYaml, type OutputFormat } from '../output.js';

// The lab demo (src/lab/demo) reads the probe JSON by this name.
export type { ProbeJson } from '@twill/policy-engine';

/** `ingress: NetworkPolicy y/allow spec.ingress[0]`, for tables. */
export function describeDecision(decided: DecidedByJson): string {
  const ref = (p: PolicyJson): string => formatPolicyRef({ dialect: p.dialect as PolicyRef['dialect'], kind: p.kind, name: p.name, ...(p.namespace === undefined ? {} : { namespace: p.namespace }) });
  switch (decided.reason) {
    case 'rule':
      return `${decided.direction}: ${decided.policy === undefined ? '' : ref(decided.policy)} ${decided.rule ?? ''}`.trimEnd();
    case 'isolated':
      return `${decided.direction}: isolated by ${(decided.isolatedBy ?? []).map(ref).join(', ')}`;
    case 'not-selected':
      return `${decided.direction}: no policy selects ${decided.endpoint}`;
    default:
      return `${decided.direction}: passed, default allow`;
  }
}

/**
 * Prints probes: one per row (`table`, `wide` with the explanation), the grids of a
 * matrix (`table` with `matrix`), or JSON/YAML (one probe an object, a matrix
 * `{"probes": [...]}`).
 */
export function writeProbes(ctx: CommandContext, output: OutputFormat, probes: readonly ProbeJson[], matrix: boolean, pods: readonly string[] = []): void {
  const { stdout } = ctx.io;
  const { style } = ctx;
  if (output === 'json' || output === 'yaml') {
    const value = matrix ? { probes } : probes[0];
    stdout.write(output === 'json' ? renderJson(value) : renderYaml(value));
    return;
  }
  const verdict = (v: 'allow' | 'deny'): string => (v === 'allow' ? style.good(v) : style.bad(v));
  if (!matrix || output === 'wide') {
    const columns = [
      { header: 'FROM' }, { header: 'TO' }, { header: 'PORT', align: 'right' as const }, { header: 'PROTOCOL' }, { header: 'VERDICT' }, { header: 'DECIDED BY' },
      ...(output === 'wide' ? [{ header: 'EXPLANATION' }] : []),
    ];
    const rows = probes.map((p) => [p.from, p.to, String(p.port), p.protocol, verdict(p.verdict), describeDecision(p.decidedBy), ...(output === 'wide' ? [p.explanation] : [])]);
    stdout.write(renderTable(columns, rows, style));
    return;
  }
  // The matrix for people: one grid per protocol and port, clients down, servers across (upstream netpol's layout).
  const byKey = new Map(probes.map((p) => [`${p.protocol}/${p.port}/${p.from}>${p.to}`, p.verdict]));
  const grids = [...new Set(probes.map((p) => `${p.protocol}/${p.port}`))].map((key) => {
    const rows = pods.map((from) => [from, ...pods.map((to) => {
      if (from === to) return style.dim('-');
      return byKey.get(`${key}/${from}>${to}`) === 'allow' ? style.good('.') : style.bad('X');
    })]);
    return renderTable([{ header: key }, ...pods.map((pod) => ({ header: pod }))], rows, style);
  });
  const allowed = probes.filter((p) => p.verdict === 'allow').length;
  stdout.write(`${grids.join('\n')}\n. allowed  X denied  - same pod (not probed)\n${probes.length} probes: ${allowed} allowed, ${probes.length - allowed} denied\n`);
}
