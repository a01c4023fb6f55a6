// CniRuntime against the reference plugins of Debian's containernetworking-plugins
// (/usr/lib/cni, 1.1.1: CNI up to 1.0.0): bridge + host-local + tuning + portmap +
// bandwidth through ADD, CHECK and DEL. The plugins run inside a scratch "host"
// namespace and the pod is another scratch namespace; the host is never touched.
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { NetworkScratch, rootSkipReason, testName } from '@twill/sys/testing';

import { decodeNetworkConfigList } from '../../src/config/network-config.js';
import { type NetworkConfigList } from '../../src/config/types.js';
import { PluginError } from '../../src/errors.js';
import { CniRuntime } from '../../src/invoke/runtime.js';
import { fileResultCache } from '../../src/invoke/sys/file-cache.js';
import { type RuntimeConf } from '../../src/invoke/types.js';
import { Netlink } from '../../src/net/index.js';
import { hostLocalReservations, netnsPluginExec, tempDir } from './netns-exec.js';

const PLUGINS = '/usr/lib/cni';
const reason =
  rootSkipReason() ?? (existsSync(join(PLUGINS, 'bridge')) ? undefined : `needs ${PLUGINS}/bridge (Debian's containernetworking-plugins)`);

describe.skipIf(reason)(`CniRuntime with the reference plugins as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    scratch.cleanup();
  });

  function setup(extraPlugins: Record<string, unknown>[] = [], path: string[] = [PLUGINS]) {
    const host = scratch.netns();
    const pod = scratch.netns();
    const dir = tempDir();
    dirs.push(dir);
    const network = testName();
    const bridge = testName();
    const dataDir = join(dir, 'ipam');
    const list = decodeNetworkConfigList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: network,
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: true,
            ipMasq: false,
            mtu: 1400,
            ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.99.7.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
          },
          { type: 'tuning', mac: '0a:58:0a:63:07:63', sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' } },
          { type: 'portmap', capabilities: { portMappings: true }, snat: true },
          { type: 'bandwidth', capabilities: { bandwidth: true } },
          ...extraPlugins,
        ],
      }),
    );
    const runtime = new CniRuntime({ path, exec: netnsPluginExec(host), cache: fileResultCache(join(dir, 'cache')), timeoutMs: 20_000 });
    const rt: RuntimeConf = {
      containerId: `ctr-${network}`,
      netns: pod.path,
      ifName: 'eth0',
      // IgnoreUnknown=1, as kubelet sends: host-local refuses CNI_ARGS keys it does not know otherwise.
      args: [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAME', 'web-0'],
      ],
      capabilityArgs: {
        portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }],
        bandwidth: { ingressRate: 8_000_000, ingressBurst: 80_000, egressRate: 8_000_000, egressBurst: 80_000 },
      },
    };
    const cacheFile = join(dir, 'cache', 'results', `${network}-${rt.containerId}-eth0`);
    return { host, pod, dir, network, bridge, dataDir, list, runtime, rt, cacheFile };
  }

  async function podState(pod: { path: string }) {
    using nl = Netlink.open({ netns: pod.path });
    const links = await nl.listLinks();
    const eth0 = links.find((l) => l.name === 'eth0');
    const addresses = (await nl.listAddresses({ family: 4 })).filter((a) => a.ip !== '127.0.0.1').map((a) => a.cidr);
    const routes = (await nl.listRoutes({ family: 4 })).map((r) => ({ dst: r.dst, gateway: r.gateway }));
    return { links: links.map((l) => l.name).sort(), eth0, addresses, routes };
  }

  it('speaks up to CNI 1.0.0 (VERSION), as the list needs', async () => {
    const { runtime, list } = setup();
    const info = await runtime.version('bridge', '1.0.0');
    expect(info.supportedVersions).toContain('1.0.0');
    expect(info.supportedVersions).not.toContain('1.1.0');
    expect(await runtime.validate(list)).toEqual(['bandwidth', 'portMappings']);
  });

  it('ADD, CHECK and DEL a bridge + host-local + tuning + portmap + bandwidth chain in a throwaway netns', async () => {
    const { host, pod, list, runtime, rt, cacheFile, dataDir, network, bridge } = setup();

    const result = await runtime.add(list, rt);
    expect(result.cniVersion).toBe('1.0.0');
    expect(result).toMatchObject({ ips: [{ address: '10.99.7.2/24', gateway: '10.99.7.1' }] });

    // The pod, over netlink: eth0 with the address, the MAC from tuning, the bridge's MTU, a default route.
    const state = await podState(pod);
    expect(state.links).toEqual(['eth0', 'lo']);
    expect(state.eth0).toMatchObject({ up: true, mtu: 1400, mac: '0a:58:0a:63:07:63', kind: 'veth' });
    expect(state.addresses).toEqual(['10.99.7.2/24']);
    expect(state.routes).toContainEqual({ dst: '0.0.0.0/0', gateway: '10.99.7.1' });
    // The host side lives in the scratch host: the bridge with the gateway address.
    {
      using nl = Netlink.open({ netns: host.path });
      expect((await nl.listLinks()).map((l) => l.kind)).toEqual(expect.arrayContaining(['bridge', 'veth', 'ifb']));
      expect((await nl.listAddresses({ link: bridge, family: 4 })).map((a) => a.cidr)).toEqual(['10.99.7.1/24']);
    }
    // portmap's chains and bandwidth's qdisc are in the scratch host only.
    expect(scratch.exec(host, 'iptables', ['-t', 'nat', '-S'])).toContain('--dport 18080');
    expect(scratch.ip(host, 'link', 'show', 'type', 'ifb')).not.toBe('');
    expect(hostLocalReservations(dataDir, network)).toEqual(['10.99.7.2']);
    expect(existsSync(cacheFile)).toBe(true);

    // Debian's portmap 1.1.1 fails CHECK for an IPv4-only pod: it looks for an IPv6 DNAT
    // chain it never made (a bug of that plugin, not of the runtime). Written down here;
    // the rest of the chain is checked with the same cached result.
    await expect(runtime.check(list, rt)).rejects.toMatchObject({
      plugin: 'portmap',
      command: 'CHECK',
      msg: expect.stringContaining('plugin type="portmap" failed (check): could not check ipv6 dnat') as unknown,
    });
    const withoutPortmap = decodeNetworkConfigList(
      JSON.stringify({ ...JSON.parse(new TextDecoder().decode(list.bytes)), plugins: list.plugins.filter((p) => p.type !== 'portmap').map((p) => p.value) }),
    );
    await runtime.check(withoutPortmap, rt);

    await runtime.del(list, rt);
    expect((await podState(pod)).links).toEqual(['lo']);
    expect(existsSync(cacheFile)).toBe(false);
    expect(hostLocalReservations(dataDir, network)).toEqual([]);
    expect(scratch.exec(host, 'iptables', ['-t', 'nat', '-S'])).not.toContain('--dport 18080');
    expect(scratch.ip(host, 'link', 'show', 'type', 'ifb').trim()).toBe('');
  });

  it('after a failed ADD (the last plugin fails), DEL leaves no link, address, reservation or cache file', async () => {
    const own = tempDir();
    dirs.push(own);
    writeFileSync(join(own, 'refuse'), '#!/bin/sh\n[ "$CNI_COMMAND" = ADD ] || exit 0\necho \'{"cniVersion":"1.0.0","code":120,"msg":"policy says no"}\'\nexit 1\n');
    chmodSync(join(own, 'refuse'), 0o755);
    const { pod, list, runtime, rt, cacheFile, dataDir, network } = setup([{ type: 'refuse' }], [PLUGINS, own]);

    const error = await runtime.add(list, rt).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginError);
    expect(error).toMatchObject({ code: 120, msg: 'plugin type="refuse" failed (add): policy says no' });
    // The earlier plugins did their work, and nothing was cached.
    expect((await podState(pod)).addresses).toEqual(['10.99.7.2/24']);
    expect(existsSync(cacheFile)).toBe(false);

    await runtime.del(list, rt);
    const after = await podState(pod);
    expect(after.links).toEqual(['lo']);
    expect(after.addresses).toEqual([]);
    expect(hostLocalReservations(dataDir, network)).toEqual([]);
    expect(existsSync(cacheFile)).toBe(false);
  });

  it('DEL with the pod namespace already gone still releases the address', async () => {
    const { pod, list, runtime, rt, dataDir, network, cacheFile } = setup();
    await runtime.add(list, rt);
    const gone: RuntimeConf = { ...rt, netns: '' };
    scratch.ip(pod, 'link', 'del', 'eth0');
    await runtime.del(list as NetworkConfigList, gone);
    expect(hostLocalReservations(dataDir, network)).toEqual([]);
    expect(existsSync(cacheFile)).toBe(false);
  });
});
