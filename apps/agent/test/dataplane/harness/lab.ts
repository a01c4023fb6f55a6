// The harness's small cluster: a scratch "node" namespace and one namespace per pod,
// plumbed as ARCHITECTURE.md says (pod eth0 with IP/32 and a default route via
// 169.254.1.1; host side with proxy ARP and a /32 route; routed, no bridge). Every pod
// runs one long-lived probe agent (probe-agent.mjs) serving TCP and UDP on the lab's
// ports and making connections on request.

import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import readline from 'node:readline';

import { NetworkScratch, testName, type ScratchNetns } from '@twill/sys/testing';

import { type EndpointAttachment } from '../../../src/dataplane/port.js';

/** A pod to create: its index key (`x/a`) and IPv4 address. */
export interface LabPodSpec {
  readonly key: string;
  readonly ip: string;
}

/** A pod of the lab. */
export interface LabPod extends LabPodSpec {
  readonly netns: string;
  /** The host-side veth, in the node namespace. */
  readonly hostInterface: string;
}

/** The transport protocols the harness probes. */
export type ProbeProtocol = 'TCP' | 'UDP';

/** One probe: a new connection (TCP) or a datagram and its echo (UDP). */
export interface ProbeRequest {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: ProbeProtocol;
}

const AGENT = join(import.meta.dirname, 'probe-agent.mjs');

/** Source ports the lab hands out in turn: never the same 4-tuple twice, so no stale conntrack entry answers for a probe. */
const SOURCE_PORTS = { first: 20000, last: 59999 } as const;

class Agent {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting = new Map<number, (answer: { ok: boolean; error?: string }) => void>();
  #next = 1;
  readonly ready: Promise<void>;

  constructor(netns: string, ports: readonly number[]) {
    this.#child = spawn('ip', ['netns', 'exec', netns, process.execPath, AGENT, ...ports.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    this.#child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    this.ready = new Promise((resolve, reject) => {
      this.#child.once('exit', (code) => reject(new Error(`probe agent in ${netns} exited (${code}): ${stderr}`)));
      readline.createInterface({ input: this.#child.stdout }).on('line', (line) => {
        const message = JSON.parse(line) as { ready?: boolean; id?: number; ok: boolean; error?: string };
        if (message.ready === true) resolve();
        else if (message.ready === false) reject(new Error(`probe agent in ${netns}: ${message.error}`));
        else if (message.id !== undefined) {
          this.#waiting.get(message.id)?.(message);
          this.#waiting.delete(message.id);
        }
      });
    });
  }

  request(request: Record<string, unknown>): Promise<{ ok: boolean; error?: string }> {
    const id = this.#next;
    this.#next += 1;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#child.stdin.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  get id(): number {
    return this.#next;
  }

  stop(): void {
    if (this.#child.exitCode === null && this.#child.pid !== undefined) this.#child.kill('SIGKILL');
  }
}

/** A long-lived TCP connection between two pods. */
export interface HeldConnection {
  /** Sends data and waits for its echo: whether the connection still carries traffic. */
  echo(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The lab. `create` builds it; `close` kills the agents and removes every namespace
 * (and with them every link and the nft table inside), even after a failure.
 */
export class DataplaneLab {
  readonly node: string;
  readonly pods: readonly LabPod[];
  readonly ports: readonly number[];
  readonly #scratch: NetworkScratch;
  readonly #agents: Map<string, Agent>;
  readonly #byKey: Map<string, LabPod>;
  #sourcePort = SOURCE_PORTS.first + Math.floor(Math.random() * 1000);

  private constructor(scratch: NetworkScratch, node: string, pods: LabPod[], ports: readonly number[], agents: Map<string, Agent>) {
    this.#scratch = scratch;
    this.node = node;
    this.pods = pods;
    this.ports = ports;
    this.#agents = agents;
    this.#byKey = new Map(pods.map((p) => [p.key, p]));
  }

  /** Creates the node and pod namespaces, the veths, and starts the agents. Needs root. */
  static async create(options: { readonly pods: readonly LabPodSpec[]; readonly ports: readonly number[] }): Promise<DataplaneLab> {
    const scratch = new NetworkScratch();
    const agents = new Map<string, Agent>();
    try {
      const node = scratch.netns();
      const pods: LabPod[] = [];
      // Proxy ARP answers for 169.254.1.1 only when the node routes it elsewhere than the
      // asking veth; a real node's default route does that, this one stands in for it.
      const nodeBatch: string[] = ['route add default dev lo'];
      const sysctls = ['net.ipv4.ip_forward=1'];
      for (const spec of options.pods) {
        const pod: ScratchNetns = scratch.netns();
        const hostInterface = testName();
        const peer = testName();
        scratch.ip(node, 'link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', peer, 'netns', pod.name);
        plumbPod(pod.name, peer, spec.ip);
        nodeBatch.push(`link set ${hostInterface} up`, `route add ${spec.ip}/32 dev ${hostInterface}`);
        sysctls.push(`net.ipv4.conf.${hostInterface}.proxy_arp=1`, `net.ipv4.neigh.${hostInterface}.proxy_delay=0`);
        pods.push({ ...spec, netns: pod.name, hostInterface });
      }
      execFileSync('ip', ['-n', node.name, '-batch', '-'], { input: `${nodeBatch.join('\n')}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
      execFileSync('ip', ['netns', 'exec', node.name, 'sysctl', '-q', '-w', ...sysctls], { stdio: ['ignore', 'ignore', 'pipe'] });
      for (const pod of pods) agents.set(pod.key, new Agent(pod.netns, options.ports));
      await Promise.all([...agents.values()].map((a) => a.ready));
      return new DataplaneLab(scratch, node.name, pods, options.ports, agents);
    } catch (error) {
      for (const agent of agents.values()) agent.stop();
      scratch.cleanup();
      throw error;
    }
  }

  /** The attachments of every pod, for `Dataplane.apply`. */
  attachments(): EndpointAttachment[] {
    return this.pods.map((p) => ({ key: p.key, hostInterface: p.hostInterface }));
  }

  /** The pod of a key. @throws when the lab has no such pod. */
  pod(key: string): LabPod {
    const pod = this.#byKey.get(key);
    if (pod === undefined) throw new Error(`the lab has no pod ${key}`);
    return pod;
  }

  /** The next source port: each probe gets its own, so conntrack never sees a 4-tuple twice. */
  nextSourcePort(): number {
    const port = this.#sourcePort;
    this.#sourcePort = port >= SOURCE_PORTS.last ? SOURCE_PORTS.first : port + 1;
    return port;
  }

  /** One attempt: whether the connection (TCP) or the echo (UDP) got through within `timeoutMs`. */
  async attempt(probe: ProbeRequest, timeoutMs: number, sourcePort = this.nextSourcePort()): Promise<boolean> {
    const agent = this.#agents.get(probe.from);
    if (agent === undefined) throw new Error(`the lab has no pod ${probe.from}`);
    const answer = await agent.request({ op: probe.protocol === 'TCP' ? 'tcp' : 'udp', host: this.pod(probe.to).ip, port: probe.port, sourcePort, timeoutMs });
    return answer.ok;
  }

  /** Opens a TCP connection held by the source pod's agent. @throws when it cannot connect. */
  async hold(from: string, to: string, port: number, timeoutMs = 2000): Promise<HeldConnection> {
    const agent = this.#agents.get(from);
    if (agent === undefined) throw new Error(`the lab has no pod ${from}`);
    const id = agent.id;
    const answer = await agent.request({ op: 'open', host: this.pod(to).ip, port, sourcePort: this.nextSourcePort(), timeoutMs });
    if (!answer.ok) throw new Error(`cannot connect ${from} -> ${to}:${port}: ${answer.error ?? 'timeout'}`);
    return {
      echo: async (echoTimeoutMs = 1000) => (await agent.request({ op: 'echo', conn: id, timeoutMs: echoTimeoutMs })).ok,
      close: async () => {
        await agent.request({ op: 'close', conn: id });
      },
    };
  }

  /** Kills the agents and removes every namespace. */
  close(): void {
    for (const agent of this.#agents.values()) agent.stop();
    this.#scratch.cleanup();
  }
}

function plumbPod(netns: string, link: string, ip: string): void {
  const batch = [
    `link set ${link} name eth0`,
    'link set eth0 up',
    `addr add ${ip}/32 dev eth0`,
    'route add 169.254.1.1 dev eth0 scope link',
    'route add default via 169.254.1.1 dev eth0',
  ];
  execFileSync('ip', ['-n', netns, '-batch', '-'], { input: `${batch.join('\n')}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
}
