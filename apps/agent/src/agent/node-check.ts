// twill's own check of one node: the endpoint records, the IPAM pools and the kernel's
// host-side links and pod routes, compared both ways. Pure over the Store port and a
// kernel reader (sys/node-check-kernel.ts reads the real one); the report is data, for
// the CLI and for tests.
import {
  DEFAULT_POOL_ROOT,
  decodeHandle,
  formatAddress,
  handleId,
  type HandleDocument,
  parseAddress,
  PoolAllocator,
  type PoolIpamConfig,
  type PoolProblem,
  poolKeys,
  type Store,
} from '@twill/ipam';

import { type TwillConfig } from '../plugin/config.js';
import { ENDPOINT_ROOT } from '../plugin/endpoints.js';
import { HOST_INTERFACE_PREFIX } from '../plugin/names.js';
import { type EndpointRecord } from '../plugin/ports.js';

/** A link of the node's namespace, as the kernel reader gives it. */
export interface NodeLink {
  readonly name: string;
  readonly index: number;
  /** The driver (`veth`, `dummy`, ...); absent for `lo` and physical links. */
  readonly kind?: string;
  /** Administratively up. */
  readonly up: boolean;
}

/** A route of the node's main table, as the kernel reader gives it. */
export interface NodeRoute {
  /** `ADDRESS/LENGTH`. */
  readonly dst: string;
  /** The name of the output link; absent for routes without one (blackhole, unreachable). */
  readonly link?: string;
  /** `unicast`, `blackhole`, ... */
  readonly type: string | number;
}

/** What the kernel holds in the node's namespace. */
export interface NodeKernelState {
  readonly links: readonly NodeLink[];
  /** The main table's routes of both families. */
  readonly routes: readonly NodeRoute[];
}

/** Reads the node's links and routes (sys/node-check-kernel.ts over rtnetlink; fakes in tests). */
export interface NodeKernelReader {
  read(): Promise<NodeKernelState>;
}

/** One network twill serves on the node. */
export interface NodeCheckNetwork {
  /** The CNI network name (the conflist's `name`): records under `twill-endpoints/<network>/`. */
  readonly network: string;
  /** Its pools when twill allocates in-process (`ipam.pools`); absent for a delegated IPAM plugin. */
  readonly pools?: PoolIpamConfig;
}

/** The network of a twill plugin configuration (the conflist's twill entry, parsed). */
export function nodeCheckNetwork(config: Pick<TwillConfig, 'network' | 'ipam'>): NodeCheckNetwork {
  return config.ipam.kind === 'pools' ? { network: config.network, pools: config.ipam.pools.pools } : { network: config.network };
}

/** Options of {@link checkNode}. */
export interface CheckNodeOptions {
  /** The datastore holding the endpoint records and the pools. */
  readonly store: Store;
  readonly kernel: NodeKernelReader;
  /** The node checked: records and allocations of other nodes sharing the store are not its own. */
  readonly nodeName: string;
  /** Every network twill serves on the node (a link is someone's when any of them records it). */
  readonly networks: readonly NodeCheckNetwork[];
  /** The pools' key root (default `twill-pools`). */
  readonly poolRoot?: string;
}

/** What can disagree. */
export const NODE_PROBLEM_KINDS = [
  /** An endpoint record whose host-side link is not in the node's namespace. */
  'record-without-link',
  /** A host-side `tw*` link that no endpoint record names. */
  'link-without-record',
  /** The record's link is there but not an up veth. */
  'link-not-ready',
  /** A record's address has no route to its link. */
  'route-missing',
  /** A route to a pod address (or out of a `tw*` link) that no endpoint's link accounts for. */
  'route-without-link',
  /** An IPAM allocation of this node whose attachment has no endpoint record. */
  'allocation-without-record',
  /** A record's address that IPAM does not hold for the record's handle. */
  'record-not-allocated',
  /** Two records of this node with one address. */
  'duplicate-address',
  /** A record that does not decode. */
  'corrupt-record',
  /** The pools' documents disagree with each other (@twill/ipam's check). */
  'ipam-inconsistent',
] as const;

/** One of {@link NODE_PROBLEM_KINDS}. */
export type NodeProblemKind = (typeof NODE_PROBLEM_KINDS)[number];

/** One disagreement. */
export interface NodeProblem {
  readonly kind: NodeProblemKind;
  /** What it is about: `<network>/<containerID>`, a link name, a route, an address or a store key. */
  readonly subject: string;
  /** What is wrong, in words. */
  readonly detail: string;
}

/** The answer of {@link checkNode}. */
export interface NodeCheckReport {
  /** No problem found. */
  readonly consistent: boolean;
  readonly node: string;
  /** Endpoint records of this node, over every network. */
  readonly endpoints: number;
  /** Host-side `tw*` links in the node's namespace. */
  readonly links: number;
  /** IPAM handles of this node, over the networks with pools. */
  readonly allocations: number;
  readonly problems: readonly NodeProblem[];
}

// twill's host-side names: `tw` and 13 hex digits (plugin/names.ts).
const HOST_LINK = new RegExp(`^${HOST_INTERFACE_PREFIX}[0-9a-f]{13}$`, 'u');

interface LocalRecord {
  readonly record: EndpointRecord;
  readonly subject: string;
  /** Normalised addresses without length. */
  readonly ips: readonly string[];
}

function normalise(ip: string): string {
  const address = parseAddress(ip);
  return address === undefined ? ip : formatAddress(address);
}

// A host route (`/32`, `/128`): the only kind twill adds for pods.
function hostRouteIp(dst: string): string | undefined {
  const [ip, length] = dst.split('/');
  if (ip === undefined) return undefined;
  const address = parseAddress(ip);
  if (address === undefined) return undefined;
  return Number(length) === (address.family === 4 ? 32 : 128) ? formatAddress(address) : undefined;
}

function decodeRecord(value: string): EndpointRecord | undefined {
  try {
    const doc = JSON.parse(value) as Partial<EndpointRecord>;
    const ok =
      typeof doc.containerId === 'string' &&
      typeof doc.hostInterface === 'string' &&
      typeof doc.ifName === 'string' &&
      Array.isArray(doc.addresses) &&
      doc.addresses.every((a) => typeof a === 'string');
    return ok ? (doc as EndpointRecord) : undefined;
  } catch {
    return undefined;
  }
}

function describePoolProblem(problem: PoolProblem): { subject: string; detail: string } {
  switch (problem.kind) {
    case 'corrupt-document':
      return { subject: problem.key, detail: 'the document does not decode' };
    case 'address-without-handle':
      return { subject: problem.ip, detail: `block ${problem.block} gives it to ${problem.handle}, which ${problem.reason === 'handle-missing' ? 'does not exist' : 'does not list it'}` };
    case 'handle-without-allocation':
      return { subject: problem.ip, detail: `handle ${problem.handle} lists it in ${problem.block}, but ${problem.reason.replaceAll('-', ' ')}` };
    case 'affinity-mismatch':
      return { subject: problem.block, detail: `the block's affinity is ${problem.blockAffinity ?? 'none'}, the nodes' documents list it for ${problem.listedBy.join(', ') || 'no node'}` };
    case 'reserved-address-allocated':
      return { subject: problem.ip, detail: `reserved, but allocated to ${problem.handle}` };
    default: {
      const { kind, ...rest } = problem;
      return { subject: kind, detail: JSON.stringify(rest) };
    }
  }
}

/** Reads this node's endpoint records of every network: the decoded ones, and problems for the others. */
async function readRecords(options: CheckNodeOptions, problems: NodeProblem[]): Promise<LocalRecord[]> {
  const local: LocalRecord[] = [];
  for (const { network } of options.networks) {
    const prefix = `${ENDPOINT_ROOT}/${network}/`;
    for (const entry of await options.store.list(prefix)) {
      const record = decodeRecord(entry.value);
      if (record === undefined) {
        problems.push({ kind: 'corrupt-record', subject: entry.key, detail: 'the endpoint record does not decode (containerId, ifName, hostInterface and addresses expected)' });
        continue;
      }
      // Records written before nodes were recorded are taken as this node's.
      if (record.node !== undefined && record.node !== options.nodeName) continue;
      local.push({ record, subject: `${network}/${record.containerId}`, ips: record.addresses.map((a) => normalise(a.split('/')[0] ?? a)) });
    }
  }
  return local;
}

function checkLinks(records: readonly LocalRecord[], kernel: NodeKernelState, problems: NodeProblem[]): void {
  const links = new Map(kernel.links.map((l) => [l.name, l]));
  const named = new Set(records.map((r) => r.record.hostInterface));
  for (const { record, subject } of records) {
    const link = links.get(record.hostInterface);
    if (link === undefined) problems.push({ kind: 'record-without-link', subject, detail: `its host-side link ${record.hostInterface} is not in the node's namespace` });
    else if (link.kind !== 'veth' || !link.up) {
      problems.push({ kind: 'link-not-ready', subject, detail: `${link.name} is ${link.kind === 'veth' ? 'a veth' : `a ${link.kind ?? 'device'} link`}${link.up ? '' : ' and down'}` });
    }
  }
  for (const link of kernel.links) {
    if (HOST_LINK.test(link.name) && !named.has(link.name)) problems.push({ kind: 'link-without-record', subject: link.name, detail: 'a twill host-side link that no endpoint record names' });
  }
}

function inPools(ip: string, networks: readonly NodeCheckNetwork[]): boolean {
  const address = parseAddress(ip);
  if (address === undefined) return false;
  return networks.some((n) =>
    (n.pools?.pools ?? []).some((p) => {
      if (p.family !== address.family) return false;
      const bits = BigInt((address.family === 4 ? 32 : 128) - p.cidr.prefixLength);
      return address.value >> bits === p.cidr.network.value >> bits;
    }),
  );
}

function checkRoutes(records: readonly LocalRecord[], kernel: NodeKernelState, networks: readonly NodeCheckNetwork[], problems: NodeProblem[]): void {
  const linkNames = new Set(kernel.links.map((l) => l.name));
  // ip → the links of the records holding it.
  const owners = new Map<string, Set<string>>();
  for (const { record, ips } of records) for (const ip of ips) owners.set(ip, (owners.get(ip) ?? new Set()).add(record.hostInterface));
  const routed = new Set<string>();
  for (const route of kernel.routes) {
    const ip = hostRouteIp(route.dst);
    if (ip === undefined) continue;
    const fromTwillLink = route.link !== undefined && HOST_LINK.test(route.link);
    if (!fromTwillLink && !owners.has(ip) && !inPools(ip, networks)) continue;
    if (route.link !== undefined && owners.get(ip)?.has(route.link) === true && linkNames.has(route.link)) {
      routed.add(`${ip} ${route.link}`);
      continue;
    }
    const via = route.link === undefined ? `a ${String(route.type)} route` : `dev ${route.link}`;
    problems.push({ kind: 'route-without-link', subject: route.dst, detail: `${via}: no endpoint's host-side link holds ${ip}` });
  }
  for (const { record, subject, ips } of records) {
    if (!linkNames.has(record.hostInterface)) continue; // record-without-link says it
    for (const ip of ips) {
      if (!routed.has(`${ip} ${record.hostInterface}`)) problems.push({ kind: 'route-missing', subject, detail: `no route to ${ip} dev ${record.hostInterface}` });
    }
  }
}

function checkDuplicates(records: readonly LocalRecord[], problems: NodeProblem[]): void {
  const holders = new Map<string, string[]>();
  for (const { subject, ips } of records) for (const ip of new Set(ips)) holders.set(ip, [...(holders.get(ip) ?? []), subject]);
  for (const [ip, subjects] of holders) {
    if (subjects.length > 1) problems.push({ kind: 'duplicate-address', subject: ip, detail: `recorded by ${subjects.join(', ')}` });
  }
}

async function readHandles(store: Store, root: string): Promise<Map<string, HandleDocument | undefined>> {
  const { handlesPrefix } = poolKeys(root);
  const handles = new Map<string, HandleDocument | undefined>();
  for (const entry of await store.list(handlesPrefix)) {
    let doc: HandleDocument | undefined;
    try {
      doc = decodeHandle(entry.value);
    } catch {
      doc = undefined; // ipam-inconsistent (corrupt-document) reports it
    }
    handles.set(entry.key.slice(handlesPrefix.length), doc);
  }
  return handles;
}

// Per network with pools: each record's addresses are its handle's, each handle of this
// node has a record, and the pools' documents agree with each other. Returns the number
// of this node's handles.
async function checkIpam(options: CheckNodeOptions, records: readonly LocalRecord[], problems: NodeProblem[]): Promise<number> {
  const root = options.poolRoot ?? DEFAULT_POOL_ROOT;
  const withPools = options.networks.filter((n): n is NodeCheckNetwork & { pools: PoolIpamConfig } => n.pools !== undefined);
  if (withPools.length === 0) return 0;
  const handles = await readHandles(options.store, root);
  let allocations = 0;
  const reported = new Set<string>();
  for (const { network, pools } of withPools) {
    const allocator = new PoolAllocator({ config: pools, store: options.store, root });
    const mine = records.filter((r) => r.record.network === network);
    for (const { record, subject, ips } of mine) {
      const handle = handleId(network, record.containerId);
      for (const ip of ips) {
        const status = await allocator.whyHeld(ip);
        if (status.state === 'allocated' && status.handle === handle) continue;
        const held = status.state === 'allocated' || status.state === 'leaked' ? `${status.state} to ${status.handle}` : status.state;
        problems.push({ kind: 'record-not-allocated', subject, detail: `${ip} is not held by ${handle} (${held})` });
      }
    }
    const recorded = new Set(mine.map((r) => handleId(network, r.record.containerId)));
    for (const [handle, doc] of handles) {
      if (doc === undefined || doc.network !== network || doc.attributes.node !== options.nodeName) continue;
      allocations++;
      if (recorded.has(handle)) continue;
      const ips = doc.addresses.map((a) => a.ip).join(', ');
      problems.push({ kind: 'allocation-without-record', subject: handle, detail: `${ips} allocated to ${doc.attributes.containerId}/${doc.attributes.ifName} on ${doc.attributes.node}, which has no endpoint record` });
    }
    // The pools' documents are shared by the networks of one root: report each problem once.
    for (const problem of (await allocator.check()).problems) {
      const text = describePoolProblem(problem);
      const key = `${problem.kind} ${text.subject} ${text.detail}`;
      if (reported.has(key)) continue;
      reported.add(key);
      problems.push({ kind: 'ipam-inconsistent', subject: text.subject, detail: `${problem.kind}: ${text.detail}` });
    }
  }
  return allocations;
}

/**
 * Checks one node: its endpoint records against the kernel's host-side `tw*` links and
 * their `/32` and `/128` routes, and against the IPAM pools, both ways (a record without
 * a link, a link without a record, an allocation of this node without a record, a
 * record whose addresses its handle does not hold, a route no endpoint's link accounts
 * for, a missing route, two records with one address), plus @twill/ipam's own check of
 * the pools' documents. Read-only. Meant for a quiet node: an ADD or DEL in progress
 * shows as a problem.
 * @throws StoreFailureError when the store fails; the kernel reader's errors.
 */
export async function checkNode(options: CheckNodeOptions): Promise<NodeCheckReport> {
  const problems: NodeProblem[] = [];
  const records = await readRecords(options, problems);
  const kernel = await options.kernel.read();
  checkLinks(records, kernel, problems);
  checkRoutes(records, kernel, options.networks, problems);
  checkDuplicates(records, problems);
  const allocations = await checkIpam(options, records, problems);
  return {
    consistent: problems.length === 0,
    node: options.nodeName,
    endpoints: records.length,
    links: kernel.links.filter((l) => HOST_LINK.test(l.name)).length,
    allocations,
    problems,
  };
}
