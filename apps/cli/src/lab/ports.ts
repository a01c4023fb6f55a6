// The lab's model and its four operations: what `twill lab up|status|exec|down` and the
// demonstration (lab/demo/) share. A lab is a set of network namespaces on this machine:
// a fabric (a bridge joining the nodes), one namespace per node running a real
// twill-agent, pods as namespaces added through real CNI ADD calls, and optionally a BIRD
// "top-of-rack" router every node peers with. Everything it makes is written to
// `<dir>/lab.json` as it is made, so `labDown` works after a crash.
//
// The demonstration (lab/demo/index.ts) plugs in at three points:
// - the spec: `pods: demoLabPods(nodes, podsPerNode)`, `namespaces: DEMO_NAMESPACES`
//   (the tutorial's roles, labels and namespaces);
// - after `labUp` resolves: `await runDemonstration(lab, cliIo, { labDirOption, twillCommand })`
//   (starts a server per role pod, applies the policies through node 1's API socket,
//   prints the matrices and the explore hints to `cliIo.stdout`; throws plain Errors);
// - `labDown`: `stopServersOf(demoFiles(dir).servers)` stops the pod servers by PID and
//   start time (they also die with "any process still in a lab namespace").

import { type L7StatusView } from '../client/index.js';

/** The policy dataplanes an agent of the lab may run. */
export const LAB_DATAPLANES = ['nftables', 'ebpf'] as const;
/** One of {@link LAB_DATAPLANES}. */
export type LabDataplane = (typeof LAB_DATAPLANES)[number];

/** How nodes learn each other's pod blocks: peering with a BIRD ToR, or a full node-to-node mesh. */
export const LAB_TORS = ['bird', 'none'] as const;
/** One of {@link LAB_TORS}. */
export type LabTorKind = (typeof LAB_TORS)[number];

/** A pod the lab creates on a node. */
export interface LabPodSpec {
  /** The pod's name (DNS-1123 label), unique within its namespace. */
  readonly name: string;
  /** Its Kubernetes namespace (DNS-1123 label). */
  readonly namespace: string;
  /** The index of its node, 0 to `nodes - 1`. */
  readonly node: number;
  /** Its labels, written as the Pod resource's `metadata.labels` before its ADD. */
  readonly labels: Readonly<Record<string, string>>;
}

/** A Kubernetes namespace the lab writes as a Namespace resource (pods' namespaces are written anyway). */
export interface LabNamespaceSpec {
  readonly name: string;
  /** Its labels (`kubernetes.io/metadata.name` is always added, as the API server does). */
  readonly labels: Readonly<Record<string, string>>;
}

/** What `labUp` builds. */
export interface LabSpec {
  /** Number of nodes, 1 to 16. */
  readonly nodes: number;
  /** Pods per node when `pods` is not given (0 to 32): `pod-<node>-<i>` in namespace `default`, labelled `app: pod-<node>-<i>`. */
  readonly podsPerNode: number;
  readonly dataplane: LabDataplane;
  readonly tor: LabTorKind;
  /** The lab's folder (absolute): state file, datastore, agents' config, sockets and logs; `<dir>/demo` is the demonstration's (down removes it too). */
  readonly dir: string;
  /** The pods to create, replacing the `podsPerNode` layout (the demonstration's roles). */
  readonly pods?: readonly LabPodSpec[];
  /** Namespaces with labels to write before the pods. */
  readonly namespaces?: readonly LabNamespaceSpec[];
}

/** The fabric: a bridge in a namespace of its own, one veth per node (and the ToR's). */
export interface LabFabric {
  /** Its network namespace's name. */
  readonly netns: string;
  /** The bridge's name inside it. */
  readonly bridge: string;
  /** The nodes' subnet (`172.31.250.0/24`). */
  readonly cidr: string;
}

/** A node: a namespace running twill-agent. */
export interface LabNode {
  /** The node name (`node-1`): the agent's, the Node resource's, the block's affinity. */
  readonly name: string;
  /** Its network namespace's name (`twl-<id>-node-1`). */
  readonly netns: string;
  /** Its fabric address without the length (`172.31.250.11`): router id, BGP next hop. */
  readonly address: string;
  /** The pool block it holds (`10.244.0.64/26`); undefined while no pod of it has an address. */
  readonly block: string | undefined;
  /** The twill-agent process's PID (the `ip netns exec` wrapper execs into it). */
  readonly agentPid: number;
  /** The agent's CNI socket (what the forwarder dials; `TWILL_AGENT_SOCKET`). */
  readonly agentSocket: string;
  /** The agent's API socket (API.md), on the host's file system. */
  readonly apiSocket: string;
  /** Its health server, on the node namespace's loopback (`127.0.0.1:9099`). */
  readonly httpListen: string;
  /** The agent's log file (pino JSON lines). */
  readonly logFile: string;
  /** Its configuration file. */
  readonly configFile: string;
  /** Its CNI configuration folder (`<dir>/net.d/<node>`), holding the conflist install-cni wrote. */
  readonly confDir: string;
  /** The agent's flow observer socket (`flows.socket`; `twill observe --lab` reads it); absent in labs of older versions. */
  readonly observerSocket?: string;
}

/** A pod: a namespace with `eth0` plumbed by twill through a CNI ADD. */
export interface LabPod {
  readonly name: string;
  readonly namespace: string;
  /** Its node's name. */
  readonly node: string;
  /** Its network namespace's name; `/run/netns/<netns>` is the path the ADD got. */
  readonly netns: string;
  /** Its IPv4 address without the length. */
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The CNI container id of its attachment. */
  readonly containerId: string;
}

/** The BIRD top-of-rack router (a route reflector every node peers with over iBGP). */
export interface LabTor {
  readonly kind: 'bird';
  readonly netns: string;
  /** Its fabric address without the length. */
  readonly address: string;
  readonly asNumber: number;
  /** The bird process's PID. */
  readonly pid: number;
  /** `birdc -s <controlSocket> show route` reads its table. */
  readonly controlSocket: string;
  readonly configFile: string;
}

/** A lab that is up. */
export interface Lab {
  /** Random hex naming this lab's namespaces (`twl-<id>-...`). */
  readonly id: string;
  readonly dir: string;
  readonly spec: LabSpec;
  readonly fabric: LabFabric;
  readonly nodes: readonly LabNode[];
  readonly pods: readonly LabPod[];
  /** The ToR when `spec.tor` is `bird`. */
  readonly tor: LabTor | undefined;
  /** The one IP pool (`10.244.0.0/16`) and its block size (26). */
  readonly pool: { readonly cidr: string; readonly blockSize: number };
  /** The AS every node is in (Calico's 64512). */
  readonly asNumber: number;
  /** The embedded datastore every agent shares (`<dir>/data/twill.db`). */
  readonly datastore: string;
  /** Where the plugin binaries are (`<dir>/bin`: `twill`, `twill.standalone`). */
  readonly cniBinDir: string;
  /** When `up` finished (ISO 8601). */
  readonly upAt: string;
}

/** A step of `labUp`, as it is reported. */
export interface LabProgress {
  /** What the step does, in a few words (`agents started on 3 nodes`). */
  readonly step: string;
  readonly state: 'started' | 'done' | 'failed';
  /** Milliseconds since `up` began, when done or failed. */
  readonly elapsedMs?: number;
  /** A short detail (addresses, counts, the error). */
  readonly detail?: string;
}

/** What `labUp` reports through. */
export interface LabIo {
  progress(event: LabProgress): void;
}

/** Options of {@link LabExec}. */
export interface LabExecOptions {
  /** `inherit`: the command writes to this process's streams (the CLI); `pipe` (default): captured. */
  readonly stdio?: 'inherit' | 'pipe';
  /** Kill the command after this many milliseconds (default: no limit). */
  readonly timeoutMs?: number;
}

/** How a command run in a pod ended. */
export interface LabExecResult {
  /** Its exit code; 128 + the signal number when killed by a signal. */
  readonly exitCode: number;
  /** Captured output (empty with `stdio: 'inherit'`). */
  readonly stdout: string;
  readonly stderr: string;
}

/** A node as `labStatus` sees it now. */
export interface LabNodeStatus {
  readonly node: LabNode;
  /** Whether the agent's PID is still that process (same start time) and running. */
  readonly agentAlive: boolean;
  /** Its BGP sessions from the agent's API (`peer` address, FSM `state`); empty when the agent does not answer. */
  readonly bgpSessions: readonly { readonly peer: string; readonly state: string }[];
  /** What kept the status from being read (`agent not answering on <socket>`). */
  readonly problem?: string;
  /** The agent's L7 proxy, from its `/v1/status` (absent when the agent does not answer, or is older than issue 14). */
  readonly l7?: L7StatusView;
}

/** `labStatus`'s answer. */
export interface LabStatus {
  readonly lab: Lab;
  readonly nodes: readonly LabNodeStatus[];
  /** The ToR's process running, and its BGP sessions' states by node address (from `birdc show protocols`). */
  readonly tor?: { readonly alive: boolean; readonly sessions: readonly { readonly peer: string; readonly state: string }[] };
}

/** What `labDown` did. */
export interface LabDownReport {
  /** False when there was nothing to remove (no state file and nothing of a lab found). */
  readonly wasUp: boolean;
  /** Each thing removed, in words (`namespace twl-1a2b-node-1`, `process 4242 (twill-agent node-1)`). */
  readonly removed: readonly string[];
  /** What could not be removed, with the reason (empty when all went). */
  readonly problems: readonly string[];
}

/**
 * Brings a lab up in `spec.dir` and resolves once every pod has its address and every
 * node has a route to every other node's block.
 * @throws LabError `ALREADY_UP` when `spec.dir` holds a lab (run `labDown` first); on any
 * other failure it removes what it made and throws a LabError naming the step.
 */
export type LabUp = (spec: LabSpec, io: LabIo) => Promise<Lab>;

/**
 * Removes everything the lab in `dir` made: processes (by PID from the state file, and
 * any process still in a lab namespace), namespaces and their links, the lab's files.
 * Idempotent; after a crash it removes what the state file says was made.
 */
export type LabDown = (dir: string) => Promise<LabDownReport>;

/** The lab in `dir` now, or undefined when none is up. */
export type LabStatusOf = (dir: string) => Promise<LabStatus | undefined>;

/**
 * Runs `argv` in a pod's network namespace. `pod` is `name` or `namespace/name`.
 * @throws LabError `NOT_UP`, `NO_SUCH_POD` (with the pods there are), `AMBIGUOUS_POD`.
 */
export type LabExec = (dir: string, pod: string, argv: readonly string[], options?: LabExecOptions) => Promise<LabExecResult>;
