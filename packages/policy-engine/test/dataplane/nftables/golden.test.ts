// Golden scripts: the whole `nft -f` script for representative endpoints (a Kubernetes
// policy with ports and an ipBlock, Calico tiers with Log, Deny and Pass, Cilium deny
// rules and entities). Read the .nft files under golden/ to see what the kernel gets.

import { describe, expect, it } from 'vitest';

import { scriptOf } from './cluster.js';
import { CALICO, CILIUM, KUBERNETES } from './policies.js';

describe('nftables scripts of representative endpoints', () => {
  it('Kubernetes: merged set lookups, an ipBlock with except, port ranges, default deny', async () => {
    await expect(scriptOf(KUBERNETES, ['prod/db', 'prod/web'])).toMatchFileSnapshot('golden/kubernetes.nft');
  });

  it('Calico: Log, Deny and Pass in a tier chain that goes to the default tier', async () => {
    await expect(scriptOf(CALICO, ['prod/db'])).toMatchFileSnapshot('golden/calico-tiers.nft');
  });

  it('Cilium: the deny tier before the allows, world against the cluster set', async () => {
    await expect(scriptOf(CILIUM, ['prod/db'])).toMatchFileSnapshot('golden/cilium-deny.nft');
  });
});
