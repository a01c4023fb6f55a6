// The kernel accepts what the generator writes: every golden script and a delta after
// it go through `nft -f` in a scratch namespace, and `nft -c` refuses a broken one.

import { execFileSync, spawnSync } from 'node:child_process';

import { afterEach, describe, expect, it } from 'vitest';

import { l7MarkMatch, l7RedirectedMatch, renderDelta, renderFullSync } from '@twill/policy-engine';
import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';

import { indexWith, modelOf, scriptOf } from './cluster.js';
import { CALICO, CILIUM, KUBERNETES } from './policies.js';

const reason = rootSkipReason('creates network namespaces and nft tables');

/** Whether this kernel has nftables flowtables (CONFIG_NF_FLOW_TABLE): a check-mode transaction in a throwaway namespace. */
function kernelHasFlowtables(): boolean {
  const name = `twftprobe${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  try {
    const probe = spawnSync('ip', ['netns', 'exec', name, 'nft', '-c', '-f', '-'], { input: 'add table inet twprobe\nadd flowtable inet twprobe ft { hook ingress priority filter; }\n' });
    return probe.status === 0;
  } finally {
    execFileSync('ip', ['netns', 'del', name]);
  }
}
const flowtables = reason === undefined ? kernelHasFlowtables() : false;

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

  it('applies an Allow with L7 rules that allows only the L7 proxy\'s marked packets', () => {
    const ns = scratch.netns();
    const rule = `ip saddr @ep_c_in_s0 ${l7MarkMatch({ mask: 0xf00, values: [0x200, 0xa00] })} return`;
    const model = {
      chains: new Map([['ep_c_in', [rule, 'counter drop']]]),
      sets: new Map([['ep_c_in_s0', { type: 'ipv4_addr', interval: false, elements: ['10.0.0.1'] }]]),
      ingress: new Map<string, string>(),
      egress: new Map<string, string>(),
    };
    nft(ns.name, renderFullSync(model, { chains: new Set(), sets: new Map() }));
    expect(execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'chain', 'inet', 'twill', 'ep_c_in'], { encoding: 'utf8' })).toContain('ip saddr @ep_c_in_s0 meta mark & 0x00000f00 == { 0x00000200, 0x00000a00 } return');
  });

  it('checks connections the L7 redirect hands to the proxy against their destination\'s ingress chain in the input hook, and turns that off and on by delta', () => {
    const ns = scratch.netns();
    const keys = ['prod/db', 'prod/web'];
    const index = indexWith(CILIUM);
    const plain = modelOf(index, keys);
    const match = l7RedirectedMatch(0xf00, 0x200);
    const withRedirect = { ...plain, redirected: { match, v4: new Map([['10.0.0.3', plain.ingress.get('tw0')!]]), v6: new Map([['fd00::3', plain.ingress.get('tw0')!]]) } };
    nft(ns.name, renderFullSync(withRedirect, { chains: new Set(), sets: new Map() }));
    const input = (): string => execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'chain', 'inet', 'twill', 'hook_input'], { encoding: 'utf8' });
    expect(input()).toContain('meta mark & 0x00000f00 == 0x00000200 ip daddr vmap @ep_ingress_addr4');
    expect(input()).toContain('meta mark & 0x00000f00 == 0x00000200 ip6 daddr vmap @ep_ingress_addr6');
    expect(execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'map', 'inet', 'twill', 'ep_ingress_addr4'], { encoding: 'utf8' })).toContain(`10.0.0.3 : jump ${plain.ingress.get('tw0')!}`);
    nft(ns.name, renderDelta(withRedirect, plain));
    expect(input()).not.toContain('ep_ingress_addr4');
    expect(execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'table', 'inet', 'twill'], { encoding: 'utf8' })).not.toContain('ep_ingress_addr');
    nft(ns.name, renderDelta(plain, withRedirect));
    expect(input()).toContain('ip daddr vmap @ep_ingress_addr4');
  });

  it('has nft parse the flowtable, its device changes and the offload rule (the kernel refuses only those where it has no flowtables)', () => {
    const ns = scratch.netns();
    const model = (devices: string[]) => ({ ...modelOf(indexWith(KUBERNETES), ['prod/db', 'prod/web']), flowtable: new Set(devices) });
    const script = [renderFullSync(model(['lo']), { chains: new Set(), sets: new Map() }), renderDelta(model(['lo']), model([]))].join('');
    const check = spawnSync('ip', ['netns', 'exec', ns.name, 'nft', '-c', '-f', '-'], { input: script, encoding: 'utf8' });
    const refused = [...check.stderr.matchAll(/^(?:add|delete) .*$/gm)].map((m) => m[0]);
    if (flowtables) expect(check.stderr).toBe('');
    else expect(refused).toEqual([
      'add flowtable inet twill ft_endpoints { hook ingress priority filter; devices = { "lo" }; }',
      'add rule inet twill hook_forward iifname @ep_egress oifname @ep_ingress ct state established flow add @ft_endpoints',
      'delete flowtable inet twill ft_endpoints { devices = { "lo" }; }',
    ]);
  });

  it.skipIf(!flowtables)(`applies a flowtable, changes its devices and turns it off${flowtables ? '' : ' (skipped: this kernel has no nftables flowtables, CONFIG_NF_FLOW_TABLE)'}`, () => {
    const ns = scratch.netns();
    execFileSync('ip', ['netns', 'exec', ns.name, 'ip', 'link', 'add', 'tw0', 'type', 'veth', 'peer', 'name', 'tw1']);
    const index = indexWith(KUBERNETES);
    const model = (devices: string[] | undefined) => ({ ...modelOf(index, ['prod/db', 'prod/web']), ...(devices === undefined ? {} : { flowtable: new Set(devices) }) });
    const listing = (): string => execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'table', 'inet', 'twill'], { encoding: 'utf8' });
    nft(ns.name, renderFullSync(model(['tw0']), { chains: new Set(), sets: new Map() }));
    expect(listing()).toMatch(/flowtable ft_endpoints \{[^}]*devices = \{ tw0 \}/);
    nft(ns.name, renderDelta(model(['tw0']), model(['tw1'])));
    expect(listing()).toMatch(/flowtable ft_endpoints \{[^}]*devices = \{ tw1 \}/);
    nft(ns.name, renderDelta(model(['tw1']), model(undefined)));
    expect(listing()).not.toMatch(/flowtable|flow add/);
  });

  it('refuses, in check mode, a script whose set elements overlap', () => {
    const ns = scratch.netns();
    const broken = renderFullSync(modelOf(indexWith(KUBERNETES), ['prod/db']), { chains: new Set(), sets: new Map() })
      .replace('{ 192.168.0.0/24 . 17 . 53,', '{ 192.168.0.0/24 . 17 . 53, 192.168.0.1 . 17 . 53,');
    expect(() => nft(ns.name, broken, '-c')).toThrow(/File exists|overlap|conflict/i);
  });
});
