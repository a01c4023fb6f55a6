// A scratch node for the plugin's root tests: a "node" namespace with an uplink to a
// "world" namespace (its default route, as a real node has: proxy ARP answers only for
// addresses the node can route), pods as scratch namespaces, twill installed in a
// temporary CNI bin folder, and a CniRuntime that runs every plugin inside the node
// namespace (`ip netns exec <node> PLUGIN`), so nothing is ever plumbed in the host's
// own namespace. Everything goes in cleanup().
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CniRuntime, type CniResult, decodeNetworkConfigList, fileResultCache, type NetworkConfigList, nodePluginExec, type PluginServer } from '@twill/cni-core';
import { SqliteStore, type Store } from '@twill/ipam';
import { NetworkScratch, type ScratchNetns } from '@twill/sys/testing';

import { installTwill } from '../../src/plugin/sys/install.js';
import { serveTwill } from '../../src/plugin/sys/serve.js';

/** The node's uplink address: pods reach the node there. */
export const NODE_ADDRESS = '198.51.100.1';

/** A node namespace with twill installed and a runtime to call it. */
export class NodeLab {
  readonly scratch = new NetworkScratch();
  readonly node: ScratchNetns;
  readonly world: ScratchNetns;
  readonly dir: string;
  readonly socketPath: string;
  #server: PluginServer | undefined;

  private constructor(dir: string) {
    this.dir = dir;
    this.socketPath = join(dir, 'agent.sock');
    this.node = this.scratch.netns();
    this.world = this.scratch.netns();
    const uplink = this.scratch.veth(this.node, this.world);
    this.scratch.ip(this.node, 'addr', 'add', `${NODE_ADDRESS}/24`, 'dev', uplink.a);
    this.scratch.ip(this.world, 'addr', 'add', '198.51.100.2/24', 'dev', uplink.b);
    this.scratch.ip(this.node, 'route', 'add', 'default', 'via', '198.51.100.2');
  }

  /** Creates the node and installs twill (forwarder + source-launcher fallback) in `<dir>/bin`. */
  static async create(): Promise<NodeLab> {
    const dir = await mkdtemp(join(tmpdir(), 'twt-plugin-'));
    const lab = new NodeLab(dir);
    try {
      await installTwill(join(dir, 'bin'));
    } catch (error) {
      await lab.cleanup();
      throw error;
    }
    return lab;
  }

  /** The embedded datastore's folder. */
  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** A conflist of twill (dual-stack pools in-process, `extra` keys added) followed by `chained` plugins. */
  conflist(chained: readonly object[] = [], extra: object = {}, cniVersion = '1.1.0'): NetworkConfigList {
    return decodeNetworkConfigList(
      JSON.stringify({
        cniVersion,
        name: 'twill-test',
        plugins: [this.twillPlugin(extra), ...chained],
      }),
    );
  }

  /** A runtime whose plugins run inside the node namespace, with this lab's agent socket. */
  runtime(): CniRuntime {
    return new CniRuntime({
      path: [join(this.dir, 'bin'), '/usr/lib/cni'],
      exec: nodePluginExec({
        baseEnv: { ...process.env, TWILL_AGENT_SOCKET: this.socketPath },
        command: (file) => ({ file: 'ip', args: ['netns', 'exec', this.node.name, file] }),
      }),
      cache: fileResultCache(join(this.dir, 'cache')),
      timeoutMs: 60_000,
    });
  }

  /**
   * Execs `<bin>/twill` (the forwarder) once inside the node namespace with these CNI_*
   * variables and this configuration, as a runtime would, and gives its exit code and stdout.
   */
  async execTwill(env: Record<string, string>, config: object): Promise<{ exitCode: number | null; stdout: string }> {
    const exec = nodePluginExec({
      baseEnv: { ...process.env, TWILL_AGENT_SOCKET: this.socketPath },
      command: (file) => ({ file: 'ip', args: ['netns', 'exec', this.node.name, file] }),
    });
    const result = await exec.exec({ file: join(this.dir, 'bin', 'twill'), env: { CNI_PATH: '/usr/lib/cni', ...env }, stdin: new TextEncoder().encode(JSON.stringify(config)), timeoutMs: 60_000 });
    return { exitCode: result.exitCode, stdout: new TextDecoder().decode(result.stdout) };
  }

  /** twill's entry of the conflist: MTU 1400, dual-stack pools in-process, this lab's datastore. */
  twillPlugin(extra: object = {}): Record<string, unknown> {
    const pools = [{ cidr: '10.244.0.0/20', blockSize: 26 }, { cidr: 'fd00:10:244::/116', blockSize: 122 }];
    return { type: 'twill', mtu: 1400, dataDir: this.dataDir, ipam: { type: 'twill-ipam', nodeName: 'node-a', pools }, ...extra };
  }

  /** The configuration of twill alone, as a runtime gives it on stdin. */
  twillConfig(extra: object = {}): Record<string, unknown> {
    return { cniVersion: '1.1.0', name: 'twill-test', ...this.twillPlugin(extra) };
  }

  /** Starts the warm server (the forwarded path), serving with the node namespace as the host's. */
  async serve(): Promise<void> {
    this.#server = await serveTwill({ socketPath: this.socketPath, hostNetns: this.node.path });
  }

  /** Stops the warm server: calls fall back to the standalone plugin. */
  async stopServing(): Promise<void> {
    await this.#server?.close();
    this.#server = undefined;
  }

  /** The node's datastore, opened for inspection (close it). */
  openStore(): Store {
    return SqliteStore.open({ path: join(this.dataDir, 'twill.db') });
  }

  /** `ip -n <ns> -j ARGS` as JSON. */
  ipJson<T>(ns: ScratchNetns, ...args: string[]): T {
    return JSON.parse(this.scratch.ip(ns, '-j', ...args)) as T;
  }

  async cleanup(): Promise<void> {
    await this.stopServing();
    try {
      this.scratch.cleanup();
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}

/** The pod's first (IPv4) or second (IPv6) address without its length. */
export function podIp(result: CniResult, index = 0): string {
  const cidr = 'ips' in result ? result.ips?.[index]?.address : undefined;
  if (cidr === undefined) throw new Error(`no address in ${JSON.stringify(result)}`);
  return cidr.split('/')[0] ?? cidr;
}

// A TCP server in `ns` answering "hello from <ns>" on `port`; resolves once it listens.
const SERVER = `const n=require('net');n.createServer(s=>s.end('hello from '+process.argv[1])).listen(+process.argv[2],'::',()=>console.log('ready'))`;
const CLIENT = `const s=require('net').connect(+process.argv[2],process.argv[1]);let d='';s.setTimeout(3000,()=>{console.log('timeout');process.exit(1)});s.on('data',c=>d+=c);s.on('end',()=>console.log(d));s.on('error',e=>{console.log(e.code);process.exit(1)})`;

/** Starts a TCP server inside `ns` (killed by the returned function, by its PID). */
export function startTcpServer(ns: ScratchNetns, port: number): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const child = execFile('ip', ['netns', 'exec', ns.name, process.execPath, '-e', SERVER, ns.name, String(port)]);
    child.stdout?.once('data', () => resolve(() => child.kill('SIGKILL')));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`server in ${ns.name} exited with ${code}`)));
  });
}

/** Connects from `ns` to `host:port` over TCP and gives what the server said, or the error. */
export function tcpConnect(ns: ScratchNetns, host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns.name, process.execPath, '-e', CLIENT, host, String(port)], (_error, stdout) => resolve(stdout.trim()));
  });
}
