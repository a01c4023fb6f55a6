// Every truth-table case of the policy engine's fixtures against the nftables driver:
// what the kernel does with real TCP and UDP connections equals what `evaluate` says.

import { existsSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { rootSkipReason } from '@twill/sys/testing';

import { createNftablesDataplane } from '../../../src/dataplane/nftables/index.js';
import {
  calicoFixtureCases,
  DataplaneLab,
  labPods,
  NETPOL_CLUSTER,
  netpolCases,
  runTruthTable,
  seedCases,
  seedCluster,
  type DataplaneFactory,
  type TruthTableCase,
  type TruthTableCluster,
} from '../harness/index.js';

const reason = rootSkipReason('creates network namespaces and nft tables');
// SCTP is probed only where the kernel has it (/proc/net/sctp exists once the module is loaded).
const sctp = existsSync('/proc/net/sctp') ? '' : '; SCTP not probed: this kernel has no SCTP';
const factory: DataplaneFactory = (options) => createNftablesDataplane(options);

async function expectTruthTable(cluster: TruthTableCluster, cases: readonly TruthTableCase[]): Promise<void> {
  const lab = await DataplaneLab.create({ pods: labPods(cluster), ports: cluster.ports });
  try {
    const report = await runTruthTable({ lab, factory, cluster, cases });
    expect(report.mismatches).toEqual([]);
    expect(report.probes).toBeGreaterThan(cases.length);
  } finally {
    lab.close();
  }
}

describe.skipIf(reason)(`nftables dataplane truth tables as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it(`agrees with evaluate on the Kubernetes conformance cases, TCP and UDP${sctp}`, async () => {
    await expectTruthTable(NETPOL_CLUSTER, await netpolCases());
  }, 600_000);

  it('agrees with evaluate on the Calico fixtures, Calico tiers and Cilium deny rules', async () => {
    const { cluster, compileYaml } = await seedCluster();
    await expectTruthTable(cluster, [...(await calicoFixtureCases(compileYaml)), ...seedCases(compileYaml)]);
  }, 600_000);
});
