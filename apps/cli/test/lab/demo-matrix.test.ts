// The demonstration's matrix as people read it: byte for byte when stdout is a pipe
// (demo-matrix*.golden.txt), colour only on a terminal, and disagreements with
// `twill policy simulate` spelled out.

import { describe, expect, it } from 'vitest';

import { styleFor } from '../../src/output.js';
import { type ConnectivityMatrix, type MatrixCell, disagreements, renderMatrix } from '../../src/lab/demo/matrix.js';

const plain = styleFor({ stdout: { write: () => undefined, isTTY: false }, env: {} });
const colour = styleFor({ stdout: { write: () => undefined, isTTY: true }, env: {} });

const PODS = ['production/frontend', 'production/api-server', 'production/database', 'default/frontend'];
const PORTS: Record<string, number> = { 'production/frontend': 80, 'production/api-server': 8080, 'production/database': 5432, 'default/frontend': 80 };

// Step 1 of the tutorial: only the api-server's ends are restricted.
function cell(from: string, to: string, observed: 'allow' | 'deny', predicted = observed, detail?: string): MatrixCell {
  const decidedBy = predicted === 'allow' ? 'ingress: no policy selects it' : 'ingress: isolated by NetworkPolicy production/allow-api-access';
  return { from, to, port: PORTS[to] as number, observed, predicted, decidedBy, ...(detail === undefined ? {} : { detail }) };
}

function matrix(cells: MatrixCell[]): ConnectivityMatrix {
  return { pods: PODS, targets: PODS.map((pod) => ({ pod, port: PORTS[pod] as number })), cells };
}

const AGREEING = [
  cell('production/frontend', 'production/api-server', 'allow'),
  cell('production/frontend', 'production/database', 'allow'),
  cell('production/frontend', 'default/frontend', 'allow'),
  cell('production/api-server', 'production/frontend', 'deny', 'deny', 'timeout'),
  cell('production/api-server', 'production/database', 'allow'),
  cell('production/api-server', 'default/frontend', 'deny', 'deny', 'timeout'),
  cell('production/database', 'production/frontend', 'allow'),
  cell('production/database', 'production/api-server', 'deny', 'deny', 'timeout'),
  cell('production/database', 'default/frontend', 'allow'),
  cell('default/frontend', 'production/frontend', 'allow'),
  cell('default/frontend', 'production/api-server', 'deny', 'deny', 'timeout'),
  cell('default/frontend', 'production/database', 'allow'),
];

describe('the demonstration matrix', () => {
  it('prints rows from, columns to:port, and says simulate agrees', async () => {
    const text = renderMatrix(matrix(AGREEING), plain);
    await expect(text).toMatchFileSnapshot('demo-matrix.golden.txt');
    // Pod names that two namespaces share are named in full in the header.
    expect(text.split('\n')[0]).toBe('FROM \\ TO              production/frontend  api-server  database  default/frontend');
    expect(text).toContain('12 probes: 8 allowed, 4 denied; twill policy simulate agrees on every one');
  });

  it('marks every disagreement in its cell and lists it with what simulate said decided it', async () => {
    const cells = AGREEING.map((c) => {
      if (c.from === 'default/frontend' && c.to === 'production/api-server') return { ...c, observed: 'allow' as const, detail: undefined };
      if (c.from === 'production/frontend' && c.to === 'production/database') return { ...c, observed: 'deny' as const, detail: 'timeout' };
      return c;
    });
    const m = matrix(cells);
    expect(disagreements(m).map((c) => `${c.from}>${c.to}`)).toEqual(['production/frontend>production/database', 'default/frontend>production/api-server']);
    const text = renderMatrix(m, plain);
    await expect(text).toMatchFileSnapshot('demo-matrix-disagree.golden.txt');
    expect(text).toContain('2 DISAGREE with twill policy simulate');
    expect(text).toContain('  !! default/frontend -> production/api-server:8080: the probe saw allow, simulate predicts deny (ingress: isolated by NetworkPolicy production/allow-api-access)');
  });

  it('colours cells only on a terminal, keeping the columns aligned', () => {
    const text = renderMatrix(matrix(AGREEING), colour);
    expect(text).toContain('\u001b[32mallow\u001b[0m');
    expect(text).toContain('\u001b[31mdeny\u001b[0m');
    // eslint-disable-next-line no-control-regex -- removing the colour codes the style wrote
    expect(text.replace(/\u001b\[[0-9;]*m/g, '')).toBe(renderMatrix(matrix(AGREEING), plain));
    expect(renderMatrix(matrix(AGREEING), plain)).not.toContain('\u001b');
  });
});
