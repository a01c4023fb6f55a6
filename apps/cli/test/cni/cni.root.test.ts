// `twill cni` with Debian's reference plugins (/usr/lib/cni: bridge + host-local) on a
// scratch pod namespace. The plugins run inside a scratch "host" namespace (nsenter), so
// the bridge and the veth's host end never touch the real host.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { fileResultCache, nodeConfigDirectory, nodePluginExec } from '@twill/cni-core';
import { NetworkScratch, rootSkipReason, testName, type ScratchNetns } from '@twill/sys/testing';

import { twill } from '../helpers.js';

const PLUGINS = '/usr/lib/cni';
const reason = rootSkipReason() ?? (existsSync(join(PLUGINS, 'bridge')) ? undefined : `needs ${PLUGINS}/bridge (Debian's containernetworking-plugins)`);

describe.skipIf(reason)(`twill cni with bridge + host-local as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    scratch.cleanup();
  });

  function setup() {
    const host = scratch.netns();
    const pod = scratch.netns();
    const dir = mkdtempSync(join(tmpdir(), 'twt-cli-'));
    dirs.push(dir);
    const network = testName();
    writeFileSync(join(dir, '10-test.conflist'), JSON.stringify({
      cniVersion: '1.0.0',
      name: network,
      plugins: [{
        type: 'bridge', bridge: testName(), isGateway: true, ipMasq: false,
        ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: '10.99.8.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
      }],
    }));
    const cache = join(dir, 'cache');
    const run = (...args: string[]) => twill(['cni', ...args, '--cache-dir', cache], {
      env: { NETCONFPATH: dir, CNI_PATH: PLUGINS },
      cni: {
        configDirectory: nodeConfigDirectory,
        pluginExec: () => nodePluginExec({ command: (file) => ({ file: 'nsenter', args: [`--net=${host.path}`, '--', file] }) }),
        resultCache: fileResultCache,
      },
    });
    return { host, pod, network, cache, run };
  }

  const podAddresses = (pod: ScratchNetns): string => scratch.ip(pod, '-4', '-o', 'addr', 'show', 'dev', 'eth0');
  const hasEth0 = (pod: ScratchNetns): boolean => scratch.ip(pod, '-o', 'link').includes(' eth0@');

  it('add, check and del a pod, with cnitool\'s container id for the netns path', async () => {
    const { pod, network, cache, run } = setup();

    const added = await run('add', network, pod.path);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const result = JSON.parse(added.stdout) as { cniVersion: string; ips: { address: string; gateway: string }[] };
    expect(result.cniVersion).toBe('1.0.0');
    expect(result.ips).toEqual([expect.objectContaining({ address: '10.99.8.2/24', gateway: '10.99.8.1' })]);
    expect(podAddresses(pod)).toContain('inet 10.99.8.2/24');

    // cnitool's id: "cnitool-" and the first 20 hex digits of the SHA-512 of the path (here from coreutils).
    const digest = execFileSync('sha512sum', { input: pod.path, encoding: 'utf8' }).slice(0, 20);
    expect(readdirSync(join(cache, 'results'))).toEqual([`${network}-cnitool-${digest}-eth0`]);

    expect(await run('check', network, pod.path)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await run('status', network)).toEqual({ code: 0, stdout: '', stderr: '' });

    expect(await run('del', network, pod.path)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(hasEth0(pod)).toBe(false);
    expect(readdirSync(join(cache, 'results'))).toEqual([]);

    // CHECK of an attachment that is gone fails: exit 1, one line naming the plugin.
    const check = await run('check', network, pod.path);
    expect(check.code).toBe(1);
    expect(check.stdout).toBe('');
    expect(check.stderr).toMatch(/^twill: cni check: plugin type="bridge" failed \(check\): [^\n]*\n$/);
  });

  it('--ifname and --container-id name the attachment; gc deletes every cached one', async () => {
    const { pod, network, cache, run } = setup();
    const added = await run('add', network, pod.path, '--ifname', 'net1', '--container-id', 'ctr-1', '-o', 'yaml');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^cniVersion: 1\.0\.0\n/m);
    expect(scratch.ip(pod, '-o', 'link')).toContain(' net1@');
    expect(readdirSync(join(cache, 'results'))).toEqual([`${network}-ctr-1-net1`]);

    expect(await run('gc', network)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readdirSync(join(cache, 'results'))).toEqual([]);
    expect(scratch.ip(pod, '-o', 'link')).not.toContain(' net1@');
  });
});
