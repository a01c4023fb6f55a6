// twill-agent end to end, as root: the real `twill-agent` executable (from the sources)
// installs the plugin with `install-cni` and runs inside a scratch node namespace; pods
// are added by a runtime through the installed conflist and the native forwarder; the
// agent's own HTTP server (in the node namespace) says when it is ready and what it
// served; SIGTERM stops it and the pods keep working.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import { loadNetworkConfigListFromDir } from '@twill/cni-core';
import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { NODE_ADDRESS, NodeLab, podIp, startTcpServer, tcpConnect } from '../plugin/node-lab.js';
import { RealAgent } from './real-agent.js';

const reason = rootSkipReason();

interface Route {
  dst: string;
  type?: string;
  protocol?: string;
}

describe.skipIf(reason)(`twill-agent on a scratch node as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: NodeLab;
  let agent: RealAgent;
  const stops: (() => void)[] = [];

  beforeEach(async () => {
    lab = await NodeLab.create();
    agent = new RealAgent(lab, { routing: 'direct', dualStack: true, mtu: 1400, extraLines: [`nodeAddresses: {ipv4: ${NODE_ADDRESS}/24}`] });
  });

  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    await agent.kill();
    await lab.cleanup();
  });

  it('installs with install-cni, serves pods added through the conflist, turns ready, counts the ADDs, enforces a policy from the datastore, and leaves pods and policy working after SIGTERM', { timeout: 180_000 }, async () => {
    const confDir = agent.confDir;

    // The DaemonSet's init container.
    const install = await agent.installCni();
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
    expect(JSON.parse(install.stdout)).toEqual({
      plugin: join(lab.dir, 'bin', 'twill'),
      standalone: join(lab.dir, 'bin', 'twill.standalone'),
      conflist: join(confDir, '10-twill.conflist'),
      conflistChanged: true,
    });

    // The agent, in the node's namespace as a hostNetwork DaemonSet pod is.
    await agent.start();
    expect(JSON.parse((await agent.http('/readyz')).body)).toMatchObject({ ready: true, notReady: [] });
    expect(await agent.http('/healthz')).toEqual({ status: 200, body: 'ok\n' });

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

    const metrics = (await agent.http('/metrics')).body;
    expect(metrics).toContain('twill_cni_request_duration_seconds_count{command="ADD",outcome="success"} 3\n');
    expect(metrics).toMatch(/^twill_policy_programming_duration_seconds_count [1-9]\d*$/mu);
    await vi.waitFor(async () => expect((await agent.http('/metrics')).body).toContain('twill_endpoints 3\n'), { timeout: 30_000 });

    const status = JSON.parse((await agent.http('/v1/status')).body) as { node: string; endpoints: { containerId: string; node: string }[]; dataplane: { driver: string; endpoints: { programmed: boolean }[] } };
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
    await agent.apply([
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'deny-ingress', namespace: 'shop' },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      },
    ]);
    await vi.waitFor(async () => expect(await tcpConnect(pods[1]!, ips[0]!, 8080)).toMatch(/^(timeout|E[A-Z]+)$/u), { timeout: 60_000, interval: 500 });
    expect(await tcpConnect(pods[2]!, NODE_ADDRESS, 8081)).toBe(`hello from ${lab.node.name}`);

    // SIGTERM: a clean stop, and the kernel state stays.
    const routesBefore = lab.ipJson<Route[]>(lab.node, 'route', 'show', 'proto', '116');
    expect(routesBefore.map((r) => [r.type, r.dst])).toContainEqual(['blackhole', expect.stringMatching(/^10\.244\.\d+\.\d+\/26$/u)]);
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(agent.output).toContain('"msg":"stopping"');
    await expect(stat(lab.socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(lab.scratch.exec(lab.node, 'nft', ['list', 'table', 'inet', 'twill'])).toContain('table inet twill');
    expect(lab.ipJson<Route[]>(lab.node, 'route', 'show', 'proto', '116')).toEqual(routesBefore);
    // Enforcement outlives the agent: still denied, and what is allowed still flows.
    expect(await tcpConnect(pods[1]!, ips[0]!, 8080)).toMatch(/^(timeout|E[A-Z]+)$/u);
    expect(await tcpConnect(pods[2]!, NODE_ADDRESS, 8081)).toBe(`hello from ${lab.node.name}`);
  });
});
