import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { CniRuntime, decodeNetworkConfigList, fileResultCache, nodePluginExec } from '@twill/cni-core';
import { NetworkScratch, rootSkipReason, testName } from '@twill/sys/testing';

import { DEBIAN_CNI_BIN, removeTempDirs, tempDir, twillBinDir } from './plugin-exec.js';


// Debian's `bridge` plugin with `"ipam": {"type": "twill-ipam"}` networks a scratch pod
// namespace through cni-core's CniRuntime. The plugins run inside a scratch "host"
// namespace (`ip netns exec`), so the bridge they create never touches the real host.
const reason =
  rootSkipReason() ?? (existsSync(join(DEBIAN_CNI_BIN, 'bridge')) ? undefined : `needs ${DEBIAN_CNI_BIN}/bridge (Debian's containernetworking-plugins)`);

describe.skipIf(reason)(`bridge with twill-ipam as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  afterEach(() => {
    scratch.cleanup();
    removeTempDirs();
  });

  it.each(['files', 'sqlite'] as const)('ADD gives the pod its address from the %s store, DEL releases it', async (store) => {
    const host = scratch.netns();
    const pod = scratch.netns();
    // The source launcher, as the lab installs it (the other tests use a bundle).
    const bin = await twillBinDir({ source: true });
    const dir = tempDir();
    const dataDir = join(dir, 'ipam');
    const network = testName();
    const list = decodeNetworkConfigList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: network,
        plugins: [
          {
            type: 'bridge',
            bridge: testName(),
            isGateway: true,
            ipam: { type: 'twill-ipam', store, dataDir, ranges: [[{ subnet: '10.98.3.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
          },
        ],
      }),
    );
    const runtime = new CniRuntime({
      path: [bin.dir, DEBIAN_CNI_BIN],
      exec: nodePluginExec({ command: (file) => ({ file: 'ip', args: ['netns', 'exec', host.name, file] }) }),
      cache: fileResultCache(join(dir, 'cache')),
      timeoutMs: 60_000,
    });
    const rt = { containerId: `ctr-${network}`, netns: pod.path, ifName: 'eth0' };

    const result = await runtime.add(list, rt);
    expect(result).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.98.3.2/24', gateway: '10.98.3.1' }] });
    const podAddresses = (): string[] =>
      (JSON.parse(execFileSync('ip', ['-j', '-n', pod.name, 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' })) as { addr_info: { family: string; local: string; prefixlen: number }[] }[])
        .flatMap((link) => link.addr_info)
        .filter((a) => a.family === 'inet')
        .map((a) => `${a.local}/${a.prefixlen}`);
    expect(podAddresses()).toEqual(['10.98.3.2/24']);
    await runtime.check(list, rt);
    if (store === 'files') expect(readdirSync(join(dataDir, network))).toContain('10.98.3.2');

    await runtime.del(list, rt);
    expect(scratch.ip(pod, 'link', 'show')).not.toContain('eth0');
    // The next pod gets the round robin's next address; once it is gone too, nothing is held.
    const again = await runtime.add(list, { ...rt, containerId: `ctr2-${network}` });
    expect(again).toMatchObject({ ips: [{ address: '10.98.3.3/24' }] });
    await runtime.del(list, { ...rt, containerId: `ctr2-${network}` });
    if (store === 'files') expect(readdirSync(join(dataDir, network)).filter((n) => n.startsWith('10.'))).toEqual([]);
  }, 180_000);
});
