// The issue's crash test: twill-agent is killed with SIGKILL while 50 ADDs
// go through the installed forwarder, started again, CNI GC run with the ADDs that
// succeeded as the valid attachments: twill's own check and the kernel agree, no address
// is given twice, and the pods still reach each other.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { type CniResult } from '@twill/cni-core';
import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { checkNode, nodeCheckNetwork } from '../../src/agent/node-check.js';
import { nodeKernelReader } from '../../src/agent/sys/node-check-kernel.js';
import { parseTwillConfig } from '../../src/plugin/config.js';
import { hostInterfaceName } from '../../src/plugin/names.js';
import { NodeLab, podIp, startTcpServer, tcpConnect } from '../plugin/node-lab.js';

const reason = rootSkipReason();
const PODS = 50;
// Pods added (and answered) before the concurrent ADDs start.
const BEFORE = 5;
// The kill comes once this many of the concurrent ADDs have recorded their endpoint:
// the agent serves them at once and answers them together when their policy is applied,
// so counting answers would kill it after the last; counting records kills it while
// they are between their record and their answer (in flight), queued, or not yet sent.
const KILL_AFTER = 10;

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'twill-agent.js');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function curl(lab: NodeLab, path: string): Promise<number> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', lab.node.name, 'curl', '-s', '-o', '/dev/null', '-m', '5', '-w', '%{http_code}', `http://127.0.0.1:9099${path}`], (_error, stdout) => resolve(Number(stdout)));
  });
}

/**
 * The real `twill-agent` (from the sources) in the lab's node namespace, as a
 * hostNetwork DaemonSet pod runs: `ip netns exec` execs it in place, so the child's PID
 * is the agent's. Resolves once its /readyz says 200.
 */
async function startAgent(lab: NodeLab): Promise<ChildProcess> {
  const config = join(lab.dir, 'agent.yaml');
  await writeFile(
    config,
    [
      'nodeName: node-a',
      `dataDir: ${lab.dataDir}`,
      `agentSocket: ${lab.socketPath}`,
      `api: {socket: ${join(lab.dir, 'api.sock')}}`,
      `flows: {socket: ${join(lab.dir, 'observer.sock')}}`,
      'network: twill-test',
      'dataplane: nftables',
      'routing: none',
      'http: {listen: "127.0.0.1:9099"}',
      'logLevel: warn',
      '',
    ].join('\n'),
  );
  const child = spawn('ip', ['netns', 'exec', lab.node.name, process.execPath, '--conditions=@twill/source', '--import', TSX, BIN, 'run', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its output is kept for the error of an agent that did not start.
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  await vi.waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`twill-agent exited with ${child.exitCode ?? child.signalCode}: ${output}`);
      expect(await curl(lab, '/readyz')).toBe(200);
    },
    { timeout: 120_000, interval: 250 },
  );
  return child;
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

const isPodLink = (name: string): boolean => /^tw[0-9a-f]{13}$/u.test(name);
// A pod's route: a host route (`ip` prints those without their length) into the pools;
// the agent's blackhole routes of its blocks are not one.
const isPodRoute = (dst: string): boolean => (dst.startsWith('10.244.') || dst.startsWith('fd00:10:244:')) && !dst.includes('/');

describe.skipIf(reason)(`twill after a SIGKILL during ${PODS} concurrent ADDs, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: NodeLab;
  const agents: ChildProcess[] = [];

  beforeEach(async () => {
    lab = await NodeLab.create();
  });

  afterEach(async () => {
    for (const agent of agents.splice(0)) {
      agent.kill('SIGKILL');
      await killed(agent);
    }
    await lab.cleanup();
  });

  it('restarted and GC run: twill\'s check and the kernel agree, no duplicate address, the pods that were added talk', { timeout: 300_000 }, async () => {
    agents.push(await startAgent(lab));
    const list = lab.conflist();
    const runtime = lab.runtime();
    const pods = Array.from({ length: BEFORE + PODS }, () => lab.scratch.netns());
    const attachment = (i: number) => ({ containerId: `crash-${i}`, netns: pods[i]!.path, ifName: 'eth0' });
    const before = await Promise.allSettled(pods.slice(0, BEFORE).map((_pod, i) => runtime.add(list, attachment(i))));

    // The kill happens when KILL_AFTER of the PODS concurrent ADDs have recorded their
    // endpoint (or all have answered); a supervisor starts the agent again at once.
    let answered = 0;
    const recorded = async (): Promise<void> => {
      const store = lab.openStore();
      try {
        while (answered < PODS && (await store.list('twill-endpoints/twill-test/')).length < BEFORE + KILL_AFTER) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        await store.close();
      }
    };
    const restarted = recorded().then(async () => {
      const first = agents[0]!;
      first.kill('SIGKILL');
      await killed(first);
      agents.push(await startAgent(lab));
    });
    restarted.catch(() => undefined); // awaited below
    const concurrent = await Promise.allSettled(
      pods.slice(BEFORE).map(async (_pod, j) => {
        try {
          return await runtime.add(list, attachment(BEFORE + j));
        } finally {
          answered += 1;
        }
      }),
    );
    const outcomes = [...before, ...concurrent];
    await restarted;
    expect(agents[0]!.signalCode).toBe('SIGKILL');

    const succeeded = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [{ i, result: o.value as CniResult }] : []));
    const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ i, error: o.reason as Error }] : []));
    // The kill cut calls the agent was serving: the forwarder answers those with code 11
    // (it never runs a call elsewhere once connected). Without any, this test proved nothing.
    expect(failed.length, 'no ADD was in flight when the agent was killed').toBeGreaterThan(0);
    expect(new Set(failed.map((f) => (f.error as Error & { code?: unknown }).code))).toEqual(new Set([11]));

    await runtime.gc(list, { validAttachments: succeeded.map(({ i }) => ({ containerID: attachment(i).containerId, ifname: 'eth0' })) });

    // twill's own check.
    const config = parseTwillConfig(lab.twillConfig(), { defaultNodeName: 'node-a' });
    const check = async () => {
      const store = lab.openStore();
      try {
        return await checkNode({ store, kernel: nodeKernelReader({ netns: lab.node.path }), nodeName: 'node-a', networks: [nodeCheckNetwork(config)] });
      } finally {
        await store.close();
      }
    };
    const n = succeeded.length;
    expect(await check()).toEqual({ consistent: true, node: 'node-a', endpoints: n, links: n, allocations: n, problems: [] });

    // No address given twice.
    const v4 = succeeded.map(({ result }) => podIp(result, 0));
    const v6 = succeeded.map(({ result }) => podIp(result, 1));
    expect(new Set(v4).size).toBe(succeeded.length);
    expect(new Set(v6).size).toBe(succeeded.length);

    // The kernel agrees: the links of the ADDs that succeeded, their routes, nothing else;
    // the pods whose ADD failed hold no interface of ours.
    const links = lab.ipJson<{ ifname: string }[]>(lab.node, 'link').map((l) => l.ifname).filter(isPodLink);
    expect(links.sort()).toEqual(succeeded.map(({ i }) => hostInterfaceName(attachment(i).containerId, 'eth0')).sort());
    const routes = [...lab.ipJson<{ dst: string }[]>(lab.node, '-4', 'route'), ...lab.ipJson<{ dst: string }[]>(lab.node, '-6', 'route')].map((r) => r.dst).filter(isPodRoute);
    expect(routes.sort()).toEqual([...v4, ...v6].sort());
    for (const { i } of failed) expect(lab.ipJson<{ ifname: string }[]>(pods[i]!, 'link').map((l) => l.ifname)).toEqual(['lo']);

    // Pods whose ADD was cut are added again (the runtime retries a sandbox) by the
    // restarted agent, and talk with one added before the kill.
    const retried = failed.slice(0, 3).map(({ i }) => i);
    const again = await Promise.all(retried.map((i) => runtime.add(list, attachment(i))));
    expect(await check()).toMatchObject({ consistent: true, endpoints: n + retried.length, problems: [] });
    const stop = await startTcpServer(pods[succeeded[0]!.i]!, 8080);
    try {
      expect(await tcpConnect(pods[succeeded.at(-1)!.i]!, podIp(succeeded[0]!.result), 8080)).toBe(`hello from ${pods[succeeded[0]!.i]!.name}`);
      expect(await tcpConnect(pods[retried[0]!]!, podIp(succeeded[0]!.result), 8080)).toBe(`hello from ${pods[succeeded[0]!.i]!.name}`);
    } finally {
      stop();
    }
    expect(new Set([...v4, ...again.map((r) => podIp(r))]).size).toBe(n + retried.length);
  });
});
