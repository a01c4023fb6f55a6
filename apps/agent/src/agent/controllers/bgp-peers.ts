// Who this node's BGP speaker talks to, pure: Calico's BGPConfiguration `default`
// (AS, node-to-node mesh and its password, listen port), the node-to-node mesh from the Node resources, and
// the BGPPeer resources that apply to this node (`spec.node`, `spec.nodeSelector`), with
// their targets (`spec.peerIP` or the nodes `spec.peerSelector` picks).
import { parsePrefix } from '@twill/bgp';
import { evaluateCalicoSelector, parseCalicoSelector } from '@twill/policy-engine';

import { BGP_CONFIGURATION_DEFAULTS } from '../datastore/calico-resources.js';
import { type AgentResource } from '../ports.js';

import { type NodeInfo } from './route-model.js';

/** The kind ids the BGP controller reads. */
export const BGP_PEER_KIND = 'bgppeers.projectcalico.org';
export const BGP_CONFIGURATION_KIND = 'bgpconfigurations.projectcalico.org';

/** Calico's defaults (the datastore's BGP_CONFIGURATION_DEFAULTS): AS 64512, the mesh on, port 179. */
export const DEFAULT_AS_NUMBER = BGP_CONFIGURATION_DEFAULTS.asNumber;
export const DEFAULT_BGP_PORT = BGP_CONFIGURATION_DEFAULTS.listenPort;

/** What the controller uses of BGPConfiguration `default`, with Calico's defaults filled in. */
export interface BgpSettings {
  readonly asNumber: number;
  readonly nodeToNodeMeshEnabled: boolean;
  readonly listenPort: number;
  /** `nodeMeshPassword`: the TCP MD5 password of the mesh sessions, inline. */
  readonly nodeMeshPassword?: string;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function positiveInteger(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  if (typeof value === 'string' && /^\d+$/.test(value) && Number(value) > 0) return Number(value);
  return undefined;
}

/** BGPConfiguration `default` (or its absence) as settings. */
export function parseBgpConfiguration(resource: AgentResource | undefined): BgpSettings {
  const spec = record(resource?.['spec']);
  return {
    asNumber: positiveInteger(spec['asNumber']) ?? DEFAULT_AS_NUMBER,
    nodeToNodeMeshEnabled: typeof spec['nodeToNodeMeshEnabled'] === 'boolean' ? spec['nodeToNodeMeshEnabled'] : BGP_CONFIGURATION_DEFAULTS.nodeToNodeMeshEnabled,
    listenPort: positiveInteger(spec['listenPort']) ?? DEFAULT_BGP_PORT,
    ...(typeof spec['nodeMeshPassword'] === 'string' && spec['nodeMeshPassword'] !== '' ? { nodeMeshPassword: spec['nodeMeshPassword'] } : {}),
  };
}

/** One neighbour the speaker should have: plain data, compared field by field to see a change. */
export interface PeerPlan {
  readonly address: string;
  readonly asn: number;
  readonly port?: number;
  readonly localAddress?: string;
  readonly md5Password?: string;
  readonly passive?: boolean;
  readonly ttlSecurity?: { readonly hops: number };
  /** Where it comes from: `mesh` or `bgppeer/<name>`. */
  readonly source: string;
}

/** A BGPPeer the controller could not use, and why. */
export interface PeerProblem {
  readonly peer: string;
  readonly reason: string;
}

/** Input of {@link planPeers}. */
export interface PeerPlanInput {
  /** This node (its addresses from the agent's configuration, its labels from its Node resource). */
  readonly self: NodeInfo;
  readonly settings: BgpSettings;
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  readonly bgpPeers: readonly AgentResource[];
}

const isV6 = (address: string): boolean => address.includes(':');

/** Orders two addresses of one family numerically. */
export function compareAddresses(a: string, b: string): number {
  const bits = isV6(a) ? 128 : 32;
  const x = parsePrefix(`${a}/${bits}`).bytes;
  const y = parsePrefix(`${b}/${bits}`).bytes;
  for (let i = 0; i < x.length; i += 1) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** `10.0.0.5`, `10.0.0.5:1790`, `fd00::5`, `[fd00::5]:1790` → address and port. */
export function parsePeerIp(text: string): { address: string; port?: number } | undefined {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(text);
  const match = bracketed ?? v4;
  let address: string | undefined;
  let port: number | undefined;
  if (match) {
    address = match[1];
    port = match[2] === undefined ? undefined : Number(match[2]);
  } else if (/^[0-9a-fA-F:.]+$/.test(text) && text.includes(':')) address = text;
  if (address === undefined) return undefined;
  try {
    parsePrefix(`${address}/${isV6(address) ? 128 : 32}`);
  } catch {
    return undefined;
  }
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return port === undefined ? { address } : { address, port };
}

function selects(selector: unknown, labels: Readonly<Record<string, string>>, where: string): boolean {
  if (selector === undefined || selector === '') return true;
  if (typeof selector !== 'string') throw new Error(`${where} must be a selector string`);
  try {
    return evaluateCalicoSelector(parseCalicoSelector(selector), labels);
  } catch (error) {
    throw new Error(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function localFor(self: NodeInfo, address: string): { localAddress?: string } {
  const local = isV6(address) ? self.ipv6 : self.ipv4;
  return local === undefined ? {} : { localAddress: local };
}

/**
 * The mesh: a session per family with every other node that has an address of a family
 * this node has too, to its AS (its own, or the cluster's). Of each pair only the node
 * with the lower address connects; the other waits (passive), so the two never collide.
 */
function meshPeers(input: PeerPlanInput, out: Map<string, PeerPlan>): void {
  const { self, settings } = input;
  for (const node of input.nodes.values()) {
    if (node.name === self.name) continue;
    for (const [mine, theirs] of [
      [self.ipv4, node.ipv4],
      [self.ipv6, node.ipv6],
    ] as const) {
      if (mine === undefined || theirs === undefined || mine === theirs) continue;
      out.set(theirs, {
        address: theirs,
        asn: node.asNumber ?? settings.asNumber,
        ...(settings.listenPort === DEFAULT_BGP_PORT ? {} : { port: settings.listenPort }),
        ...localFor(self, theirs),
        ...(compareAddresses(mine, theirs) > 0 ? { passive: true } : {}),
        ...(settings.nodeMeshPassword === undefined ? {} : { md5Password: settings.nodeMeshPassword }),
        source: 'mesh',
      });
    }
  }
}

function explicitPeers(input: PeerPlanInput, resource: AgentResource, out: Map<string, PeerPlan>): void {
  const name = resource.metadata.name;
  const spec = record(resource['spec']);
  const { self } = input;
  const node = spec['node'];
  if (typeof node === 'string' && node !== '') {
    if (node !== self.name) return;
  } else if (!selects(spec['nodeSelector'], self.labels, 'spec.nodeSelector')) return;

  const common: Partial<Record<'md5Password', string>> & { ttlSecurity?: { hops: number } } = {};
  const password = spec['password'];
  if (typeof password === 'string') common.md5Password = password;
  else if (password !== undefined) {
    // Calico reads `password.secretKeyRef` from a Kubernetes Secret; the embedded datastore has none (validate-calico.ts).
    throw new Error('spec.password: only an inline string is supported (password: "..."); secretKeyRef needs Kubernetes Secrets, which the embedded datastore does not have');
  }
  const ttl = positiveInteger(spec['ttlSecurity']);
  if (ttl !== undefined) common.ttlSecurity = { hops: ttl };
  const useNodeIp = spec['sourceAddress'] !== 'None';
  const source = `bgppeer/${name}`;

  const peerSelector = spec['peerSelector'];
  if (typeof peerSelector === 'string' && peerSelector !== '') {
    for (const other of input.nodes.values()) {
      if (other.name === self.name || !selects(peerSelector, other.labels, 'spec.peerSelector')) continue;
      for (const address of [other.ipv4, other.ipv6]) {
        if (address === undefined) continue;
        out.set(address, {
          address,
          asn: other.asNumber ?? input.settings.asNumber,
          ...(useNodeIp ? localFor(self, address) : {}),
          ...common,
          source,
        });
      }
    }
    return;
  }
  const target = typeof spec['peerIP'] === 'string' ? parsePeerIp(spec['peerIP']) : undefined;
  if (!target) throw new Error(`spec.peerIP ${JSON.stringify(spec['peerIP'])} is not an address (10.0.0.5, 10.0.0.5:1790, [fd00::5]:1790)`);
  const asn = positiveInteger(spec['asNumber']);
  if (asn === undefined) throw new Error('spec.asNumber is required with spec.peerIP');
  out.set(target.address, {
    address: target.address,
    asn,
    ...(target.port === undefined ? {} : { port: target.port }),
    ...(useNodeIp ? localFor(self, target.address) : {}),
    ...common,
    source,
  });
}

/**
 * The neighbours this node should have: the mesh (unless `nodeToNodeMeshEnabled: false`)
 * and the BGPPeers that apply to it; an explicit BGPPeer wins over the mesh for the same
 * address. A BGPPeer that cannot be used is left out and reported.
 */
export function planPeers(input: PeerPlanInput): { peers: Map<string, PeerPlan>; problems: PeerProblem[] } {
  const peers = new Map<string, PeerPlan>();
  const problems: PeerProblem[] = [];
  if (input.settings.nodeToNodeMeshEnabled) meshPeers(input, peers);
  const sorted = [...input.bgpPeers].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const resource of sorted) {
    try {
      explicitPeers(input, resource, peers);
    } catch (error) {
      problems.push({ peer: resource.metadata.name, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  // A node does not peer with itself (a peerIP or selector naming this node's address).
  for (const own of [input.self.ipv4, input.self.ipv6]) if (own !== undefined) peers.delete(own);
  return { peers, problems };
}

/** Whether two plans configure the same session. */
export function samePeer(a: PeerPlan, b: PeerPlan): boolean {
  return (
    a.address === b.address &&
    a.asn === b.asn &&
    a.port === b.port &&
    a.localAddress === b.localAddress &&
    a.md5Password === b.md5Password &&
    a.passive === b.passive &&
    a.ttlSecurity?.hops === b.ttlSecurity?.hops
  );
}
