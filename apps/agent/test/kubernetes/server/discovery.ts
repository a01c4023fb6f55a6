// Discovery documents (/api, /apis, /api/v1, /apis/<group>[/<version>]) as the legacy
// (unaggregated) discovery endpoints write them; client-node and kubectl read these.

import { groupVersion, type ResourceRegistry, type ResourceType } from './resources.js';

const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** GET /api */
export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupsOf(registry: ResourceRegistry): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const t of registry.all()) {
    if (t.group === '') continue;
    const versions = groups.get(t.group) ?? [];
    for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
    groups.set(t.group, versions);
  }
  return groups;
}

function apiGroup(name: string, versions: readonly string[]): object {
  const list = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: list, preferredVersion: list[0] };
}

/** GET /apis */
export function apiGroupList(registry: ResourceRegistry): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groupsOf(registry).entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, versions]) => apiGroup(name, versions)),
  };
}

/** GET /apis/<group>, or undefined when the group is not served. */
export function apiGroupDocument(registry: ResourceRegistry, group: string): object | undefined {
  const versions = groupsOf(registry).get(group);
  return versions === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, versions) };
}

function resourceEntries(t: ResourceType): object[] {
  const main = {
    name: t.plural,
    singularName: t.singular,
    namespaced: t.namespaced,
    kind: t.kind,
    verbs,
    ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
  };
  if (!t.statusSubresource) return [main];
  return [main, { name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] }];
}

/** GET /api/v1 or /apis/<group>/<version> */
export function apiResourceList(registry: ResourceRegistry, group: string, version: string): object {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion(group, version),
    resources: registry.all().filter((t) => t.group === group && t.versions.includes(version)).flatMap(resourceEntries),
  };
}
