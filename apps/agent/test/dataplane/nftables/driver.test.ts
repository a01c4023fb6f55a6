// The nftables driver's flowtable bookkeeping with a stand-in for `nft` (this kernel has no
// flowtables, CONFIG_NF_FLOW_TABLE, so the kernel's side is in flowtable.root.test.ts where
// it can run): a detach after the pod's interface is gone, which a kernel before 6.16
// refuses to delete from the flowtable, and status() from the table read back.

import { describe, expect, it } from 'vitest';

import { PolicyIndex, type Endpoint, type PolicyIndexDiff } from '@twill/policy-engine';

import { EMPTY_KERNEL_TABLE, NftablesDataplane, type NftPort } from '../../../src/dataplane/nftables/index.js';

const pod = (name: string, ip: string): Endpoint => ({ kind: 'workload', namespace: 'x', name, labels: { pod: name }, ips: [ip] });
const NOTHING: PolicyIndexDiff = { changed: [], removed: [], ipcache: { set: [], removed: [] } };

/** `nft` as a kernel before 6.16 after `twb` was deleted: it refuses to delete `twb` from the flowtable again. */
function fakeNft(listing: unknown = undefined): NftPort & { readonly scripts: string[]; lists: number } {
  const scripts: string[] = [];
  return {
    scripts,
    lists: 0,
    apply(script) {
      scripts.push(script);
      return script.includes('delete flowtable inet twill ft_endpoints { devices = { "twb" }; }') ? Promise.reject(new Error('No such file or directory')) : Promise.resolve();
    },
    check: () => Promise.resolve(),
    listTable() {
      this.lists += 1;
      return Promise.resolve(listing);
    },
  };
}

const driver = (nft: NftPort, existing: readonly string[]) => new NftablesDataplane({ nft, adopted: EMPTY_KERNEL_TABLE, logGroup: 1, flowtable: true, existingInterfaces: (names) => Promise.resolve(new Set(names.filter((n) => existing.includes(n)))), now: () => 0 });

describe('nftables driver flowtable', () => {
  it('detaches an endpoint whose interface is gone without deleting it from the flowtable again, and without a full sync', async () => {
    const nft = fakeNft();
    const dataplane = driver(nft, ['twa']);
    const index = new PolicyIndex();
    await dataplane.apply({ policy: index.apply([pod('a', '10.0.0.1'), pod('b', '10.0.0.2')].map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint }))), attach: [{ key: 'x/a', hostInterface: 'twa' }, { key: 'x/b', hostInterface: 'twb' }] });
    expect(nft.scripts[0]).toContain('add flowtable inet twill ft_endpoints { hook ingress priority filter; devices = { "twa", "twb" }; }');
    const report = await dataplane.apply({ policy: NOTHING, detach: ['x/b'] });
    const retried = nft.scripts.at(-1) ?? '';
    expect(nft.scripts).toHaveLength(3);
    expect(retried).toContain('delete element inet twill ep_ingress { "twb" }');
    expect(retried).not.toContain('flowtable');
    expect(report.operations).toBe(retried.split('\n').length - 1);
    expect(nft.lists).toBe(0);
  });

  it('falls back to a full sync when the interface still exists (the refusal had another cause)', async () => {
    const nft = fakeNft();
    const dataplane = driver(nft, ['twa', 'twb']);
    const index = new PolicyIndex();
    await dataplane.apply({ policy: index.apply([pod('a', '10.0.0.1'), pod('b', '10.0.0.2')].map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint }))), attach: [{ key: 'x/a', hostInterface: 'twa' }, { key: 'x/b', hostInterface: 'twb' }] });
    await dataplane.apply({ policy: NOTHING, detach: ['x/b'] });
    expect(nft.lists).toBe(1);
    expect(nft.scripts.at(-1)).toMatch(/^add table inet twill\n/);
  });

  it('reports the flowtable active when the kernel holds it with every attached interface', async () => {
    const listing = (dev: string[]) => ({ nftables: [{ table: { family: 'inet', name: 'twill' } }, { flowtable: { family: 'inet', name: 'ft_endpoints', table: 'twill', hook: 'ingress', prio: 0, dev } }] });
    const index = new PolicyIndex();
    const policy = index.apply([{ kind: 'upsert-endpoint', endpoint: pod('a', '10.0.0.1') }]);
    const full = driver(fakeNft(listing(['twa'])), ['twa']);
    await full.apply({ policy, attach: [{ key: 'x/a', hostInterface: 'twa' }] });
    expect((await full.status()).flowtable).toEqual({ enabled: true, active: true, devices: 1 });
    const lacking = driver(fakeNft(listing([])), ['twa']);
    await lacking.apply({ policy, attach: [{ key: 'x/a', hostInterface: 'twa' }] });
    const status = await lacking.status();
    expect(status.flowtable).toEqual({ enabled: true, active: false, devices: 0, reason: 'flowtable ft_endpoints lacks twa' });
    expect(status.drift).toContain('flowtable ft_endpoints: twa is missing');
  });
});
