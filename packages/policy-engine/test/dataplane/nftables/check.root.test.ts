// The kernel accepts what the generator writes: every golden script and a delta after
// it go through `nft -f` in a scratch namespace, and `nft -c` refuses a broken one.

import { execFileSync } from 'node:child_process';

import { afterEach, describe, expect, it } from 'vitest';

import { renderDelta, renderFullSync } from '@twill/policy-engine';
import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';

import { indexWith, modelOf, scriptOf } from './cluster.js';
import { CALICO, CILIUM, KUBERNETES } from './policies.js';

const reason = rootSkipReason('creates network namespaces and nft tables');

describe.skipIf(reason)(`nftables scripts in the kernel as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  afterEach(() => scratch.cleanup());
  const nft = (netns: string, script: string, ...args: string[]): string =>
    execFileSync('ip', ['netns', 'exec', netns, 'nft', ...args, '-f', '-'], { input: script, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

  it.each([['Kubernetes', KUBERNETES], ['Calico', CALICO], ['Cilium', CILIUM]])('applies the %s script, then a delta to another policy set', (_, yaml) => {
    const ns = scratch.netns();
    nft(ns.name, scriptOf(yaml, ['prod/db', 'prod/web', 'dev/tool']));
    const before = modelOf(indexWith(yaml), ['prod/db', 'prod/web', 'dev/tool']);
    const after = modelOf(indexWith(KUBERNETES), ['prod/db', 'dev/tool']);
    nft(ns.name, renderDelta(before, after));
    const listing = JSON.parse(execFileSync('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'table', 'inet', 'twill'], { encoding: 'utf8' })) as { nftables: Record<string, { name?: string }>[] };
    const chains = listing.nftables.flatMap((o) => (o.chain?.name === undefined ? [] : [o.chain.name])).sort();
    expect(chains).toEqual([...after.chains.keys(), 'hook_forward', 'hook_input', 'hook_output'].sort());
  });

  it('applies the drops that log to an nflog group, and a delta that turns the logging off', () => {
    const ns = scratch.netns();
    const keys = ['prod/db', 'prod/web', 'dev/tool'];
    nft(ns.name, scriptOf(CALICO, keys, 5));
    const listing = execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'table', 'inet', 'twill'], { encoding: 'utf8' });
    expect(listing).toMatch(/counter packets 0 bytes 0 log prefix "twill:deny:ingress:[0-9a-f]{8}" group 5 drop/);
    expect(listing).toMatch(/counter packets 0 bytes 0 log prefix "twill:isolated:ingress:[0-9a-f]{8}" group 5 drop/);
    nft(ns.name, renderDelta(modelOf(indexWith(CALICO), keys, 5), modelOf(indexWith(CALICO), keys)));
    expect(execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'table', 'inet', 'twill'], { encoding: 'utf8' })).not.toContain('log prefix');
  });

  it('applies a delta that makes a set named by an unchanged rule again with other flags', () => {
    const ns = scratch.netns();
    const model = (interval: boolean) => ({
      chains: new Map([['ep_c_in', ['ip saddr @ep_c_in_s0 return']]]),
      sets: new Map([['ep_c_in_s0', { type: 'ipv4_addr', interval, elements: interval ? ['10.0.0.0/24'] : ['10.0.0.1'] }]]),
      ingress: new Map<string, string>(),
      egress: new Map<string, string>(),
    });
    nft(ns.name, renderFullSync(model(true), { chains: new Set(), sets: new Map() }));
    nft(ns.name, renderDelta(model(true), model(false)));
    expect(execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'set', 'inet', 'twill', 'ep_c_in_s0'], { encoding: 'utf8' })).not.toContain('interval');
  });

  it('refuses, in check mode, a script whose set elements overlap', () => {
    const ns = scratch.netns();
    const broken = renderFullSync(modelOf(indexWith(KUBERNETES), ['prod/db']), { chains: new Set(), sets: new Map() })
      .replace('{ 192.168.0.0/24 . 17 . 53,', '{ 192.168.0.0/24 . 17 . 53, 192.168.0.1 . 17 . 53,');
    expect(() => nft(ns.name, broken, '-c')).toThrow(/File exists|overlap|conflict/i);
  });
});
