// A real twill-agent for the CLI's tests: a process started from the agent's sources
// on a temporary data folder, its CNI and API sockets in that folder, its health server
// on a free port, no dataplane and no routing (nothing in the kernel changes). Tests
// start it in beforeAll and stop it in afterAll; stop() kills only the PID it started
// and removes the folder even when the test failed.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { AgentApiError, AgentUnreachableError, createAgentClient, unixHttpTransport, type AgentClient } from '@twill/cli';

/** The agent's executable, from this repository's sources. */
export const AGENT_BIN = resolve(import.meta.dirname, '../../agent/bin/twill-agent.js');

/** How long the agent may take to start on a loaded machine, in milliseconds. */
export const AGENT_START_TIMEOUT_MS = 90_000;

/** A running test agent. */
export interface TestAgent {
  /** The temporary folder holding its configuration, data and sockets. */
  readonly dir: string;
  /** The API socket the CLI talks to (`--agent-socket`). */
  readonly apiSocket: string;
  /** The CNI socket the `twill` plugin's forwarder calls (`TWILL_AGENT_SOCKET`). */
  readonly agentSocket: string;
  /** Its configuration file (JSON). */
  readonly configFile: string;
  readonly dataDir: string;
  /** Its node name, unique per agent: `twt-cli-` and 8 random characters. */
  readonly nodeName: string;
  readonly pid: number;
  /** A client on its API (errors reported as the `harness` command). */
  readonly client: AgentClient;
  /** What it printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGTERM to its PID, then SIGKILL if it has not exited within 20 s; removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startTestAgent}. */
export interface TestAgentOptions {
  /** Extra top-level settings of the agent's configuration file (YAML as JSON). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** A network namespace to run it in (`ip netns exec`; root), as a node's hostNetwork pod. */
  readonly netns?: string;
}

const AGENT_ARGS = ['--conditions=@twill/source', '--import', 'tsx', AGENT_BIN];

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((done) => child.once('exit', () => done()));
}

/**
 * Starts `twill-agent run` on a fresh temporary folder and resolves once its API
 * answers `/v1/status` with `ready: true`.
 * @throws when the agent exits first or is not ready within {@link AGENT_START_TIMEOUT_MS}
 *   (with its output); the process is stopped and the folder removed first.
 */
export async function startTestAgent(options: TestAgentOptions = {}): Promise<TestAgent> {
  const dir = await mkdtemp(join(tmpdir(), 'twt-cli-'));
  // Always 16 characters, so tables that show it keep their widths from run to run.
  const nodeName = `twt-cli-${Math.random().toString(36).slice(2).padEnd(8, '0').slice(0, 8)}`;
  const apiSocket = join(dir, 'api.sock');
  const dataDir = join(dir, 'data');
  const agentSocket = join(dir, 'agent.sock');
  const config = {
    nodeName,
    dataDir,
    agentSocket,
    api: { socket: apiSocket },
    dataplane: 'none',
    routing: 'none',
    nodeAddresses: { ipv4: '192.0.2.10/24' },
    http: { listen: '127.0.0.1:0' },
    // Its own flow observer socket: the default (/run/twill/observer.sock) is one per machine.
    flows: { socket: join(dir, 'observer.sock') },
    // Its own dashboard port: the default (127.0.0.1:9098) is one per machine.
    ui: { listen: '127.0.0.1:0' },
    logLevel: 'warn',
    ...options.config,
  };
  const configFile = join(dir, 'agent.json');
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);

  let output = '';
  const command = [process.execPath, ...AGENT_ARGS, 'run', '--config', configFile];
  // `ip netns exec` enters the namespace and execs node: the PID is the agent's.
  const [file = '', ...args] = options.netns === undefined ? command : ['ip', 'netns', 'exec', options.netns, ...command];
  const child = spawn(file, args, {
    cwd: resolve(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  const pid = child.pid;

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
        process.kill(pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((done) => (timer = setTimeout(() => done('late'), 20_000)));
        if ((await Promise.race([exited(child), late])) === 'late' && child.exitCode === null && child.signalCode === null) {
          process.kill(pid, 'SIGKILL');
          await exited(child);
        }
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const client = createAgentClient({ transport: unixHttpTransport(apiSocket, { timeoutMs: 10_000 }), socketPath: apiSocket, command: 'harness' });
  const agent: TestAgent = { dir, apiSocket, agentSocket, configFile, dataDir, nodeName, pid: pid ?? -1, client, output: () => output, stop };
  try {
    if (pid === undefined) throw new Error(`could not start ${AGENT_BIN}`);
    await waitReady(agent, child);
    return agent;
  } catch (error) {
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- twill-agent output ---\n${output}`, { cause: error });
  }
}

async function waitReady(agent: TestAgent, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + AGENT_START_TIMEOUT_MS;
  let last = 'no answer yet';
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`twill-agent exited (${child.exitCode ?? child.signalCode}) before its API at ${agent.apiSocket} was ready`);
    }
    try {
      const status = await agent.client.status();
      if (status.ready) return;
      last = `not ready: ${status.notReady.join(', ')}`;
    } catch (error) {
      if (!(error instanceof AgentUnreachableError || error instanceof AgentApiError)) throw error;
      last = error.line();
    }
    if (Date.now() > deadline) throw new Error(`twill-agent's API at ${agent.apiSocket} was not ready within ${AGENT_START_TIMEOUT_MS / 1000} s (${last})`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

/**
 * `twill-agent install-cni` with the agent's configuration: the `twill` forwarder in
 * `cni.binDir` and the conflist in `cni.confDir` (set them under `config.cni`).
 * @throws with its output when it fails.
 */
export async function installCni(agent: TestAgent): Promise<void> {
  const child = spawn(process.execPath, [...AGENT_ARGS, 'install-cni', '--config', agent.configFile], { cwd: resolve(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  await exited(child);
  if (child.exitCode !== 0) throw new Error(`twill-agent install-cni exited with ${child.exitCode ?? child.signalCode}:\n${output}`);
}
