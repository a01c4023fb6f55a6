// What a lab is made of, worked out before anything is made: names of namespaces and
// links, addresses, file paths, each agent's configuration, BIRD's configuration and the
// resources written to the datastore. Pure: the same spec and id give the same plan.

import { posix } from 'node:path';

import { stringify } from 'yaml';

import { type LabPodSpec, type LabSpec } from './ports.js';
import { labNamespaces, labPods } from './spec.js';

/** The prefix of every network namespace a lab makes. */
export const LAB_NETNS_PREFIX = 'twl-';

/**
 * The addressing: the fabric's subnet (TEST-NET-free private space no host route uses
 * inside the lab's namespaces), the ToR's address, the first node's host number, the pod pool.
 */
export const LAB_ADDRESSING = {
  fabricPrefix: '172.31.250',
  fabricLength: 24,
  torHost: 1,
  /** The bridge's own address in the fabric namespace: the nodes' default gateway. */
  gatewayHost: 254,
  firstNodeHost: 11,
  pool: { cidr: '10.244.0.0/16', blockSize: 26 },
  /** Calico's default AS, every node's and the ToR's (the ToR reflects routes between its clients). */
  asNumber: 64512,
  /** The CNI network's name (the conflist's `name`). */
  network: 'twill-lab',
  /** Each agent's health server, on its node namespace's loopback. */
  httpListen: '127.0.0.1:9099',
  /** Each agent's web dashboard (the agent's default), on its node namespace's loopback. */
  uiListen: '127.0.0.1:9098',
} as const;

/** One node's plan. */
export interface NodePlan {
  readonly index: number;
  readonly name: string;
  readonly netns: string;
  /** Address without its length. */
  readonly address: string;
  /** The veth end on the bridge, in the fabric namespace. */
  readonly fabricPort: string;
  /** The node's folder: config, sockets, log. */
  readonly dir: string;
  readonly configFile: string;
  readonly agentSocket: string;
  readonly apiSocket: string;
  /** The agent's flow observer (`flows.socket`). */
  readonly observerSocket: string;
  readonly logFile: string;
  readonly confDir: string;
}

/** One pod's plan. */
export interface PodPlan {
  readonly spec: LabPodSpec;
  readonly netns: string;
  readonly containerId: string;
  readonly node: NodePlan;
}

/** A lab's whole plan. */
export interface LabPlan {
  readonly id: string;
  readonly spec: LabSpec;
  readonly stateFile: string;
  readonly fabric: { readonly netns: string; readonly bridge: string; readonly cidr: string };
  readonly tor: { readonly netns: string; readonly address: string; readonly fabricPort: string; readonly dir: string; readonly configFile: string; readonly controlSocket: string; readonly logFile: string } | undefined;
  readonly nodes: readonly NodePlan[];
  readonly pods: readonly PodPlan[];
  readonly dataDir: string;
  readonly datastore: string;
  readonly binDir: string;
  readonly cacheDir: string;
  /** What the lab creates directly in `spec.dir` (removed by `down`). */
  readonly entries: readonly string[];
}

/** The demonstration's folder in the lab's (its servers' logs and sockets): `down` removes it with the rest. */
export const LAB_DEMO_ENTRY = 'demo';

/** The state file's name in the lab's folder. */
export const LAB_STATE_FILE = 'lab.json';

/**
 * The plan of a lab with this spec and id (a few hex characters; it keeps the namespace
 * names of labs in different folders apart).
 */
export function planLab(spec: LabSpec, id: string): LabPlan {
  const dir = spec.dir;
  const a = LAB_ADDRESSING;
  const netns = (what: string): string => `${LAB_NETNS_PREFIX}${id}-${what}`;
  const nodes = Array.from({ length: spec.nodes }, (_, index): NodePlan => {
    const name = `node-${index + 1}`;
    const nodeDir = posix.join(dir, 'nodes', name);
    return {
      index,
      name,
      netns: netns(name),
      address: `${a.fabricPrefix}.${a.firstNodeHost + index}`,
      fabricPort: `n${index + 1}`,
      dir: nodeDir,
      configFile: posix.join(nodeDir, 'agent.yaml'),
      agentSocket: posix.join(nodeDir, 'agent.sock'),
      apiSocket: posix.join(nodeDir, 'api.sock'),
      observerSocket: posix.join(nodeDir, 'observer.sock'),
      logFile: posix.join(nodeDir, 'agent.log'),
      confDir: posix.join(dir, 'net.d', name),
    };
  });
  const pods = labPods(spec).map((pod): PodPlan => ({
    spec: pod,
    // A dot cannot be in a DNS-1123 label: pod names never collide with each other or the nodes'.
    netns: netns(`${pod.namespace}.${pod.name}`),
    containerId: `twill-lab-${id}-${pod.namespace}.${pod.name}`,
    node: nodes[pod.node] as NodePlan,
  }));
  const torDir = posix.join(dir, 'tor');
  return {
    id,
    spec,
    stateFile: posix.join(dir, LAB_STATE_FILE),
    fabric: { netns: netns('fabric'), bridge: 'fabric', cidr: `${a.fabricPrefix}.0/${a.fabricLength}` },
    tor:
      spec.tor === 'bird'
        ? {
            netns: netns('tor'),
            address: `${a.fabricPrefix}.${a.torHost}`,
            fabricPort: 'tor',
            dir: torDir,
            configFile: posix.join(torDir, 'bird.conf'),
            controlSocket: posix.join(torDir, 'bird.ctl'),
            logFile: posix.join(torDir, 'bird.log'),
          }
        : undefined,
    nodes,
    pods,
    dataDir: posix.join(dir, 'data'),
    datastore: posix.join(dir, 'data', 'twill.db'),
    binDir: posix.join(dir, 'bin'),
    cacheDir: posix.join(dir, 'cni-cache'),
    entries: [LAB_STATE_FILE, 'nodes', 'net.d', 'data', 'bin', 'cni-cache', LAB_DEMO_ENTRY, ...(spec.tor === 'bird' ? ['tor'] : [])],
  };
}

/** A node's flow observer socket: the one it records, else `observer.sock` beside its configuration (labs of older versions). */
export function observerSocketOf(node: { readonly observerSocket?: string; readonly configFile: string }): string {
  return node.observerSocket ?? posix.join(posix.dirname(node.configFile), 'observer.sock');
}

/** Every namespace of the plan: fabric, ToR, nodes, pods. */
export function planNamespaces(plan: LabPlan): string[] {
  return [plan.fabric.netns, ...(plan.tor === undefined ? [] : [plan.tor.netns]), ...plan.nodes.map((n) => n.netns), ...plan.pods.map((p) => p.netns)];
}

/**
 * The `ip -batch` lines run in the fabric namespace: the bridge, and a veth per node (and
 * the ToR) whose other end is created straight in that namespace as `eth0`: no link is
 * ever made in the host's own namespace.
 */
export function fabricBatch(plan: LabPlan): string {
  const b = plan.fabric.bridge;
  const gateway = `${LAB_ADDRESSING.fabricPrefix}.${LAB_ADDRESSING.gatewayHost}/${LAB_ADDRESSING.fabricLength}`;
  const lines = [`link add ${b} type bridge`, `addr add ${gateway} dev ${b}`, `link set ${b} up`, 'link set lo up'];
  const ports = [...(plan.tor === undefined ? [] : [{ port: plan.tor.fabricPort, netns: plan.tor.netns }]), ...plan.nodes.map((n) => ({ port: n.fabricPort, netns: n.netns }))];
  for (const { port, netns } of ports) lines.push(`link add ${port} type veth peer name eth0 netns ${netns}`, `link set ${port} master ${b}`, `link set ${port} up`);
  return `${lines.join('\n')}\n`;
}

/**
 * The `ip -batch` lines of a node's or the ToR's namespace: loopback up, `eth0` addressed
 * and up, a default route to the fabric's bridge. A node needs one as a real node has:
 * the kernel answers a pod's ARP for its gateway 169.254.1.1 by proxy only when the node
 * can route that address.
 */
export function uplinkBatch(address: string): string {
  const gateway = `${LAB_ADDRESSING.fabricPrefix}.${LAB_ADDRESSING.gatewayHost}`;
  return `link set lo up\naddr add ${address}/${LAB_ADDRESSING.fabricLength} dev eth0\nlink set eth0 up\nroute add default via ${gateway}\n`;
}

/**
 * A node's twill-agent configuration (agent README): its name and address, the shared
 * datastore, its own sockets (CNI, API, flow observer), health and dashboard addresses, the lab's dataplane, BGP routing, one pool.
 */
export function agentConfigText(plan: LabPlan, node: NodePlan): string {
  return stringify({
    nodeName: node.name,
    dataDir: plan.dataDir,
    agentSocket: node.agentSocket,
    api: { socket: node.apiSocket },
    network: LAB_ADDRESSING.network,
    dataplane: plan.spec.dataplane,
    nodeAddresses: { ipv4: `${node.address}/${LAB_ADDRESSING.fabricLength}` },
    routing: 'bgp',
    http: { listen: LAB_ADDRESSING.httpListen },
    ui: { listen: LAB_ADDRESSING.uiListen },
    flows: { socket: node.observerSocket },
    logLevel: 'info',
    cni: { binDir: plan.binDir, confDir: node.confDir, mtu: 1500, pools: [{ ...LAB_ADDRESSING.pool }] },
  });
}

/**
 * BIRD 2's configuration for the ToR: an iBGP route reflector in the nodes' AS, every
 * node a client, passive (the nodes connect: their retry is 2 s, BIRD's 120 s), `direct`
 * (iBGP is multihop by default in BIRD; the nodes share the fabric's segment, so next hops
 * are kept and resolved on it); nothing goes to its kernel table.
 */
export function birdConfigText(plan: LabPlan): string {
  if (plan.tor === undefined) throw new Error('birdConfigText: the lab has no ToR');
  const as = LAB_ADDRESSING.asNumber;
  const lines = [
    `# twill lab ${plan.id}: the top-of-rack router (written by twill lab up)`,
    `router id ${plan.tor.address};`,
    `log "${plan.tor.logFile}" all;`,
    'protocol device {}',
    'template bgp lab_node {',
    `  local ${plan.tor.address} as ${as};`,
    '  rr client;',
    '  passive on;',
    '  direct;',
    '  ipv4 { import all; export all; };',
    '}',
    ...plan.nodes.map((n) => `protocol bgp ${n.name.replaceAll('-', '_')} from lab_node { neighbor ${n.address} as ${as}; }`),
    '',
  ];
  return lines.join('\n');
}

/** A resource as the agent's API takes it. */
export interface LabResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: Readonly<Record<string, unknown>>;
  readonly [field: string]: unknown;
}

/**
 * What the lab writes to the datastore before any pod is added: with a ToR, the mesh off
 * and the ToR as every node's BGPPeer; the namespaces; each pod with its labels and node.
 */
export function labResources(plan: LabPlan): LabResource[] {
  const resources: LabResource[] = [];
  if (plan.tor !== undefined) {
    resources.push(
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false, asNumber: LAB_ADDRESSING.asNumber } },
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: plan.tor.address, asNumber: LAB_ADDRESSING.asNumber } },
    );
  }
  for (const ns of labNamespaces(plan.spec)) resources.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: ns.labels } });
  for (const pod of plan.pods) {
    resources.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.spec.name, namespace: pod.spec.namespace, labels: pod.spec.labels }, spec: { nodeName: pod.node.name } });
  }
  return resources;
}

/** The block of a pool holding `address` (`10.244.0.67` → `10.244.0.64/26`). */
export function blockOf(address: string, blockSize: number = LAB_ADDRESSING.pool.blockSize): string {
  const parts = address.split('.').map(Number);
  const value = ((parts[0] ?? 0) * 2 ** 24 + (parts[1] ?? 0) * 2 ** 16 + (parts[2] ?? 0) * 2 ** 8 + (parts[3] ?? 0)) >>> 0;
  const base = Math.floor(value / 2 ** (32 - blockSize)) * 2 ** (32 - blockSize);
  return `${[24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256).join('.')}/${blockSize}`;
}

/**
 * The conflist install-cni writes for `node`, made from another node's: the same file
 * but for the node's name (the pools' affinity) and its agent's socket.
 */
export function conflistForNode(text: string, from: NodePlan, node: NodePlan): string {
  const list = JSON.parse(text) as { plugins: Record<string, unknown>[] };
  for (const plugin of list.plugins) {
    if (plugin['type'] !== 'twill') continue;
    if (plugin['agentSocket'] === from.agentSocket) plugin['agentSocket'] = node.agentSocket;
    const ipam = plugin['ipam'] as Record<string, unknown> | undefined;
    if (ipam?.['nodeName'] === from.name) ipam['nodeName'] = node.name;
  }
  return `${JSON.stringify(list, null, 2)}\n`;
}

/** `birdc show protocols` lines of BGP protocols as (name, state, info). */
export function parseBirdProtocols(text: string): { name: string; state: string; info: string }[] {
  const rows: { name: string; state: string; info: string }[] = [];
  for (const line of text.split('\n')) {
    // name  proto  table  state  since  info   (since: hh:mm:ss.sss, a date before it on older days)
    const match = /^(\S+)\s+BGP\s+\S+\s+(\S+)\s+(?:\d{4}-\d\d-\d\d\s+)?\d\d:\d\d:\d\d(?:\.\d+)?\s*(.*)$/.exec(line);
    if (match !== null) rows.push({ name: match[1] as string, state: match[2] as string, info: (match[3] ?? '').trim() });
  }
  return rows;
}
