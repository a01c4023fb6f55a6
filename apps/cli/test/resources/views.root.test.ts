// The views that are not resources, with something in them: pods added through the
// agent's installed conflist and forwarder (by `twill cni add`) to an agent running in a
// scratch node namespace, then `twill get endpoints|ipamblocks`, `describe endpoint`
// and `status` as a user sees them. Root: the agent makes the pods' links.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { NetworkScratch, rootSkipReason, type ScratchNetns } from '@twill/sys/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { installCni, startTestAgent, type TestAgent } from '../agent-harness.js';
import { twill } from '../helpers.js';

const reason = rootSkipReason();

describe.skipIf(reason)(`endpoints and IPAM blocks of pods on a scratch node${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  let agent: TestAgent | undefined;
  let pods: ScratchNetns[] = [];
  let env: Record<string, string> = {};
  let dir: string | undefined;

  beforeAll(async () => {
    const node = scratch.netns();
    dir = await mkdtemp(join(tmpdir(), 'twt-cli-cni-'));
    agent = await startTestAgent({
      netns: node.name,
      config: { network: 'twill-test', cni: { binDir: `${dir}/bin`, confDir: `${dir}/net.d`, pools: [{ cidr: '10.99.0.0/24', blockSize: 28 }] } },
    });
    await installCni(agent);
    // The forwarder finds the agent through TWILL_AGENT_SOCKET; twill cni runs it with this process's environment.
    vi.stubEnv('TWILL_AGENT_SOCKET', agent.agentSocket);
    env = { TWILL_API_SOCKET: agent.apiSocket, NETCONFPATH: `${dir}/net.d`, CNI_PATH: `${dir}/bin` };
    pods = [scratch.netns(), scratch.netns()];
    for (const [i, pod] of pods.entries()) {
      const add = await twill(['cni', 'add', 'twill-test', pod.path, '--container-id', `ctr-${i}-0123456789abcdef`], { env: { ...env, CNI_ARGS: `K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-${i}` } });
      expect(add.stderr).toBe('');
      expect(add.code).toBe(0);
    }
  }, 180_000);

  afterAll(async () => {
    for (const [i, pod] of pods.entries()) {
      await twill(['cni', 'del', 'twill-test', pod.path, '--container-id', `ctr-${i}-0123456789abcdef`], { env });
    }
    vi.unstubAllEnvs();
    await agent?.stop();
    scratch.cleanup();
    if (dir !== undefined) await rm(dir, { force: true, recursive: true });
  }, 60_000);

  it('get endpoints: the pods by namespace and name, with their node, addresses and interfaces', async () => {
    const run = await twill(['get', 'endpoints', '-n', 'shop'], { env });
    expect(run.stderr).toBe('');
    const rows = run.stdout.trim().split('\n').map((line) => line.split(/\s+/));
    expect(rows[0]).toEqual(['NAME', 'NODE', 'ADDRESSES', 'INTERFACE', 'AGE']);
    expect(rows.slice(1).map((r) => [r[0], r[1]])).toEqual([['web-0', agent!.nodeName], ['web-1', agent!.nodeName]]);
    for (const row of rows.slice(1)) {
      expect(row[2]).toMatch(/^10\.99\.0\.\d+\/32$/);
      expect(row[3]).toMatch(/^tw[0-9a-f]{13}$/);
    }
    const json = JSON.parse((await twill(['get', 'ep', 'web-1', '-n', 'shop', '-o', 'json'], { env })).stdout);
    expect(json).toMatchObject({ network: 'twill-test', containerId: 'ctr-1-0123456789abcdef', ifName: 'eth0', namespace: 'shop', pod: 'web-1', node: agent!.nodeName });
    expect(await twill(['get', 'endpoints'], { env })).toEqual({ code: 0, stdout: '', stderr: 'No endpoints found in namespace default.\n' });
  });

  it('get ipamblocks: the node\'s block with two addresses; describe endpoint; status lists the pods', async () => {
    const blocks = await twill(['get', 'ipamblocks', '-o', 'wide'], { env });
    expect(blocks.stderr).toBe('');
    // The block is any /28 of the pool (chosen at random, as Calico does); both pods' addresses are in it.
    const [header, row, ...rest] = blocks.stdout.trim().split('\n').map((line) => line.split(/\s+/));
    expect([header, rest]).toEqual([['CIDR', 'AFFINITY', 'ALLOCATED', 'FREE', 'HANDLES'], []]);
    expect(row).toEqual([expect.stringMatching(/^10\.99\.0\.\d+\/28$/), agent!.nodeName, '2', '14', '2']);
    const base = Number(row![0]!.split('/')[0]!.split('.')[3]);
    const endpoints = JSON.parse((await twill(['get', 'endpoints', '-A', '-o', 'json'], { env })).stdout) as { items: { addresses: string[] }[] };
    for (const address of endpoints.items.flatMap((e) => e.addresses)) {
      const last = Number(address.split('/')[0]!.split('.')[3]);
      expect(last >= base && last < base + 16, `${address} in ${row![0]}`).toBe(true);
    }
    expect(await twill(['describe', 'ipamblock', row![0]!], { env })).toEqual({
      code: 0,
      stdout: `CIDR:      ${row![0]}\nAffinity:  ${agent!.nodeName}\nAllocated: 2\nFree:      14\nHandles:   2\n`,
      stderr: '',
    });
    const describeRun = await twill(['describe', 'endpoint', 'web-0', '-n', 'shop'], { env });
    expect(describeRun.code).toBe(0);
    expect(describeRun.stdout).toMatch(/^Name: +web-0\nNamespace: +shop\nNode: +twt-cli-\w{8}\nContainer: +ctr-0-0123456789abcdef\nNetwork: +twill-test\nInterface: +eth0 \(host side tw[0-9a-f]{13}\)\nAddresses: +10\.99\.0\.\d+\/32\n/);
    const status = await twill(['status'], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/\nEndpoints on twt-cli-\w{8}:\nNAMESPACE +POD +ADDRESSES +INTERFACE +AGE\nshop +web-0 +10\.99\.0\.\d+\/32 +tw[0-9a-f]{13} +\d+s\nshop +web-1 /);
  });
});
