import { describe, expect, it } from 'vitest';

import { RESOURCE_KINDS, resolveKind, UnknownResourceKindError } from '../../../src/agent/datastore/index.js';

describe('RESOURCE_KINDS and resolveKind', () => {
  it('holds the kinds of the design, ids as kubectl names them', () => {
    expect(RESOURCE_KINDS.map((k) => k.id)).toEqual([
      'namespaces',
      'pods',
      'networkpolicies.networking.k8s.io',
      'networkpolicies.projectcalico.org',
      'globalnetworkpolicies.projectcalico.org',
      'networksets.projectcalico.org',
      'globalnetworksets.projectcalico.org',
      'tiers.projectcalico.org',
      'ciliumnetworkpolicies.cilium.io',
      'ciliumclusterwidenetworkpolicies.cilium.io',
      'nodes.projectcalico.org',
      'bgppeers.projectcalico.org',
      'bgpconfigurations.projectcalico.org',
      'ippools.projectcalico.org',
    ]);
    expect(RESOURCE_KINDS.filter((k) => k.namespaced).map((k) => k.kind)).toEqual(['Pod', 'NetworkPolicy', 'NetworkPolicy', 'NetworkSet', 'CiliumNetworkPolicy']);
    expect(RESOURCE_KINDS.filter((k) => k.dialect === 'calico').map((k) => k.kind)).toEqual(['NetworkPolicy', 'GlobalNetworkPolicy', 'NetworkSet', 'GlobalNetworkSet', 'Tier']);
  });

  it.each([
    ['NetworkPolicy', 'networkpolicies.networking.k8s.io'],
    ['networkpolicy', 'networkpolicies.networking.k8s.io'],
    ['netpol', 'networkpolicies.networking.k8s.io'],
    ['networkpolicies.projectcalico.org', 'networkpolicies.projectcalico.org'],
    ['NetworkPolicy.projectcalico.org', 'networkpolicies.projectcalico.org'],
    ['networkpolicies.v3.projectcalico.org', 'networkpolicies.projectcalico.org'],
    ['networkpolicy.crd.projectcalico.org', 'networkpolicies.projectcalico.org'],
    ['gnp', 'globalnetworkpolicies.projectcalico.org'],
    ['ns', 'namespaces'],
    ['Pods', 'pods'],
    ['po', 'pods'],
    ['cnp', 'ciliumnetworkpolicies.cilium.io'],
    ['ccnp', 'ciliumclusterwidenetworkpolicies.cilium.io'],
    ['node', 'nodes.projectcalico.org'],
    ['bgppeer', 'bgppeers.projectcalico.org'],
    ['bgpconfig', 'bgpconfigurations.projectcalico.org'],
    ['ippools', 'ippools.projectcalico.org'],
    ['tier', 'tiers.projectcalico.org'],
  ])('%s is %s', (text, id) => {
    expect(resolveKind(text).id).toBe(id);
  });

  it('resolves an apiVersion and kind, Calico\'s under either of its API versions', () => {
    expect(resolveKind({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' }).id).toBe('networkpolicies.networking.k8s.io');
    expect(resolveKind({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy' }).id).toBe('networkpolicies.projectcalico.org');
    expect(resolveKind({ apiVersion: 'crd.projectcalico.org/v1', kind: 'NetworkPolicy' }).id).toBe('networkpolicies.projectcalico.org');
    expect(resolveKind({ apiVersion: 'v1', kind: 'Pod' }).id).toBe('pods');
  });

  it('names the known kinds when it does not know one', () => {
    expect(() => resolveKind('deployments')).toThrow(UnknownResourceKindError);
    expect(() => resolveKind('deployments')).toThrow(/^unknown resource kind "deployments": the known kinds are Namespace \(namespaces\), Pod \(pods\), NetworkPolicy \(networkpolicies.networking.k8s.io\), /);
    expect(() => resolveKind('networkpolicies.cilium.io')).toThrow('unknown resource kind "networkpolicies.cilium.io"');
    expect(() => resolveKind({ apiVersion: 'networking.k8s.io/v1beta1', kind: 'NetworkPolicy' })).toThrow(
      'apiVersion: NetworkPolicy is not served as "networking.k8s.io/v1beta1": expected one of "networking.k8s.io/v1", "projectcalico.org/v3", "crd.projectcalico.org/v1"',
    );
  });
});
