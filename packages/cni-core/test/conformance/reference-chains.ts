// The two chains of Debian's containernetworking-plugins the suite is run against:
// bridge+host-local and ptp+host-local. Shared by the root test and
// scripts/conformance-report.ts, so the committed report is what the test asserts.
// Everything happens inside a scratch "host" namespace; state goes to a temp folder.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type NetworkScratch, testName } from '@twill/sys/testing';

import { fileResultCache } from '../../src/invoke/sys/file-cache.js';
import { runConformance } from '../../src/conformance/run-conformance.js';
import { linuxNamespaces } from '../../src/conformance/sys/linux-netns.js';
import { type ConformanceReport } from '../../src/conformance/types.js';

/** Where Debian installs the reference plugins. */
export const REFERENCE_PLUGIN_DIR = '/usr/lib/cni';

/** The reference chains by main plugin. */
export const REFERENCE_CHAINS = ['bridge', 'ptp'] as const;

/** One of {@link REFERENCE_CHAINS}. */
export type ReferenceChain = (typeof REFERENCE_CHAINS)[number];

/** The configuration of a chain: a unique bridge name, a private subnet, host-local's data in `dir`. */
export function referenceConfig(chain: ReferenceChain, dir: string): string {
  const ipam = {
    type: 'host-local',
    dataDir: join(dir, 'ipam'),
    ranges: [[{ subnet: chain === 'bridge' ? '10.248.16.0/24' : '10.248.17.0/24' }]],
    routes: [{ dst: '0.0.0.0/0' }],
  };
  const plugin =
    chain === 'bridge'
      ? { type: 'bridge', bridge: testName(), isGateway: true, ipMasq: false, ipam }
      : { type: 'ptp', ipMasq: false, ipam };
  return JSON.stringify({ cniVersion: '1.0.0', name: `conformance-${chain}`, plugins: [plugin] });
}

/** What one run gives: the report, and the scratch host namespace it ran in. */
export interface ReferenceRun {
  readonly report: ConformanceReport;
  /** The scratch namespace the plugins took for the host. */
  readonly hostName: string;
  /** The bridge's name (bridge chain only). */
  readonly bridge?: string;
}

/** Runs the suite on a chain inside a new scratch host namespace of `scratch`. Needs root. */
export async function runReferenceChain(chain: ReferenceChain, scratch: NetworkScratch): Promise<ReferenceRun> {
  const dir = await mkdtemp(join(tmpdir(), `twill-conformance-${chain}-`));
  try {
    const host = scratch.netns();
    const config = referenceConfig(chain, dir);
    const report = await runConformance({
      config,
      path: [REFERENCE_PLUGIN_DIR],
      namespaces: linuxNamespaces({ name: testName }),
      hostNetns: host.path,
      cache: fileResultCache(join(dir, 'cache')),
      containerIdPrefix: `conformance-${chain}-`,
    });
    const bridge = (JSON.parse(config) as { plugins: { bridge?: string }[] }).plugins[0]?.bridge;
    return { report, hostName: host.name, ...(bridge ? { bridge } : {}) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
