// A scratch node running the real twill-agent on the Kubernetes datastore, for the root
// tests: NodeLab's node namespace (test/plugin/node-lab.ts), the API test server made
// reachable inside it, `install-cni` and `run` as the DaemonSet runs them.
//
// The API test server listens on the host's loopback, which a process in the node
// namespace cannot reach (each namespace has its own loopback), and the tests must not
// connect the node to the host's interfaces. Unix sockets on the filesystem are not per
// namespace: a relay in the node namespace listens on 127.0.0.1:<the server's port> and
// passes each connection through a socket file to a relay in this process, which connects
// to the server. The kubeconfig (URL http://127.0.0.1:<port>) is then the same in both.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { loadNetworkConfigListFromDir, type NetworkConfigList } from '@twill/cni-core';
import { type ScratchNetns } from '@twill/sys/testing';
import { vi } from 'vitest';

import { type NodeLab } from '../plugin/node-lab.js';
import { type KubernetesTestServer } from './api-server.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'twill-agent.js');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const AGENT_ARGS = ['--conditions=@twill/source', '--import', TSX, BIN];

function run(file: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: 120_000 }, (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

// Each side's end goes to the other; an error or close on one destroys both.
function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const destroy = (): void => {
    a.destroy();
    b.destroy();
  };
  a.once('error', destroy).once('close', destroy);
  b.once('error', destroy).once('close', destroy);
}

// The node side: TCP on the node's loopback to the socket file.
const NODE_RELAY = `const net=require('net');const [port,path]=process.argv.slice(1);net.createServer(c=>{const u=net.connect(path);c.pipe(u);u.pipe(c);const d=()=>{c.destroy();u.destroy()};c.on('error',d).on('close',d);u.on('error',d).on('close',d)}).listen(+port,'127.0.0.1',()=>console.log('ready'))`;

/** Makes the API test server reachable at its own URL inside `node`; the returned function stops both relays. */
export async function relayApiInto(api: KubernetesTestServer, node: ScratchNetns, dir: string): Promise<() => Promise<void>> {
  const port = Number(new URL(api.url).port);
  const path = join(dir, 'api-relay.sock');
  const sockets = new Set<Socket>();
  const host: Server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    splice(client, connect(port, '127.0.0.1'));
  });
  await new Promise<void>((resolve, reject) => host.once('error', reject).listen(path, resolve));
  const child = execFile('ip', ['netns', 'exec', node.name, process.execPath, '-e', NODE_RELAY, String(port), path]);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the API relay in ${node.name} exited with ${code}`)));
  });
  return async () => {
    child.kill('SIGKILL');
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => host.close(() => resolve()));
  };
}

/** Options of {@link KubernetesAgentNode.start}. */
export interface KubernetesAgentNodeOptions {
  readonly nodeName: string;
  readonly dataplane: 'nftables' | 'ebpf';
  /** The pools of the conflist (default 10.244.0.0/20 in /26 blocks). */
  readonly pools?: string;
}

/** twill-agent on the Kubernetes datastore in a NodeLab's node namespace. */
export class KubernetesAgentNode {
  readonly lab: NodeLab;
  readonly confDir: string;
  readonly #child: ChildProcess;
  #output = '';

  private constructor(lab: NodeLab, child: ChildProcess) {
    this.lab = lab;
    this.confDir = join(lab.dir, 'net.d');
    this.#child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
  }

  /**
   * Writes the agent's configuration and kubeconfig, runs `install-cni` (the conflist says
   * datastore kubernetes) and starts `twill-agent run` in the node namespace; resolves
   * once /readyz answers 200.
   */
  static async start(lab: NodeLab, api: KubernetesTestServer, options: KubernetesAgentNodeOptions): Promise<KubernetesAgentNode> {
    const kubeconfig = join(lab.dir, 'kubeconfig');
    await writeFile(kubeconfig, api.kubeconfigYaml(), { mode: 0o600 });
    const configFile = join(lab.dir, 'agent.yaml');
    await writeFile(
      configFile,
      [
        `nodeName: ${options.nodeName}`,
        `dataDir: ${lab.dataDir}`,
        `datastore: {type: kubernetes, kubeconfig: ${kubeconfig}, namespace: twill-system}`,
        `agentSocket: ${lab.socketPath}`,
        `api: {socket: ${join(lab.dir, 'api.sock')}}`,
        `flows: {socket: ${join(lab.dir, 'observer.sock')}}`,
        'network: twill-test',
        `dataplane: ${options.dataplane}`,
        'routing: none',
        'http: {listen: "127.0.0.1:9099"}',
        'logLevel: info',
        'cni:',
        `  binDir: ${join(lab.dir, 'bin')}`,
        `  confDir: ${join(lab.dir, 'net.d')}`,
        '  mtu: 1400',
        `  pools: [${options.pools ?? '{cidr: 10.244.0.0/20, blockSize: 26}'}]`,
        '',
      ].join('\n'),
    );
    const install = await run(process.execPath, [...AGENT_ARGS, 'install-cni', '--config', configFile]);
    if (install.code !== 0) throw new Error(`install-cni failed (${install.code}): ${install.stderr}`);
    // With eBPF, a bpffs of its own in the private mount namespace `ip netns exec` makes (as
    // `twill lab` does): nothing is pinned in the host's /sys/fs/bpf.
    const argv = [process.execPath, ...AGENT_ARGS, 'run', '--config', configFile];
    const inNetns = options.dataplane === 'ebpf' ? ['sh', '-c', 'mount -t bpf bpf /sys/fs/bpf && exec "$@"', 'twill-agent', ...argv] : argv;
    const child = spawn('ip', ['netns', 'exec', lab.node.name, ...inNetns], { stdio: ['ignore', 'pipe', 'pipe'] });
    const node = new KubernetesAgentNode(lab, child);
    try {
      await vi.waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`twill-agent exited with ${child.exitCode}:\n${node.output}`);
          const readyz = await node.http('/readyz');
          if (readyz.status !== 200) throw new Error(`not ready yet (${readyz.status}): ${readyz.body}\n${node.output}`);
        },
        { timeout: 300_000, interval: 500 },
      );
    } catch (error) {
      await node.stop();
      throw error;
    }
    return node;
  }

  /** What the agent printed (pino JSON lines) and its stderr. */
  get output(): string {
    return this.#output;
  }

  /** The installed conflist, as a runtime loads it. */
  conflist(): Promise<NetworkConfigList> {
    return loadNetworkConfigListFromDir('twill-test', this.confDir);
  }

  /** GET on the agent's HTTP server, from inside the node namespace (its loopback). */
  async http(path: string): Promise<{ status: number; body: string }> {
    const { stdout } = await run('ip', ['netns', 'exec', this.lab.node.name, 'curl', '-sS', '-m', '10', '-w', '\n%{http_code}', `http://127.0.0.1:9099${path}`]);
    const at = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
  }

  /** Stops the agent (SIGTERM, then SIGKILL after 20 s); resolves with its exit code. */
  async stop(): Promise<number | null> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
