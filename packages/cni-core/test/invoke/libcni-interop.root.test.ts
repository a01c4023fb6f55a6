// Interop with a real libcni runtime (cnitool built by scripts/setup.sh from Debian's
// golang-github-appc-cni-dev): each side ADDs and the other reads the cache, CHECKs and
// DELs. Plugins are Debian's reference plugins, run inside a scratch "host" namespace.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { NetworkScratch, rootSkipReason, testName } from '@twill/sys/testing';

import { decodeNetworkConfigList } from '../../src/config/network-config.js';
import { CniRuntime } from '../../src/invoke/runtime.js';
import { fileResultCache } from '../../src/invoke/sys/file-cache.js';
import { type RuntimeConf } from '../../src/invoke/types.js';
import { Netlink } from '../../src/net/index.js';
import { hostLocalReservations, netnsPluginExec, tempDir } from './netns-exec.js';

const PLUGINS = '/usr/lib/cni';
const CNITOOL = join(import.meta.dirname, '../../../../node_modules/.cache/twill/cnitool');
const reason =
  rootSkipReason() ??
  (existsSync(join(PLUGINS, 'bridge')) ? undefined : `needs ${PLUGINS}/bridge (Debian's containernetworking-plugins)`) ??
  (existsSync(CNITOOL) ? undefined : 'needs cnitool: run scripts/setup.sh as root (golang-go, golang-github-appc-cni-dev)');

describe.skipIf(reason)(`CniRuntime and libcni read each other's cache, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    scratch.cleanup();
  });

  function setup() {
    const host = scratch.netns();
    const pod = scratch.netns();
    const dir = tempDir();
    dirs.push(dir);
    const network = testName();
    const dataDir = join(dir, 'ipam');
    const text = JSON.stringify({
      cniVersion: '1.0.0',
      name: network,
      plugins: [
        { type: 'bridge', bridge: testName(), isGateway: true, ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.99.8.0/24' }]] } },
        { type: 'tuning', capabilities: { mac: true } },
      ],
    });
    const confDir = join(dir, 'net.d');
    mkdirSync(confDir);
    writeFileSync(join(confDir, `${network}.conflist`), text);
    const cacheDir = join(dir, 'cache');
    const rt: RuntimeConf = {
      containerId: `ctr-${network}`,
      netns: pod.path,
      ifName: 'eth0',
      args: [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAME', 'web-0'],
      ],
      capabilityArgs: { mac: '0a:58:0a:63:08:63' },
    };
    const runtime = new CniRuntime({ path: [PLUGINS], exec: netnsPluginExec(host), cache: fileResultCache(cacheDir) });
    const cnitool = (command: string): string =>
      execFileSync('ip', ['netns', 'exec', host.name, CNITOOL, command, network, pod.path], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          NETCONFPATH: confDir,
          CNI_PATH: PLUGINS,
          CNI_CACHE_DIR: cacheDir,
          CNI_CONTAINERID: rt.containerId,
          CNI_IFNAME: 'eth0',
          CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web-0',
          CAP_ARGS: JSON.stringify(rt.capabilityArgs),
        },
      });
    const cacheFile = join(cacheDir, 'results', `${network}-${rt.containerId}-eth0`);
    return { pod, network, dataDir, list: decodeNetworkConfigList(text), runtime, rt, cnitool, cacheFile };
  }

  async function podLinks(path: string): Promise<string[]> {
    using nl = Netlink.open({ netns: path });
    return (await nl.listLinks()).map((l) => l.name).sort();
  }

  it('libcni ADDs; twill lists the attachment, reads its result, CHECKs and DELs', async () => {
    const { pod, network, dataDir, list, runtime, rt, cnitool, cacheFile } = setup();
    const printed = JSON.parse(cnitool('add')) as Record<string, unknown>;
    expect(printed).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.99.8.2/24' }] });

    const [attachment] = await runtime.cachedAttachments(rt.containerId);
    expect(attachment).toMatchObject({
      networkName: network,
      containerId: rt.containerId,
      ifName: 'eth0',
      // (libcni 1.1 does not cache the netns; 1.2 does, for GC.)
      cniArgs: [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAME', 'web-0'],
      ],
      capabilityArgs: { mac: '0a:58:0a:63:08:63' },
    });
    expect(new TextDecoder().decode(attachment?.config)).toBe(new TextDecoder().decode(list.bytes));
    expect(await runtime.cachedResult(list, rt)).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.99.8.2/24', gateway: '10.99.8.1' }] });

    await runtime.check(list, rt);
    await runtime.del(list, rt);
    expect(await podLinks(pod.path)).toEqual(['lo']);
    expect(existsSync(cacheFile)).toBe(false);
    expect(hostLocalReservations(dataDir, network)).toEqual([]);
  });

  it('twill ADDs; libcni reads the cache, CHECKs and DELs', async () => {
    const { pod, network, dataDir, list, runtime, rt, cnitool, cacheFile } = setup();
    await runtime.add(list, rt);
    {
      using nl = Netlink.open({ netns: pod.path });
      expect((await nl.getLink('eth0')).mac).toBe('0a:58:0a:63:08:63');
    }
    const record = JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, unknown>;
    expect(record['kind']).toBe('cniCacheV1');

    // libcni's CHECK gives the plugins twill's cached result as prevResult; bridge checks it against the pod.
    cnitool('check');
    cnitool('del');
    expect(await podLinks(pod.path)).toEqual(['lo']);
    expect(existsSync(cacheFile)).toBe(false);
    expect(hostLocalReservations(dataDir, network)).toEqual([]);
  });
});
