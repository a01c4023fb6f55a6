// Golden outputs: what people read (tables) and what programs read (JSON), byte for
// byte, when stdout is a pipe. The files under golden/ are the expected outputs.

import { describe, expect, it } from 'vitest';

import { twill } from './helpers.js';
import { netpolClusterYaml } from './policy/cluster-yaml.js';

const K8S = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: x
spec:
  podSelector:
    matchLabels: {pod: a}
  ingress:
  - ports:
    - port: 80
  - from:
    - namespaceSelector:
        matchLabels: {ns: y}
    ports:
    - port: 80
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: broken
  namespace: x
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.0/33}
`;

const CALICO = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: quarantine
spec:
  order: 10
  selector: all()
  types: [Ingress]
  ingress:
  - action: Deny
    protocol: TCP
    source:
      selector: pod == 'c'
  - action: Allow
    protocol: TCP
    destination:
      ports: [80]
  - action: Allow
    protocol: TCP
    source:
      selector: app == 'a' && app == 'b'
`;

const ALLOW_Y = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-from-y, namespace: x}
spec:
  podSelector:
    matchLabels: {pod: a}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {ns: y}
    ports:
    - port: serve-81-tcp
`;

const FILES = {
  'cluster.yaml': netpolClusterYaml(),
  'policies/allow-from-y.yaml': ALLOW_Y,
  'policies/quarantine.yaml': CALICO,
  'lint/k8s.yaml': K8S,
  'lint/calico.yaml': CALICO,
  'clean/allow-from-y.yaml': ALLOW_Y,
};
const SIM = ['policy', 'simulate', '--cluster', 'cluster.yaml', '--policies', 'policies'];
const golden = (name: string): string => `golden/${name}`;

describe('golden outputs', () => {
  it('policy simulate, one probe: table, wide, json', async () => {
    for (const [output, file] of [['table', 'simulate-probe.txt'], ['wide', 'simulate-probe-wide.txt'], ['json', 'simulate-probe.json']] as const) {
      const run = await twill([...SIM, '--from', 'y/a', '--to', 'x/a', '--port', '81', '-o', output], { files: FILES });
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      await expect(run.stdout).toMatchFileSnapshot(golden(file));
    }
  });

  it('policy simulate, a denied probe names the rule that denied it', async () => {
    const run = await twill([...SIM, '--from', 'z/c', '--to', 'x/a', '--port', '80', '-o', 'json'], { files: FILES });
    expect(run.code).toBe(0);
    await expect(run.stdout).toMatchFileSnapshot(golden('simulate-deny.json'));
  });

  it('policy simulate --matrix: the grid for people, one probe per row with -o wide', async () => {
    const matrix = await twill([...SIM, '--matrix', '--ports', '80,81'], { files: FILES });
    expect(matrix.code).toBe(0);
    await expect(matrix.stdout).toMatchFileSnapshot(golden('simulate-matrix.txt'));
    const wide = await twill([...SIM, '--matrix', '--ports', '81', '-o', 'wide'], { files: FILES });
    await expect(wide.stdout).toMatchFileSnapshot(golden('simulate-matrix-wide.txt'));
  });

  it('policy lint: findings with their file:line, exit 1 for errors', async () => {
    const run = await twill(['policy', 'lint', 'lint'], { files: FILES });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('twill: policy lint: 2 error(s)\n');
    await expect(run.stdout).toMatchFileSnapshot(golden('lint.txt'));
    const json = await twill(['policy', 'lint', 'lint', '-o', 'json'], { files: FILES });
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('');
    await expect(json.stdout).toMatchFileSnapshot(golden('lint.json'));
  });

  it('policy lint: clean policies exit 0; warnings fail only with --strict', async () => {
    const clean = await twill(['policy', 'lint', 'clean'], { files: FILES });
    expect(clean).toEqual({ code: 0, stdout: 'no findings: 0 errors, 0 warnings in 1 file (1 document, 1 policy)\n', stderr: '' });
    // Against the snapshot: a policy that selects none of its pods is a warning.
    const files = { ...FILES, 'clean/nobody.yaml': ALLOW_Y.replace('allow-from-y', 'nobody').replace('{pod: a}', '{pod: q}') };
    const lenient = await twill(['policy', 'lint', 'clean', '--cluster', 'cluster.yaml'], { files });
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toContain('warning   selects-nothing');
    const strict = await twill(['policy', 'lint', 'clean', '--cluster', 'cluster.yaml', '--strict'], { files });
    expect(strict.code).toBe(1);
    expect(strict.stderr).toBe('twill: policy lint: 0 error(s), 1 warning(s) (--strict)\n');
  });

  it('colour only on a terminal, and never with NO_COLOR', async () => {
    const args = [...SIM, '--from', 'y/a', '--to', 'x/a', '--port', '81'];
    const piped = await twill(args, { files: FILES });
    const tty = await twill(args, { files: FILES, tty: true });
    const noColor = await twill(args, { files: FILES, tty: true, env: { NO_COLOR: '1' } });
    expect(piped.stdout).not.toContain('\u001b[');
    expect(tty.stdout).toContain('\u001b[32mallow\u001b[0m');
    expect(noColor.stdout).toBe(piped.stdout);
    // Colour does not move the columns.
    expect(tty.stdout.replaceAll(`${String.fromCharCode(27)}[32m`, '').replaceAll(`${String.fromCharCode(27)}[1m`, '').replaceAll(`${String.fromCharCode(27)}[0m`, '')).toBe(piped.stdout);
  });
});
