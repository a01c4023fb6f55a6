// CniRuntime ADD, CHECK and DEL over real executables (shell-script plugins): the plugin
// search, the environment, the chain with prevResult, and libcni's result cache.
import { existsSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { decodeNetworkConfigList } from '../../src/config/network-config.js';
import { type NetworkConfigList } from '../../src/config/types.js';
import { CniError, PluginError } from '../../src/errors.js';
import { type RuntimeConf } from '../../src/invoke/types.js';
import { FakePlugins, sampleResult } from './fake-plugins.js';

const RT: RuntimeConf = {
  containerId: 'c0ffee01',
  netns: '/var/run/netns/pod-1',
  ifName: 'eth0',
  args: [
    ['K8S_POD_NAME', 'web-0'],
    ['K8S_POD_NAMESPACE', 'default'],
  ],
  capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], bandwidth: { ingressRate: 1000 } },
};

function network(version: string, plugins: Record<string, unknown>[], extra: Record<string, unknown> = {}): NetworkConfigList {
  return decodeNetworkConfigList(JSON.stringify({ cniVersion: version, name: 'podnet', ...extra, plugins }));
}

let fake: FakePlugins;
beforeEach(() => {
  fake = new FakePlugins();
});
afterEach(() => fake.remove());

describe('CniRuntime: finding plugins', () => {
  it('runs the first executable named `type` along CNI_PATH, skipping folders without one', async () => {
    const empty = fake.folder('empty');
    const second = fake.folder('second');
    const third = fake.folder('third');
    // A non-executable file of that name is not a plugin.
    writeFileSync(join(empty, 'a'), '#!/bin/sh\nexit 99\n');
    chmodSync(join(empty, 'a'), 0o644);
    fake.plugin('a', second);
    fake.plugin('a', third);
    fake.on('a', 'ADD', { stdout: sampleResult('10.1.0.5/24') });
    await fake.runtime({ path: [empty, second, third] }).add(network('1.0.0', [{ type: 'a' }]), RT);
    expect(fake.calls().map((c) => c.file)).toEqual([join(second, 'a')]);
  });

  it('fails with code 5 and failure not-found when no folder has the plugin, running nothing', async () => {
    fake.plugin('a');
    fake.on('a', 'ADD', { stdout: sampleResult('10.1.0.5/24') });
    const list = network('1.0.0', [{ type: 'a' }, { type: 'missing' }]);
    const error = await fake.runtime().add(list, RT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginError);
    expect(error).toMatchObject({ code: 5, failure: 'not-found', plugin: 'missing', command: 'ADD' });
    expect((error as PluginError).msg).toBe(`plugin type="missing" failed (add): no executable named "missing" in ${JSON.stringify([fake.bin])}`);
    // The first plugin ran; nothing was cached, so the caller's DEL must still clean up.
    expect(fake.sequence()).toEqual(['a/ADD']);
    expect(existsSync(fake.cacheFile('podnet', RT.containerId, 'eth0'))).toBe(false);
  });
});

describe('CniRuntime: the environment of a call', () => {
  it('passes the CNI_* variables of the attachment, with CNI_ARGS as K=V pairs joined by ";"', async () => {
    fake.plugin('a');
    fake.on('a', 'ADD', { stdout: sampleResult('10.1.0.5/24') });
    const other = fake.folder('other');
    await fake.runtime({ path: [fake.bin, other] }).add(network('1.0.0', [{ type: 'a' }]), RT);
    const [call] = fake.calls();
    expect(call?.env).toMatchObject({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c0ffee01',
      CNI_NETNS: '/var/run/netns/pod-1',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=default',
      CNI_PATH: `${fake.bin}:${other}`,
    });
  });

  it('involves no shell: metacharacters in a plugin type and in CNI_ARGS stay inert', async () => {
    const type = 'p;touch pwned;$(touch pwned2)`touch pwned3`';
    fake.plugin(type);
    fake.on(type, 'ADD', { stdout: sampleResult('10.1.0.5/24') });
    const rt = { ...RT, args: [['X', '$(touch pwned4);|&>y']] as const };
    await fake.runtime().add(network('1.0.0', [{ type }]), rt);
    const [call] = fake.calls();
    expect(call?.type).toBe(type);
    expect(call?.env['CNI_ARGS']).toBe('X=$(touch pwned4);|&>y');
    for (const file of ['pwned', 'pwned2', 'pwned3', 'pwned4', 'y']) {
      expect(existsSync(join(process.cwd(), file))).toBe(false);
      expect(existsSync(join(fake.bin, file))).toBe(false);
    }
  });

  it('does not let CNI_* variables of its own environment leak into a call that leaves them out', async () => {
    fake.plugin('a');
    const previous = { netns: process.env['CNI_NETNS'], args: process.env['CNI_ARGS'] };
    process.env['CNI_NETNS'] = '/proc/1/ns/net';
    process.env['CNI_ARGS'] = 'OUTER=1';
    try {
      // DEL may come without a netns; the plugin must not see the runtime's own.
      await fake.runtime().del(network('1.0.0', [{ type: 'a' }]), { containerId: 'c1', netns: '', ifName: 'eth0' });
    } finally {
      for (const [k, v] of [['CNI_NETNS', previous.netns], ['CNI_ARGS', previous.args]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const [call] = fake.calls();
    expect(call?.env['CNI_NETNS'] ?? '').toBe('');
    expect(call?.env['CNI_ARGS'] ?? '').toBe('');
  });
});

describe('CniRuntime: ADD, CHECK and DEL of a chain', () => {
  const first = sampleResult('10.1.0.5/24');
  const second = { ...sampleResult('10.1.0.5/24'), interfaces: [{ name: 'eth0', mac: '0a:58:0a:01:00:05', sandbox: '/var/run/netns/pod-1' }, { name: 'veth1' }] };
  const third = { ...second, dns: { nameservers: ['10.1.0.1'] } };
  const chain = (): NetworkConfigList =>
    network('1.0.0', [
      { type: 'a', bridge: 'cni0', capabilities: { portMappings: true }, runtimeConfig: { stale: true } },
      { type: 'b', capabilities: { bandwidth: false } },
      { type: 'c', custom: { deep: [1, 2] } },
    ]);

  beforeEach(() => {
    for (const p of ['a', 'b', 'c']) fake.plugin(p);
    fake.on('a', 'ADD', { stdout: first });
    fake.on('b', 'ADD', { stdout: second });
    fake.on('c', 'ADD', { stdout: third });
  });

  it('ADD runs the plugins in order, each with the previous result, and returns the last result', async () => {
    const result = await fake.runtime().add(chain(), RT);
    expect(fake.sequence()).toEqual(['a/ADD', 'b/ADD', 'c/ADD']);
    const [a, b, c] = fake.calls();
    // name and cniVersion injected; runtimeConfig only for a declared capability.
    expect(a?.stdin).toEqual({
      type: 'a',
      bridge: 'cni0',
      capabilities: { portMappings: true },
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
      cniVersion: '1.0.0',
      name: 'podnet',
    });
    expect(b?.stdin).toEqual({ type: 'b', capabilities: { bandwidth: false }, cniVersion: '1.0.0', name: 'podnet', prevResult: first });
    expect(c?.stdin).toMatchObject({ type: 'c', cniVersion: '1.0.0', name: 'podnet', prevResult: second });
    expect(c?.stdin).not.toHaveProperty('runtimeConfig');
    expect(result).toEqual(third);
  });

  it("caches the final result in libcni's cniCacheV1 format at <dir>/results/<net>-<cid>-<ifname>", async () => {
    const list = chain();
    await fake.runtime().add(list, RT);
    const file = fake.cacheFile('podnet', 'c0ffee01', 'eth0');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(fake.cacheDir, 'results')).mode & 0o777).toBe(0o700);
    const record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(record)).toEqual(['kind', 'containerId', 'config', 'ifName', 'networkName', 'netns', 'cniArgs', 'capabilityArgs', 'result']);
    expect(record).toEqual({
      kind: 'cniCacheV1',
      containerId: 'c0ffee01',
      config: Buffer.from(list.bytes).toString('base64'),
      ifName: 'eth0',
      networkName: 'podnet',
      netns: '/var/run/netns/pod-1',
      cniArgs: [
        ['K8S_POD_NAME', 'web-0'],
        ['K8S_POD_NAMESPACE', 'default'],
      ],
      capabilityArgs: RT.capabilityArgs,
      result: third,
    });
    // The config bytes are the document exactly as given.
    expect(Buffer.from(record['config'] as string, 'base64').toString('utf8')).toBe(new TextDecoder().decode(list.bytes));
  });

  it('CHECK runs the plugins in order with the cached result as prevResult', async () => {
    const runtime = fake.runtime();
    await runtime.add(chain(), RT);
    fake.calls({ clear: true });
    await runtime.check(chain(), RT);
    expect(fake.sequence()).toEqual(['a/CHECK', 'b/CHECK', 'c/CHECK']);
    for (const call of fake.calls()) {
      expect(call.stdin?.['prevResult']).toEqual(third);
      expect(call.env).toMatchObject({ CNI_COMMAND: 'CHECK', CNI_CONTAINERID: 'c0ffee01', CNI_NETNS: '/var/run/netns/pod-1', CNI_IFNAME: 'eth0' });
    }
  });

  it('DEL runs the plugins in reverse with the cached result, then removes the cache file', async () => {
    const runtime = fake.runtime();
    await runtime.add(chain(), RT);
    fake.calls({ clear: true });
    await runtime.del(chain(), RT);
    expect(fake.sequence()).toEqual(['c/DEL', 'b/DEL', 'a/DEL']);
    for (const call of fake.calls()) expect(call.stdin?.['prevResult']).toEqual(third);
    expect(existsSync(fake.cacheFile('podnet', 'c0ffee01', 'eth0'))).toBe(false);
    // A second DEL finds no cache and still runs every plugin, without prevResult.
    fake.calls({ clear: true });
    await runtime.del(chain(), RT);
    expect(fake.sequence()).toEqual(['c/DEL', 'b/DEL', 'a/DEL']);
    for (const call of fake.calls()) expect(call.stdin).not.toHaveProperty('prevResult');
  });

  it('a failed ADD caches nothing, and the DEL after it runs every plugin with no prevResult', async () => {
    fake.on('b', 'ADD', { stdout: { cniVersion: '1.0.0', code: 11, msg: 'address pool busy', details: 'lock held by 42' }, exitCode: 1 });
    const runtime = fake.runtime();
    const error = await runtime.add(chain(), RT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginError);
    expect(error).toMatchObject({ code: 11, msg: 'plugin type="b" failed (add): address pool busy', details: 'lock held by 42', failure: 'error', plugin: 'b' });
    expect(fake.sequence()).toEqual(['a/ADD', 'b/ADD']);
    expect(existsSync(fake.cacheFile('podnet', 'c0ffee01', 'eth0'))).toBe(false);
    expect(await runtime.cachedAttachments()).toEqual([]);

    fake.calls({ clear: true });
    await runtime.del(chain(), RT);
    expect(fake.sequence()).toEqual(['c/DEL', 'b/DEL', 'a/DEL']);
    for (const call of fake.calls()) {
      expect(call.stdin).not.toHaveProperty('prevResult');
      expect(call.env['CNI_COMMAND']).toBe('DEL');
    }
  });

  it('a DEL that fails keeps the cache entry, so a retry still has the result', async () => {
    const runtime = fake.runtime();
    await runtime.add(chain(), RT);
    fake.on('b', 'DEL', { stdout: { code: 100, msg: 'busy' }, exitCode: 1 });
    await expect(runtime.del(chain(), RT)).rejects.toMatchObject({ code: 100, msg: 'plugin type="b" failed (del): busy' });
    expect(existsSync(fake.cacheFile('podnet', 'c0ffee01', 'eth0'))).toBe(true);
    fake.on('b', 'DEL', {});
    fake.calls({ clear: true });
    await runtime.del(chain(), RT);
    expect(fake.calls().map((c) => c.stdin?.['prevResult'])).toEqual([third, third, third]);
  });

  it('hands each plugin its object exactly as written, numbers included', async () => {
    const text = '{"cniVersion":"1.0.0","name":"podnet","plugins":[{"type":"a","mtu":1.50e3,"custom":{"deep":[1,2.50]}}]}';
    await fake.runtime().add(decodeNetworkConfigList(text), RT);
    expect(fake.calls()[0]?.stdinText).toBe('{"type":"a","mtu":1.50e3,"custom":{"deep":[1,2.50]},"cniVersion":"1.0.0","name":"podnet"}');
  });

  it('disableCheck makes CHECK run nothing', async () => {
    const list = network('1.0.0', [{ type: 'a' }], { disableCheck: true });
    await fake.runtime().check(list, RT);
    expect(fake.calls()).toEqual([]);
  });

  it('CHECK on a list older than 0.4.0 fails with code 1 and runs nothing', async () => {
    const error = await fake.runtime().check(network('0.3.1', [{ type: 'a' }]), RT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CniError);
    expect(error).toMatchObject({ code: 1, msg: 'configuration version "0.3.1" does not support the CHECK command' });
    expect(fake.calls()).toEqual([]);
  });

  it('DEL on a list older than 0.4.0 passes no prevResult, even with a cached result', async () => {
    fake.on('a', 'ADD', { stdout: { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.0.5/24' }] } });
    const list = network('0.3.1', [{ type: 'a' }]);
    const runtime = fake.runtime();
    await runtime.add(list, RT);
    fake.calls({ clear: true });
    await runtime.del(list, RT);
    expect(fake.calls()[0]?.stdin).not.toHaveProperty('prevResult');
    expect(existsSync(fake.cacheFile('podnet', 'c0ffee01', 'eth0'))).toBe(false);
  });

  it('a cached result of an older version is given to CHECK converted to the list version', async () => {
    const runtime = fake.runtime();
    const list = network('1.0.0', [{ type: 'a' }]);
    await runtime.add(list, RT);
    // As if a libcni runtime had cached a 0.4.0 result for this attachment.
    const file = fake.cacheFile('podnet', 'c0ffee01', 'eth0');
    const record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    record['result'] = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.9/24' }] };
    writeFileSync(file, JSON.stringify(record));
    fake.calls({ clear: true });
    await runtime.check(list, RT);
    expect(fake.calls()[0]?.stdin?.['prevResult']).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.1.0.9/24' }] });
  });
});
