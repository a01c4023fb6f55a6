// Who this node's BGP speaker talks to, pure: Calico's BGPConfiguration `default`
// (AS, node-to-node mesh and its password, listen port), the node-to-node mesh from the Node
// resources, and the BGPPeer resources that apply to this node (`spec.node`,
// `spec.nodeSelector`), with their targets (`spec.peerIP` or the nodes `spec.peerSelector`
// picks, and back: a node a peerSelector picks peers with the nodes the BGPPeer applies to).
// Route reflection as calico-node configures BIRD: a node with
// `spec.bgp.routeReflectorClusterID` reflects with that CLUSTER_ID, takes no part in the
// mesh, and treats its iBGP peers that are not reflectors of its cluster as clients.
// Passwords may name a Secret key; {@link resolvePasswords} fills them in from what the
// controller read.
import { parsePrefix } from '@twill/bgp';
import { evaluateCalicoSelector, parseCalicoSelector } from '@twill/policy-engine';

import { BGP_CONFIGURATION_DEFAULTS, type BgpPassword, type SecretKeyRef } from '../datastore/calico-resources.js';
import { type AgentResource } from '../ports.js';

import { type NodeInfo, parseNode } from './route-model.js';

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
  /** `nodeMeshPassword`: the TCP MD5 password of the mesh sessions, inline or from a Secret. */
  readonly nodeMeshPassword?: BgpPassword;
}

/** What the BGP controller uses of a Node resource. */
export interface BgpNode extends NodeInfo {
  /** `spec.bgp.routeReflectorClusterID`: the node is a route reflector with this CLUSTER_ID. */
  readonly routeReflectorClusterId?: string;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function positiveInteger(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  if (typeof value === 'string' && /^\d+$/.test(value) && Number(value) > 0) return Number(value);
  return undefined;
}

/** A password field as validation let it through (validate-calico.ts); anything else is absent. */
function parsePassword(value: unknown): BgpPassword | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  const ref = record(record(value)['secretKeyRef']);
  const { name, key } = ref;
  return typeof name === 'string' && typeof key === 'string' ? { secretKeyRef: { name, key } } : undefined;
}

/** BGPConfiguration `default` (or its absence) as settings. */
export function parseBgpConfiguration(resource: AgentResource | undefined): BgpSettings {
  const spec = record(resource?.['spec']);
  const nodeMeshPassword = parsePassword(spec['nodeMeshPassword']);
  return {
    asNumber: positiveInteger(spec['asNumber']) ?? DEFAULT_AS_NUMBER,
    nodeToNodeMeshEnabled: typeof spec['nodeToNodeMeshEnabled'] === 'boolean' ? spec['nodeToNodeMeshEnabled'] : BGP_CONFIGURATION_DEFAULTS.nodeToNodeMeshEnabled,
    listenPort: positiveInteger(spec['listenPort']) ?? DEFAULT_BGP_PORT,
    ...(nodeMeshPassword === undefined ? {} : { nodeMeshPassword }),
  };
}

/** A Calico Node resource as the BGP controller reads it: {@link parseNode} and the route reflector cluster id. */
export function parseBgpNode(resource: AgentResource): BgpNode {
  const info = parseNode(resource);
  const id = record(record(resource['spec'])['bgp'])['routeReflectorClusterID'];
  return typeof id === 'string' && id !== '' ? { ...info, routeReflectorClusterId: id } : info;
}

/** One neighbour the speaker should have: plain data, compared field by field to see a change. */
export interface PeerPlan {
  readonly address: string;
  readonly asn: number;
  readonly port?: number;
  readonly localAddress?: string;
  readonly md5Password?: string;
  /** The Secret key the password is read from; {@link resolvePasswords} sets `md5Password` from it. */
  readonly md5Secret?: SecretKeyRef;
  readonly passive?: boolean;
  readonly ttlSecurity?: { readonly hops: number };
  /** This node reflects the peer's iBGP routes to its other peers and theirs to it (RFC 4456 §6). */
  readonly routeReflectorClient?: boolean;
  /** Where it comes from: `mesh` or `bgppeer/<name>`. */
  readonly source: string;
}

/** A BGPPeer (or the mesh) the controller could not use, or not all of, and why. */
export interface PeerProblem {
  /** The BGPPeer's name, or `node-to-node mesh`. */
  readonly peer: string;
  readonly reason: string;
  /** The peer addresses left without a session for it, when it is not the whole resource. */
  readonly addresses?: readonly string[];
}

/** Input of {@link planPeers}. */
export interface PeerPlanInput {
  /** This node (its addresses and AS from the agent's configuration, the rest from its Node resource). */
  readonly self: BgpNode;
  readonly settings: BgpSettings;
  readonly nodes: ReadonlyMap<string, BgpNode>;
  readonly bgpPeers: readonly AgentResource[];
}

/** The name {@link PeerProblem.peer} gives the mesh. */
export const MESH_PROBLEM_NAME = 'node-to-node mesh';

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

/** The AS this node's speaker runs with: its own, or the cluster's. */
function localAsOf(input: PeerPlanInput): number {
  return input.self.asNumber ?? input.settings.asNumber;
}

/**
 * Whether this node treats a peer as its route reflector client, as calico-node does: this
 * node reflects (has a cluster id), the session is iBGP, and the peer is not a reflector
 * of the same cluster (reflectors of one cluster are plain iBGP peers of each other).
 */
function reflectsFor(input: PeerPlanInput, peerAsn: number, peerClusterId: string | undefined): { routeReflectorClient?: true } {
  const own = input.self.routeReflectorClusterId;
  return own !== undefined && peerAsn === localAsOf(input) && peerClusterId !== own ? { routeReflectorClient: true } : {};
}

/**
 * The mesh: a session per family with every other node that has an address of a family
 * this node has too, to its AS (its own, or the cluster's). Of each pair only the node
 * with the lower address connects; the other waits (passive), so the two never collide.
 * Route reflectors take no part (calico-node's rule): a reflector meshes with no one and
 * no one meshes with it; their sessions come from BGPPeers.
 */
function meshPeers(input: PeerPlanInput, out: Map<string, PeerPlan>): void {
  const { self, settings } = input;
  if (self.routeReflectorClusterId !== undefined) return;
  const password = passwordFields(settings.nodeMeshPassword);
  for (const node of input.nodes.values()) {
    if (node.name === self.name || node.routeReflectorClusterId !== undefined) continue;
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
        ...password,
        source: 'mesh',
      });
    }
  }
}

function passwordFields(password: BgpPassword | undefined): { md5Password?: string; md5Secret?: SecretKeyRef } {
  if (password === undefined) return {};
  return typeof password === 'string' ? { md5Password: password } : { md5Secret: password.secretKeyRef };
}

/** Whether BGPPeer `spec` applies to `node` (`spec.node`, else `spec.nodeSelector`, else every node). */
function appliesTo(spec: Record<string, unknown>, node: BgpNode): boolean {
  const name = spec['node'];
  if (typeof name === 'string' && name !== '') return name === node.name;
  return selects(spec['nodeSelector'], node.labels, 'spec.nodeSelector');
}

interface SessionCommon {
  readonly md5Password?: string;
  readonly md5Secret?: SecretKeyRef;
  readonly ttlSecurity?: { readonly hops: number };
  readonly useNodeIp: boolean;
  readonly source: string;
}

/**
 * Sessions with another Calico node, one per family both have, to its own AS. With
 * automatic reverse peering both ends have the session, so as in the mesh only the lower
 * address connects.
 */
function nodeSessions(input: PeerPlanInput, other: BgpNode, common: SessionCommon, symmetric: boolean, out: Map<string, PeerPlan>): void {
  const { self, settings } = input;
  const asn = other.asNumber ?? settings.asNumber;
  for (const [mine, theirs] of [
    [self.ipv4, other.ipv4],
    [self.ipv6, other.ipv6],
  ] as const) {
    if (mine === undefined || theirs === undefined || mine === theirs) continue;
    out.set(theirs, {
      address: theirs,
      asn,
      ...(settings.listenPort === DEFAULT_BGP_PORT ? {} : { port: settings.listenPort }),
      ...(common.useNodeIp ? localFor(self, theirs) : {}),
      ...(symmetric && compareAddresses(mine, theirs) > 0 ? { passive: true } : {}),
      ...(common.md5Password === undefined ? {} : { md5Password: common.md5Password }),
      ...(common.md5Secret === undefined ? {} : { md5Secret: common.md5Secret }),
      ...(common.ttlSecurity === undefined ? {} : { ttlSecurity: common.ttlSecurity }),
      ...reflectsFor(input, asn, other.routeReflectorClusterId),
      source: common.source,
    });
  }
}

/** The Calico node with this address, for a `peerIP` that is one. */
function nodeAt(input: PeerPlanInput, address: string): BgpNode | undefined {
  for (const node of input.nodes.values()) if (node.ipv4 === address || node.ipv6 === address) return node;
  return undefined;
}

function explicitPeers(input: PeerPlanInput, resource: AgentResource, out: Map<string, PeerPlan>): void {
  const name = resource.metadata.name;
  const spec = record(resource['spec']);
  const { self } = input;
  const applies = appliesTo(spec, self);

  const password = spec['password'];
  const parsedPassword = parsePassword(password);
  if (password !== undefined && parsedPassword === undefined && password !== '') {
    throw new Error('spec.password must be a string or {secretKeyRef: {name, key}}');
  }
  const ttl = positiveInteger(spec['ttlSecurity']);
  const common: SessionCommon = {
    ...passwordFields(parsedPassword),
    ...(ttl === undefined ? {} : { ttlSecurity: { hops: ttl } }),
    useNodeIp: spec['sourceAddress'] !== 'None',
    source: `bgppeer/${name}`,
  };

  const peerSelector = spec['peerSelector'];
  if (typeof peerSelector === 'string' && peerSelector !== '') {
    const symmetric = spec['reversePeering'] !== 'Manual';
    const reverse = symmetric && selects(peerSelector, self.labels, 'spec.peerSelector');
    if (!applies && !reverse) return;
    for (const other of input.nodes.values()) {
      if (other.name === self.name) continue;
      const forward = applies && selects(peerSelector, other.labels, 'spec.peerSelector');
      // Calico's automatic reverse peering: the nodes this BGPPeer applies to peer with the
      // nodes it picks, so a picked node peers back with them.
      if (forward || (reverse && appliesTo(spec, other))) nodeSessions(input, other, common, symmetric, out);
    }
    return;
  }
  if (!applies) return;
  const target = typeof spec['peerIP'] === 'string' ? parsePeerIp(spec['peerIP']) : undefined;
  if (!target) throw new Error(`spec.peerIP ${JSON.stringify(spec['peerIP'])} is not an address (10.0.0.5, 10.0.0.5:1790, [fd00::5]:1790)`);
  const asn = positiveInteger(spec['asNumber']);
  if (asn === undefined) throw new Error('spec.asNumber is required with spec.peerIP');
  out.set(target.address, {
    address: target.address,
    asn,
    ...(target.port === undefined ? {} : { port: target.port }),
    ...(common.useNodeIp ? localFor(self, target.address) : {}),
    ...(common.md5Password === undefined ? {} : { md5Password: common.md5Password }),
    ...(common.md5Secret === undefined ? {} : { md5Secret: common.md5Secret }),
    ...(common.ttlSecurity === undefined ? {} : { ttlSecurity: common.ttlSecurity }),
    // A peerIP that is a Calico node's address is that node, reflector or not.
    ...reflectsFor(input, asn, nodeAt(input, target.address)?.routeReflectorClusterId),
    source: common.source,
  });
}

/**
 * The neighbours this node should have: the mesh (unless `nodeToNodeMeshEnabled: false`,
 * or this node is a route reflector) and the BGPPeers that apply to it or pick it; an
 * explicit BGPPeer wins over the mesh for the same address. A BGPPeer that cannot be used
 * is left out and reported. Passwords from Secrets are left for {@link resolvePasswords}.
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

/** What reading one Secret key gave: the password, or why there is none, in words. */
export type SecretLookup = { readonly value: string } | { readonly problem: string };

/** `name/key`: one Secret key, as a map key. */
export function secretRefKey(ref: SecretKeyRef): string {
  return `${ref.name}/${ref.key}`;
}

/** The distinct Secret keys the plans need. */
export function secretRefsOf(peers: Iterable<PeerPlan>): SecretKeyRef[] {
  const refs = new Map<string, SecretKeyRef>();
  for (const plan of peers) if (plan.md5Secret) refs.set(secretRefKey(plan.md5Secret), plan.md5Secret);
  return [...refs.values()];
}

/**
 * Fills in the passwords read from Secrets (`lookups` by {@link secretRefKey}). A plan
 * whose Secret key could not be read is left out (no session without its password, as
 * BIRD would not start one) and reported once per BGPPeer, or for the mesh, naming the
 * field and the addresses left out; the others go on.
 */
export function resolvePasswords(peers: ReadonlyMap<string, PeerPlan>, lookups: ReadonlyMap<string, SecretLookup>): { peers: Map<string, PeerPlan>; problems: PeerProblem[] } {
  const resolved = new Map<string, PeerPlan>();
  const missing = new Map<string, { reason: string; addresses: string[] }>();
  for (const [address, plan] of peers) {
    if (!plan.md5Secret) {
      resolved.set(address, plan);
      continue;
    }
    const lookup = lookups.get(secretRefKey(plan.md5Secret)) ?? { problem: 'not read yet' };
    if ('value' in lookup) {
      resolved.set(address, { ...plan, md5Password: lookup.value });
      continue;
    }
    const field = plan.source === 'mesh' ? 'BGPConfiguration default: spec.nodeMeshPassword' : 'spec.password';
    const key = `${plan.source}\n${lookup.problem}`;
    let entry = missing.get(key);
    if (!entry) missing.set(key, (entry = { reason: `${field}: ${lookup.problem}: not started without its password`, addresses: [] }));
    entry.addresses.push(address);
  }
  const problems: PeerProblem[] = [];
  for (const [key, { reason, addresses }] of missing) {
    const source = key.slice(0, key.indexOf('\n'));
    problems.push({ peer: source === 'mesh' ? MESH_PROBLEM_NAME : source.slice('bgppeer/'.length), reason, addresses: addresses.sort(compareMixed) });
  }
  return { peers: resolved, problems };
}

function compareMixed(a: string, b: string): number {
  return isV6(a) === isV6(b) ? compareAddresses(a, b) : isV6(a) ? 1 : -1;
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
    a.ttlSecurity?.hops === b.ttlSecurity?.hops &&
    (a.routeReflectorClient ?? false) === (b.routeReflectorClient ?? false)
  );
}
