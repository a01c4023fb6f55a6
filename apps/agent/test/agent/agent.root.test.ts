// twill-agent end to end, as root: the real `twill-agent` executable (from the sources)
// installs the plugin with `install-cni` and runs inside a scratch node namespace; pods
// are added by a runtime through the installed conflist and the native forwarder; the
// agent's own HTTP server (in the node namespace) says when it is ready and what it
// served; SIGTERM stops it and the pods keep working.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { loadNetworkConfigListFromDir } from '@twill/cni-core';
import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { openResourceDatastore } from '../../src/agent/datastore/index.js';
import { NODE_ADDRESS, NodeLab, podIp, startTcpServer, tcpConnect } from '../plugin/node-lab.js';

const reason = rootSkipReason();
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'twill-agent.js');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const AGENT_ARGS = ['--conditions=@twill/source', '--import', TSX, BIN];

function run(file: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: 60_000 }, (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

interface Route {
  dst: string;
  type?: string;
  protocol?: string;
}

describe.skipIf(reason)(`twill-agent on a scratch node as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: NodeLab;
  let agent: ChildProcess | undefined;
  let agentOutput: string;
  const stops: (() => void)[] = [];

  beforeEach(async () => {
    lab = await NodeLab.create();
    agent = undefined;
    agentOutput = '';
  });

  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    if (agent !== undefined && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((resolve) => agent!.once('exit', resolve));
      agent.kill('SIGKILL');
      await exited;
    }
    await lab.cleanup();
  });

  // GET on the agent's HTTP server, from inside the node namespace (its loopback).
  const http = async (path: string): Promise<{ status: number; body: string }> => {
    const { stdout } = await run('ip', ['netns', 'exec', lab.node.name, 'curl', '-sS', '-m', '10', '-w', '\n%{http_code}', `http://127.0.0.1:9099${path}`]);
    const at = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
  };

  it('installs with install-cni, serves pods added through the conflist, turns ready, counts the ADDs, enforces a policy from the datastore, and leaves pods and policy working after SIGTERM', { timeout: 180_000 }, async () => {
    const confDir = join(lab.dir, 'net.d');
    const configFile = join(lab.dir, 'agent.yaml');
    await writeFile(
      configFile,
      [
        'nodeName: node-a',
        `dataDir: ${lab.dataDir}`,
        `agentSocket: ${lab.socketPath}`,
        `api: {socket: ${join(lab.dir, 'api.sock')}}`,
        `flows: {socket: ${join(lab.dir, 'observer.sock')}}`,
        'network: twill-test',
        'dataplane: nftables',
        `nodeAddresses: {ipv4: ${NODE_ADDRESS}/24}`,
        'routing: direct',
        'http: {listen: "127.0.0.1:9099"}',
        'logLevel: info',
        'cni:',
        `  binDir: ${join(lab.dir, 'bin')}`,
        `  confDir: ${confDir}`,
        '  mtu: 1400',
        '  pools: [{cidr: 10.244.0.0/20, blockSize: 26}, {cidr: "fd00:10:244::/116", blockSize: 122}]',
        '',
      ].join('\n'),
    );

    // The DaemonSet's init container.
    const install = await run(process.execPath, [...AGENT_ARGS, 'install-cni', '--config', configFile]);
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
    expect(JSON.parse(install.stdout)).toEqual({
      plugin: join(lab.dir, 'bin', 'twill'),
      standalone: join(lab.dir, 'bin', 'twill.standalone'),
      conflist: join(confDir, '10-twill.conflist'),
      conflistChanged: true,
    });

    // The agent, in the node's namespace as a hostNetwork DaemonSet pod is.
    const child = spawn('ip', ['netns', 'exec', lab.node.name, process.execPath, ...AGENT_ARGS, 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent = child;
    child.stdout.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    await vi.waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`twill-agent exited with ${child.exitCode}:\n${agentOutput}`);
        expect((await http('/readyz')).status).toBe(200);
      },
      { timeout: 90_000, interval: 250 },
    );
    expect(JSON.parse((await http('/readyz')).body)).toMatchObject({ ready: true, notReady: [] });
    expect(await http('/healthz')).toEqual({ status: 200, body: 'ok\n' });

    // Pods through the runtime, the installed conflist and the forwarder.
    const list = await loadNetworkConfigListFromDir('twill-test', confDir);
    const runtime = lab.runtime();
    const pods = [lab.scratch.netns(), lab.scratch.netns(), lab.scratch.netns()];
    const results = await Promise.all(
      pods.map((pod, i) =>
        runtime.add(list, { containerId: `pod-${i}`, netns: pod.path, ifName: 'eth0', args: [['K8S_POD_NAMESPACE', 'shop'], ['K8S_POD_NAME', `p${i}`]] }),
      ),
    );
    const ips = results.map((result) => podIp(result));
    expect(new Set(ips).size).toBe(3);

    const metrics = (await http('/metrics')).body;
    expect(metrics).toContain('twill_cni_request_duration_seconds_count{command="ADD",outcome="success"} 3\n');
    expect(metrics).toMatch(/^twill_policy_programming_duration_seconds_count [1-9]\d*$/mu);
    await vi.waitFor(async () => expect((await http('/metrics')).body).toContain('twill_endpoints 3\n'), { timeout: 30_000 });

    const status = JSON.parse((await http('/v1/status')).body) as { node: string; endpoints: { containerId: string; node: string }[]; dataplane: { driver: string; endpoints: { programmed: boolean }[] } };
    expect(status.node).toBe('node-a');
    expect(status.endpoints.map((e) => [e.containerId, e.node]).sort()).toEqual([['pod-0', 'node-a'], ['pod-1', 'node-a'], ['pod-2', 'node-a']]);
    expect(status.dataplane.driver).toBe('nftables');
    expect(status.dataplane.endpoints.map((e) => e.programmed)).toEqual([true, true, true]);

    // Pods reach each other and the node.
    stops.push(await startTcpServer(pods[0]!, 8080));
    expect(await tcpConnect(pods[1]!, ips[0]!, 8080)).toBe(`hello from ${pods[0]!.name}`);
    stops.push(await startTcpServer(lab.node, 8081));
    expect(await tcpConnect(pods[2]!, NODE_ADDRESS, 8081)).toBe(`hello from ${lab.node.name}`);

    // Policy through the datastore the agent watches (the same SQLite file, another
    // process): ingress to the pods of namespace shop is denied; egress is not.
    const datastore = await openResourceDatastore({ path: join(lab.dataDir, 'twill.db') });
    try {
      await datastore.apply({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'deny-ingress', namespace: 'shop' },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      });
    } finally {
      await datastore.close();
    }
    await vi.waitFor(async () => expect(await tcpConnect(pods[1]!, ips[0]!, 8080)).toMatch(/^(timeout|E[A-Z]+)$/u), { timeout: 60_000, interval: 500 });
    expect(await tcpConnect(pods[2]!, NODE_ADDRESS, 8081)).toBe(`hello from ${lab.node.name}`);

    // SIGTERM: a clean stop, and the kernel state stays.
    const routesBefore = lab.ipJson<Route[]>(lab.node, 'route', 'show', 'proto', '116');
    expect(routesBefore.map((r) => [r.type, r.dst])).toContainEqual(['blackhole', expect.stringMatching(/^10\.244\.\d+\.\d+\/26$/u)]);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(agentOutput).toContain('"msg":"stopping"');
    await expect(stat(lab.socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(lab.scratch.exec(lab.node, 'nft', ['list', 'table', 'inet', 'twill'])).toContain('table inet twill');
    expect(lab.ipJson<Route[]>(lab.node, 'route', 'show', 'proto', '116')).toEqual(routesBefore);
    // Enforcement outlives the agent: still denied, and what is allowed still flows.
    expect(await tcpConnect(pods[1]!, ips[0]!, 8080)).toMatch(/^(timeout|E[A-Z]+)$/u);
    expect(await tcpConnect(pods[2]!, NODE_ADDRESS, 8081)).toBe(`hello from ${lab.node.name}`);
  });
});
