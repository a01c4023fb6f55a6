// The real `twill-agent` executable (from the sources) on a NodeLab's scratch node, for
// the root tests: its configuration file, `install-cni` (the DaemonSet's init container),
// resources put in the datastore it watches, `run` inside the node namespace (with eBPF, a
// bpffs of its own in the private mount namespace `ip netns exec` makes: nothing is
// pinned in the host's), the wait until it is ready, GETs on its HTTP server in the node's
// loopback, and the SIGKILL of a run still going (by its PID) in afterEach.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { expect, vi } from 'vitest';
import { parse } from 'yaml';

import { openResourceDatastore } from '../../src/agent/datastore/index.js';
import { type AgentResource, type ApplyOutcome } from '../../src/agent/ports.js';
import { type NodeLab } from '../plugin/node-lab.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'twill-agent.js');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** Node's arguments that run `twill-agent` from the sources; its own arguments follow. */
export const AGENT_ARGS: readonly string[] = ['--conditions=@twill/source', '--import', TSX, BIN];
/** Where the agent's HTTP server listens, in the node namespace. */
const HTTP_LISTEN = '127.0.0.1:9099';
/** How much of the agent's output is kept (its end). */
const OUTPUT_KEPT = 20_000;

/**
 * The seed tutorial's resources: pods frontend, api and other of `default` (labelled app=
 * their name) and its l7-api-policy (the fixture the Kubernetes tests apply).
 */
export async function seedResources(): Promise<AgentResource[]> {
  const pod = (name: string): AgentResource => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: { containers: [{ name: 'c', image: 'img' }] },
  });
  const policy = parse(await readFile(join(import.meta.dirname, '..', 'kubernetes', 'fixtures', 'seed', 'l7-api-policy.yaml'), 'utf8')) as AgentResource;
  return [pod('frontend'), pod('api'), pod('other'), policy];
}

/** What a command run to its end printed, and its exit code (null when killed, e.g. by the timeout). */
export interface RunResult {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** Its standard output. */
  readonly stdout: string;
  /** Its standard error. */
  readonly stderr: string;
}

/** Runs `file` with `args` to its end (killed after `timeout` ms) and gives what it printed. */
export function run(file: string, args: readonly string[], timeout = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout }, (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

/** What differs between the root tests' agents; the rest of the configuration is the same for all. */
export interface RealAgentOptions {
  /** `dataplane:` (default nftables). With ebpf, `run` mounts a bpffs of its own first. */
  readonly dataplane?: 'nftables' | 'ebpf';
  /** `routing:` (default none). */
  readonly routing?: 'none' | 'direct';
  /** The pools: IPv4 only (default), or IPv4 and IPv6 so each pod gets an address of each. */
  readonly dualStack?: boolean;
  /** `cni.mtu:`, when set. */
  readonly mtu?: number;
  /** More keys of `flows:` after its socket, as YAML flow-mapping text (e.g. `capacity: 8192`). */
  readonly flows?: string;
  /** `ui:` as a YAML value (e.g. `{enabled: false}`), when set. */
  readonly ui?: string;
  /** More top-level lines of the configuration (e.g. `nodeAddresses: {...}`). */
  readonly extraLines?: readonly string[];
}

/** A GET's HTTP status (0 when no answer came) and body. */
export interface HttpAnswer {
  /** The status, 0 when curl got no answer. */
  readonly status: number;
  /** The body. */
  readonly body: string;
}

/** The real twill-agent on a NodeLab's node: configure, install, seed, start, stop. */
export class RealAgent {
  /** The configuration file `install-cni` and `run` read. */
  readonly configFile: string;
  /** The CNI configuration folder `install-cni` writes the conflist to. */
  readonly confDir: string;
  /** The agent's API socket. */
  readonly apiSocket: string;
  /** The flows observer socket. */
  readonly flowsSocket: string;
  #child: ChildProcess | undefined;
  #exited: Promise<number | null> | undefined;
  #output = '';

  constructor(
    readonly lab: NodeLab,
    readonly options: RealAgentOptions = {},
  ) {
    this.configFile = join(lab.dir, 'agent.yaml');
    this.confDir = join(lab.dir, 'net.d');
    this.apiSocket = join(lab.dir, 'api.sock');
    this.flowsSocket = join(lab.dir, 'flows', 'observer.sock');
  }

  /** The agent's output so far (its last 20,000 characters). */
  get output(): string {
    return this.#output;
  }

  /** The running agent (`ip netns exec` of it); throws before start(). */
  get child(): ChildProcess {
    if (this.#child === undefined) throw new Error('twill-agent is not started');
    return this.#child;
  }

  /** Resolves with the agent's exit code when it exits; throws before start(). */
  get exited(): Promise<number | null> {
    if (this.#exited === undefined) throw new Error('twill-agent is not started');
    return this.#exited;
  }

  /** Writes the configuration file. */
  async writeConfig(): Promise<void> {
    const { dataplane = 'nftables', routing = 'none', dualStack = false, mtu, flows, ui, extraLines = [] } = this.options;
    const pools = dualStack ? '[{cidr: 10.244.0.0/20, blockSize: 26}, {cidr: "fd00:10:244::/116", blockSize: 122}]' : '[{cidr: 10.244.0.0/20, blockSize: 26}]';
    const lines = [
      'nodeName: node-a',
      `dataDir: ${this.lab.dataDir}`,
      `agentSocket: ${this.lab.socketPath}`,
      `api: {socket: ${this.apiSocket}}`,
      'network: twill-test',
      `dataplane: ${dataplane}`,
      `routing: ${routing}`,
      `http: {listen: "${HTTP_LISTEN}"}`,
      ...(ui === undefined ? [] : [`ui: ${ui}`]),
      'logLevel: info',
      `flows: {socket: ${this.flowsSocket}${flows === undefined ? '' : `, ${flows}`}}`,
      ...extraLines,
      'cni:',
      `  binDir: ${join(this.lab.dir, 'bin')}`,
      `  confDir: ${this.confDir}`,
      ...(mtu === undefined ? [] : [`  mtu: ${mtu}`]),
      `  pools: ${pools}`,
      '',
    ];
    await writeFile(this.configFile, lines.join('\n'));
  }

  /** Writes the configuration and runs `twill-agent install-cni` with it (check its result). */
  async installCni(): Promise<RunResult> {
    await this.writeConfig();
    return run(process.execPath, [...AGENT_ARGS, 'install-cni', '--config', this.configFile]);
  }

  /** Applies resources, in order, to the datastore the agent watches (the same SQLite file, another process). */
  async apply(resources: readonly AgentResource[]): Promise<ApplyOutcome[]> {
    await mkdir(this.lab.dataDir, { recursive: true });
    const datastore = await openResourceDatastore({ path: join(this.lab.dataDir, 'twill.db') });
    try {
      const outcomes: ApplyOutcome[] = [];
      for (const resource of resources) outcomes.push(await datastore.apply(resource));
      return outcomes;
    } finally {
      await datastore.close();
    }
  }

  /**
   * Starts `twill-agent run` in the node's namespace, as a hostNetwork DaemonSet pod is, and
   * waits (90 s) until `ready` passes (default: `/readyz` answers 200), failing with the
   * agent's output if it exits first.
   */
  async start(ready: () => Promise<void> = async () => expect((await this.http('/readyz')).status).toBe(200)): Promise<void> {
    const argv = [process.execPath, ...AGENT_ARGS, 'run', '--config', this.configFile];
    const inNetns = this.options.dataplane === 'ebpf' ? ['sh', '-c', 'mount -t bpf bpf /sys/fs/bpf && exec "$@"', 'twill-agent', ...argv] : argv;
    const child = spawn('ip', ['netns', 'exec', this.lab.node.name, ...inNetns], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-OUTPUT_KEPT);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    await vi.waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`twill-agent exited with ${child.exitCode}:\n${this.#output}`);
        await ready();
      },
      { timeout: 90_000, interval: 250 },
    );
  }

  /** GET on the agent's HTTP server, from inside the node namespace (its loopback). */
  async http(path: string): Promise<HttpAnswer> {
    const { stdout } = await run('ip', ['netns', 'exec', this.lab.node.name, 'curl', '-sS', '-m', '10', '-w', '\n%{http_code}', `http://${HTTP_LISTEN}${path}`]);
    const at = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
  }

  /** SIGKILLs the agent if it still runs (by its PID) and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await this.#exited;
    }
  }
}
