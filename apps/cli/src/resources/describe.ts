// `twill describe KIND NAME`: one object for people: its identity and metadata, its
// body as YAML, and what the agent knows about it beyond the document (an IPPool's
// usage, a BGPPeer's sessions).

import { AgentApiError, agentClientFor, type AgentClient, type AgentSocketOptions, type StoredResource } from '../client/index.js';
import { peerLine } from '../bgp/render.js';
import { type CommandContext } from '../context.js';
import { renderYaml } from '../output.js';
import { ageText, endpointName, fieldAt, NONE } from './columns.js';
import { type CliKind } from './kinds.js';
import { readKind } from './read.js';
import { resolveKindArgument, resolveScope } from './scope.js';

/** The options of `describe`, as parsed. */
export interface DescribeOptions extends AgentSocketOptions {
  readonly namespace?: string;
}

const mapText = (map: Readonly<Record<string, string>> | undefined): string => {
  const entries = Object.entries(map ?? {});
  return entries.length === 0 ? NONE : entries.map(([k, v]) => `${k}=${v}`).join(', ');
};

function fields(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([key]) => key.length)) + 2;
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width)}${value}`.trimEnd()).join('\n') + '\n';
}

const indent = (text: string): string => text.trimEnd().split('\n').map((line) => `  ${line}`).join('\n') + '\n';

/** Runs `describe`; 0, or a FailedError (exit 1) when there is no such object. */
export async function runDescribe(ctx: CommandContext, kindText: string, name: string, options: DescribeOptions): Promise<number> {
  const kind = resolveKindArgument(ctx.command, kindText);
  const scope = resolveScope(ctx.command, kind, options, name);
  const client = agentClientFor(ctx, options);
  const read = await readKind(ctx.command, client, kind, scope, name);
  const now = Date.now();
  const out: string[] = [];
  switch (read.source) {
    case 'resource':
      for (const resource of read.items) out.push(await describeResource(client, kind, resource, now));
      break;
    case 'ipamblocks':
      for (const b of read.items) {
        out.push(fields([['CIDR', b.cidr], ['Affinity', b.affinity ?? NONE], ['Allocated', String(b.allocated)], ['Free', String(b.free)], ['Handles', String(b.handles)]]));
      }
      break;
    case 'endpoints':
      for (const e of read.items) {
        out.push(fields([
          ['Name', endpointName(e)],
          ['Namespace', e.namespace ?? NONE],
          ['Node', e.node ?? NONE],
          ['Container', e.containerId],
          ['Network', e.network],
          ['Interface', `${e.ifName} (host side ${e.hostInterface})`],
          ['Addresses', e.addresses.join(', ')],
          ['Netns', e.netns ?? NONE],
          ['Since', `${new Date(e.since).toISOString()} (${ageText(e.since, now)} ago)`],
        ]));
      }
      break;
  }
  ctx.io.stdout.write(out.join('\n'));
  return 0;
}

async function describeResource(client: AgentClient, kind: CliKind, resource: StoredResource, now: number): Promise<string> {
  const { apiVersion, kind: _kind, metadata, ...body } = resource;
  const created = Date.parse(metadata.creationTimestamp);
  const head = fields([
    ['Name', metadata.name],
    ...(kind.namespaced ? [['Namespace', metadata.namespace ?? NONE] as const] : []),
    ['Kind', `${kind.kind} (${kind.id})`],
    ['API version', apiVersion],
    ['Labels', mapText(metadata.labels)],
    ['Annotations', mapText(metadata.annotations)],
    ['Created', Number.isNaN(created) ? metadata.creationTimestamp : `${metadata.creationTimestamp} (${ageText(created, now)} ago)`],
    ['Resource version', metadata.resourceVersion],
    ['UID', metadata.uid],
  ]);
  const parts = [head];
  if (Object.keys(body).length > 0) parts.push(renderYaml(body));
  const live = await liveState(client, kind, resource);
  if (live !== undefined) parts.push(live);
  return parts.join('');
}

// What the agent knows beyond the document, for the kinds where it knows something.
async function liveState(client: AgentClient, kind: CliKind, resource: StoredResource): Promise<string | undefined> {
  try {
    if (kind.id === 'ippools.projectcalico.org') {
      const cidr = fieldAt(resource, 'spec.cidr');
      const usage = (await client.ipam()).pools.find((p) => p.pool === resource.metadata.name || p.cidr === cidr);
      if (usage === undefined) return 'Usage: no allocations recorded\n';
      return `Usage:\n${indent(fields([['Size', String(usage.size)], ['Allocated', String(usage.allocated)], ['Free', String(usage.free)], ['Blocks', `${String(usage.claimedBlocks)} claimed of ${String(usage.blocks)}`]]))}`;
    }
    if (kind.id === 'bgppeers.projectcalico.org') {
      const peerIp = String(fieldAt(resource, 'spec.peerIP') ?? '').replace(/:\d+$/, '');
      const status = await client.bgpPeers();
      const sessions = status.peers.filter((p) => p.address === peerIp);
      const problems = status.problems.filter((p) => p.peer === resource.metadata.name || p.peer === peerIp);
      const lines = [
        ...sessions.map(peerLine),
        ...problems.map((p) => `not used: ${p.reason}`),
      ];
      return `Sessions:\n${indent(lines.length === 0 ? 'none on this node' : lines.join('\n'))}`;
    }
  } catch (error) {
    // The part that would answer is not running here (BGP off, say): say so, the document stands.
    if (error instanceof AgentApiError && error.status === 503) return `${kind.id === 'bgppeers.projectcalico.org' ? 'Sessions' : 'Usage'}: ${error.body.message}\n`;
    throw error;
  }
  return undefined;
}
