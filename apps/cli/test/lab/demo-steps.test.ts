// The demonstration's policies: they lint clean on the lab's snapshot, the steps name
// every file, and after each step `twill policy simulate` on the lab's snapshot gives
// the verdicts the seed tutorial's text describes (the table below).

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { DEMO_NAMESPACES } from '../../src/lab/demo/roles.js';
import { labSnapshotYaml } from '../../src/lab/demo/snapshot.js';
import { DEMO_STEPS } from '../../src/lab/demo/steps.js';
import { DEMO_POLICIES_DIR } from '../../src/lab/demo/sys/system.js';
import { twill } from '../helpers.js';
import { demoLabModel } from './demo-lab-model.js';

const dir = mkdtempSync(join(tmpdir(), 'twt-demo-steps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function snapshotFile(nodes: number, podsPerNode: number): string {
  const file = join(dir, `cluster-${nodes}x${podsPerNode}.yaml`);
  writeFileSync(file, labSnapshotYaml(demoLabModel(nodes, podsPerNode), DEMO_NAMESPACES));
  return file;
}

const PORT: Record<string, number> = { frontend: 80, web: 80, 'api-server': 8080, api: 8080, database: 5432 };
const portOf = (pod: string): number => PORT[pod.replace(/^.*\//, '').replace(/-\d+$/, '')] as number;

/** The pairs simulate allows on the target's served port after `steps` steps. */
async function allowedAfter(cluster: string, steps: number): Promise<string[]> {
  const files = DEMO_STEPS.slice(0, steps).map((s) => join(DEMO_POLICIES_DIR, s.file));
  // No step yet: --policies names a file with no document.
  const empty = join(dir, 'no-policy.yaml');
  writeFileSync(empty, '# no policy yet\n');
  const run = await twill(['policy', 'simulate', '--cluster', cluster, '--policies', ...(steps === 0 ? [empty] : files), '--matrix', '-o', 'json'], { realFiles: true });
  expect(run.stderr).toBe('');
  const { probes } = JSON.parse(run.stdout) as { probes: { from: string; to: string; port: number; verdict: string }[] };
  return probes.filter((p) => p.port === portOf(p.to) && p.verdict === 'allow').map((p) => `${p.from} -> ${p.to}`).sort();
}

const F = 'production/frontend';
const AS = 'production/api-server';
const DB = 'production/database';
const W = 'default/web';
const A = 'default/api';
const ALL = [F, AS, DB, W, A];
const everyPair = ALL.flatMap((from) => ALL.filter((to) => to !== from).map((to) => `${from} -> ${to}`)).sort();

// What the tutorial's text says each step does, on its five roles.
const EXPECTED: readonly { step: string; allowed: readonly string[] }[] = [
  { step: 'no policy: every pod reaches every other', allowed: everyPair },
  {
    // allow-api-access: the api-server accepts only frontends of its namespace on 8080 and
    // connects only to databases on 5432; pods it does not select are untouched.
    step: '1 allow-api-access',
    allowed: everyPair.filter((pair) => {
      const [from, to] = pair.split(' -> ') as [string, string];
      if (to === AS) return from === F;
      if (from === AS) return to === DB;
      return true;
    }),
  },
  // default-deny: every pod isolated both ways; allow-api-access opens only the api-server's ends.
  { step: '2 default-deny', allowed: [] },
  // l7-api-policy opens api's ingress to web, but web's egress is still denied.
  { step: '3 l7-api-policy', allowed: [] },
  // The other ends opened: exactly the tutorial's three paths.
  { step: '4 allow-client-sides', allowed: [`${AS} -> ${DB}`, `${W} -> ${A}`, `${F} -> ${AS}`].sort() },
];

describe('the demonstration policies', () => {
  it('are the steps, one file each, in order', () => {
    expect(readdirSync(DEMO_POLICIES_DIR).sort()).toEqual(DEMO_STEPS.map((s) => s.file));
    expect(DEMO_STEPS.map((s) => s.fromTutorial)).toEqual([true, true, true, false]);
  });

  it('lint clean, strictly, against the lab snapshot', async () => {
    const run = await twill(['policy', 'lint', DEMO_POLICIES_DIR, '--cluster', snapshotFile(3, 3), '--strict'], { realFiles: true });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('no findings: 0 errors, 0 warnings in 4 files (5 documents, 5 policies)\n');
    expect(run.code).toBe(0);
  });

  it.each(EXPECTED.map((e, steps) => ({ ...e, steps })))('after step $step, simulate allows what the tutorial says', async ({ steps, allowed }) => {
    expect(await allowedAfter(snapshotFile(1, 5), steps)).toEqual(allowed);
  });

  it('holds for the replicas of a 3 x 3 lab too: after the last step each role reaches only its own path', async () => {
    const allowed = await allowedAfter(snapshotFile(3, 3), DEMO_STEPS.length);
    expect(allowed).toEqual([
      `${AS} -> ${DB}`, `${AS} -> ${DB}-2`,
      `${AS}-2 -> ${DB}`, `${AS}-2 -> ${DB}-2`,
      `${W} -> ${A}`, `${W}-2 -> ${A}`,
      `${F} -> ${AS}`, `${F} -> ${AS}-2`,
      `${F}-2 -> ${AS}`, `${F}-2 -> ${AS}-2`,
    ].sort());
  });
});
