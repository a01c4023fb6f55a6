// Reading the objects of a kind through the agent: resources from /v1/resources, IPAM
// blocks from /v1/ipam?blocks=true, endpoints from /v1/endpoints; a named object that is
// not there is one line and exit 1 (as kubectl: the cluster does not hold it).

import { AgentApiError, type AgentClient, type BlockView, type EndpointRecord, type StoredResource } from '../client/index.js';
import { FailedError } from '../errors.js';
import { endpointName } from './columns.js';
import { type CliKind, qualifiedSingular } from './kinds.js';
import { type NamespaceScope } from './scope.js';

/** The objects of one kind: which view they came from, and the items. */
export type KindItems =
  | { readonly source: 'resource'; readonly items: readonly StoredResource[] }
  | { readonly source: 'ipamblocks'; readonly items: readonly BlockView[] }
  | { readonly source: 'endpoints'; readonly items: readonly EndpointRecord[] };

/** `ippool.projectcalico.org "x" not found`, `networkpolicy.networking.k8s.io "x" not found in namespace y`. */
export function notFound(command: string, kind: CliKind, name: string, scope: NamespaceScope, cause?: unknown): FailedError {
  const where = !scope.all && scope.namespace !== undefined ? ` in namespace ${scope.namespace}` : '';
  return new FailedError(command, '', `${qualifiedSingular(kind)} ${JSON.stringify(name)} not found${where}`, { cause });
}

const blockName = (cidr: string): string => cidr.replace(/[./:]/g, '-');

/**
 * Every object of `kind` in `scope`, or only the one named `name`.
 * @throws {FailedError} when `name` is given and there is no such object.
 */
export async function readKind(command: string, client: AgentClient, kind: CliKind, scope: NamespaceScope, name?: string): Promise<KindItems> {
  const namespace = scope.all ? undefined : scope.namespace;
  switch (kind.source) {
    case 'resource': {
      if (name === undefined) return { source: 'resource', items: await client.list(kind.id, namespace === undefined ? {} : { namespace }) };
      try {
        return { source: 'resource', items: [await client.get(kind.id, name, namespace === undefined ? {} : { namespace })] };
      } catch (error) {
        if (error instanceof AgentApiError && error.code === 'NotFound') throw notFound(command, kind, name, scope, error);
        throw error;
      }
    }
    case 'ipamblocks': {
      const blocks = (await client.ipam({ blocks: true })).blocks ?? [];
      if (name === undefined) return { source: 'ipamblocks', items: blocks };
      const block = blocks.find((b) => b.cidr === name || blockName(b.cidr) === name);
      if (block === undefined) throw notFound(command, kind, name, scope);
      return { source: 'ipamblocks', items: [block] };
    }
    case 'endpoints': {
      const all = [...(await client.endpoints())]
        .filter((e) => namespace === undefined || (e.namespace ?? '') === namespace)
        .sort((a, b) => (a.namespace ?? '').localeCompare(b.namespace ?? '') || endpointName(a).localeCompare(endpointName(b)));
      if (name === undefined) return { source: 'endpoints', items: all };
      const found = all.filter((e) => endpointName(e) === name || e.containerId === name);
      if (found.length === 0) throw notFound(command, kind, name, scope);
      return { source: 'endpoints', items: found };
    }
  }
}
