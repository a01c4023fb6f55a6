// The suite against Debian's reference plugins (containernetworking-plugins 1.1.1, CNI up
// to 1.0.0): bridge+host-local and ptp+host-local, run inside a scratch "host" namespace.
// What they pass and what they fail is asserted, so a change in either shows up here.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { type ConformanceReport } from '../../src/conformance/types.js';
import { REFERENCE_PLUGIN_DIR, runReferenceChain } from './reference-chains.js';

const reason =
  rootSkipReason() ??
  (existsSync(join(REFERENCE_PLUGIN_DIR, 'bridge')) ? undefined : `needs containernetworking-plugins in ${REFERENCE_PLUGIN_DIR}`);

function statuses(report: ConformanceReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [`${c.plugin ?? 'network'} ${c.id}`, c.status]));
}

/** What both chains give: everything passes but the points below. */
function expectReferenceReport(report: ConformanceReport, main: string): void {
  const byKey = statuses(report);
  const notPassed = Object.entries(byKey).filter(([, s]) => s !== 'passed');
  expect(notPassed).toEqual([
    // Go's skel prints an "about" text on stderr and exits 0 when CNI_COMMAND is unset.
    [`${main} env.missing-command`, 'failed'],
    ['host-local env.missing-command', 'failed'],
    ['network add@1.1.0', 'not-applicable'],
    ['network gc', 'not-applicable'],
    ['network status', 'not-applicable'],
  ]);
  expect(report.checks.find((c) => c.plugin === main && c.id === 'env.missing-command')?.reason).toMatch(
    new RegExp(`^exited 0 and printed nothing on stdout \\(stderr: "CNI ${main} plugin version unknown`),
  );
  expect(report.checks.find((c) => c.id === 'gc')?.reason).toBe('GC is new in 1.1.0; the plugins claim up to 1.0.0');
  for (const version of ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0']) expect(byKey[`network add@${version}`]).toBe('passed');
  expect(report.claimedVersions[main]).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0']);
  expect(report).toMatchObject({ version: '1.0.0', plugins: [main, 'host-local'], notes: [], summary: { passed: 30, failed: 2, notApplicable: 3 } });
}

describe.skipIf(reason)(`conformance of the reference plugins as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  afterEach(() => scratch.cleanup());

  it('bridge+host-local passes all but the missing-CNI_COMMAND check, with its bridge only in the scratch host', async () => {
    const run = await runReferenceChain('bridge', scratch);
    expectReferenceReport(run.report, 'bridge');
    const bridge = run.bridge ?? '';
    // The bridge plugin made its bridge where it ran: in the scratch host, never on the real one.
    expect(execFileSync('ip', ['-n', run.hostName, '-o', 'link', 'show', 'dev', bridge], { encoding: 'utf8' })).toContain(bridge);
    expect(() => execFileSync('ip', ['-o', 'link', 'show', 'dev', bridge], { stdio: 'pipe' })).toThrow();
  });

  it('ptp+host-local passes all but the missing-CNI_COMMAND check, leaving no pod veth in the scratch host', async () => {
    const run = await runReferenceChain('ptp', scratch);
    expectReferenceReport(run.report, 'ptp');
    // Every attachment was deleted: only loopback is left where ptp put its host ends. A host
    // end whose pod namespace the suite removed goes with it, but in the kernel's own time
    // (namespaces are torn down by a work queue, later under load): waited for, up to 5 s.
    const links = (): (string | undefined)[] =>
      execFileSync('ip', ['-n', run.hostName, '-o', 'link', 'show'], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => l.split(':')[1]?.trim());
    for (const end = Date.now() + 5000; links().length > 1 && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(links()).toEqual(['lo']);
  });
});
