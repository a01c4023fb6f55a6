// The agent's RBAC: rbacAllows decides as the RBAC authorizer does, and the manifests'
// ClusterRole and Role (through their bindings to the agent's ServiceAccount) allow every
// request the agent makes and nothing it must not have.
import { describe, expect, it } from 'vitest';

import { type ApiRequest, manifestObjects, type PolicyRule, rbacAllows, serviceAccountAllows } from '../../src/agent/manifests/index.js';

describe('rbacAllows', () => {
  const rules: PolicyRule[] = [
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
    { apiGroups: ['apps'], resources: ['daemonsets/status'], verbs: ['update'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['settings'] },
    { apiGroups: ['example.io'], resources: ['*'], verbs: ['*'] },
  ];

  it('needs the verb, the group and the resource of one rule', () => {
    expect(rbacAllows(rules, { verb: 'list', group: '', resource: 'pods' })).toBe(true);
    expect(rbacAllows(rules, { verb: 'watch', group: '', resource: 'pods' })).toBe(false);
    expect(rbacAllows(rules, { verb: 'get', group: 'apps', resource: 'pods' })).toBe(false);
    expect(rbacAllows(rules, { verb: 'get', group: '', resource: 'nodes' })).toBe(false);
    // Verbs and resources of different rules do not combine.
    expect(rbacAllows(rules, { verb: 'update', group: '', resource: 'pods' })).toBe(false);
  });

  it('allows a subresource only when a rule names it, and the resource not through its subresource', () => {
    expect(rbacAllows(rules, { verb: 'update', group: 'apps', resource: 'daemonsets', subresource: 'status' })).toBe(true);
    expect(rbacAllows(rules, { verb: 'update', group: 'apps', resource: 'daemonsets' })).toBe(false);
    expect(rbacAllows(rules, { verb: 'get', group: '', resource: 'pods', subresource: 'log' })).toBe(false);
  });

  it('with resourceNames, allows only requests naming one of them', () => {
    expect(rbacAllows(rules, { verb: 'get', group: '', resource: 'configmaps', name: 'settings', namespace: 'a' })).toBe(true);
    expect(rbacAllows(rules, { verb: 'get', group: '', resource: 'configmaps', name: 'other', namespace: 'a' })).toBe(false);
    expect(rbacAllows(rules, { verb: 'get', group: '', resource: 'configmaps', namespace: 'a' })).toBe(false);
  });

  it('reads * as every verb and resource of the group', () => {
    expect(rbacAllows(rules, { verb: 'deletecollection', group: 'example.io', resource: 'widgets' })).toBe(true);
    expect(rbacAllows(rules, { verb: 'get', group: 'example.io', resource: 'widgets', subresource: 'status' })).toBe(true);
    expect(rbacAllows(rules, { verb: 'get', group: 'other.io', resource: 'widgets' })).toBe(false);
  });
});

const AGENT = { namespace: 'twill-system', name: 'twill-agent' };

function request(text: string): ApiRequest {
  // "verb group/resource[/subresource] [namespace] [name]"; group "core" is ''.
  const [verb = '', what = '', namespace, name] = text.split(' ');
  const [group = '', resource = '', subresource] = what.split('/');
  return {
    verb,
    group: group === 'core' ? '' : group,
    resource,
    ...(subresource === undefined ? {} : { subresource }),
    ...(namespace === undefined || namespace === '-' ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
  };
}

// What the agent does on the API (issue 12): informers, pod and node annotations, IPAM
// compare-and-swap on twill.io, BGP passwords from its namespace's Secrets.
const NEEDED = [
  'list core/namespaces',
  'watch core/namespaces',
  'list core/pods',
  'watch core/pods',
  'patch core/pods/status production api-0',
  'list core/nodes',
  'watch core/nodes',
  'get core/nodes - node-1',
  'patch core/nodes/status - node-1',
  'list networking.k8s.io/networkpolicies',
  'watch networking.k8s.io/networkpolicies',
  ...['networkpolicies', 'globalnetworkpolicies', 'networksets', 'globalnetworksets', 'tiers', 'ippools', 'bgppeers', 'bgpconfigurations'].flatMap((r) => [
    `list crd.projectcalico.org/${r}`,
    `watch crd.projectcalico.org/${r}`,
  ]),
  ...['ciliumnetworkpolicies', 'ciliumclusterwidenetworkpolicies'].flatMap((r) => [`list cilium.io/${r}`, `watch cilium.io/${r}`]),
  'list apiextensions.k8s.io/customresourcedefinitions',
  'watch apiextensions.k8s.io/customresourcedefinitions',
  ...['ippools', 'ipamblocks', 'blockaffinities', 'ipamhandles', 'bgppeers', 'bgpconfigurations', 'storeentries'].flatMap((r) =>
    ['get', 'list', 'watch', 'create', 'update', 'delete'].map((verb) => `${verb} twill.io/${r}`),
  ),
  'get core/secrets twill-system bgp-secrets',
];

const REFUSED = [
  // Secrets: only get, only in its own namespace.
  'get core/secrets kube-system bgp-secrets',
  'get core/secrets default token',
  'list core/secrets twill-system',
  'watch core/secrets twill-system',
  'list core/secrets',
  'create core/secrets twill-system',
  // Pods and nodes: annotations only.
  'create core/pods default',
  'delete core/pods default api-0',
  'update core/pods default api-0',
  'create core/pods/exec default api-0',
  'patch core/pods default api-0',
  'update core/pods/status default api-0',
  'delete core/nodes - node-1',
  'update core/nodes - node-1',
  'patch core/nodes - node-1',
  'create core/namespaces',
  'patch core/namespaces - default',
  // The policies it enforces are the users': read only.
  'create networking.k8s.io/networkpolicies default',
  'delete crd.projectcalico.org/globalnetworkpolicies - default-deny',
  'update cilium.io/ciliumnetworkpolicies default l7-api-policy',
  'create crd.projectcalico.org/ippools',
  // It installs no CRD and deletes none.
  'create apiextensions.k8s.io/customresourcedefinitions',
  'delete apiextensions.k8s.io/customresourcedefinitions - ippools.twill.io',
  // No more on twill.io than it uses.
  'patch twill.io/ipamblocks - block-a',
  'deletecollection twill.io/ipamblocks',
  // Nothing else.
  'list core/configmaps',
  'get core/configmaps twill-system twill-agent',
  'list core/services',
  'create core/events default',
  'get apps/daemonsets twill-system twill-agent',
  'create rbac.authorization.k8s.io/clusterrolebindings',
];

describe("the agent's ServiceAccount", () => {
  const objects = manifestObjects();

  it.each(NEEDED)('may %s', (text) => {
    expect(serviceAccountAllows(objects, AGENT, request(text))).toBe(true);
  });

  it.each(REFUSED)('may not %s', (text) => {
    expect(serviceAccountAllows(objects, AGENT, request(text))).toBe(false);
  });

  it('gets its Secrets in the namespace the manifests are rendered for, and only there', () => {
    const other = manifestObjects({ namespace: 'net-agents' });
    const agent = { namespace: 'net-agents', name: 'twill-agent' };
    expect(serviceAccountAllows(other, agent, request('get core/secrets net-agents bgp-secrets'))).toBe(true);
    expect(serviceAccountAllows(other, agent, request('get core/secrets twill-system bgp-secrets'))).toBe(false);
    // Another namespace's ServiceAccount of the same name is granted nothing.
    expect(serviceAccountAllows(other, AGENT, request('list core/pods'))).toBe(false);
  });

  it('has no wildcard and no rule restricted to names (every rule is exact)', () => {
    const rules = objects.filter((o) => o['kind'] === 'ClusterRole' || o['kind'] === 'Role').flatMap((o) => o['rules'] as PolicyRule[]);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
      expect(rule.resourceNames).toBeUndefined();
    }
  });
});
