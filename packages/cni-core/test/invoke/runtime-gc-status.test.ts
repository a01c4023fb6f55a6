// CniRuntime GC, STATUS, VERSION, validate and cachedAttachments over shell-script plugins.
import { writeFileSync } from 'node:fs';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { decodeNetworkConfigList } from '../../src/config/network-config.js';
import { type NetworkConfigList } from '../../src/config/types.js';
import { CniError, PluginError } from '../../src/errors.js';
import { FakePlugins, sampleResult } from './fake-plugins.js';

function network(version: string, name = 'podnet', extra: Record<string, unknown> = {}): NetworkConfigList {
  return decodeNetworkConfigList(
    JSON.stringify({ cniVersion: version, name, ...extra, plugins: [{ type: 'a', capabilities: { portMappings: true } }, { type: 'b' }] }),
  );
}

let fake: FakePlugins;
beforeEach(() => {
  fake = new FakePlugins();
  for (const p of ['a', 'b']) {
    fake.plugin(p);
    fake.on(p, 'ADD', { stdout: sampleResult('10.1.0.5/24', '1.1.0') });
  }
});
afterEach(() => fake.remove());

describe('CniRuntime.gc', () => {
  async function attach(list: NetworkConfigList, containerId: string, ifName: string): Promise<void> {
    await fake.runtime().add(list, { containerId, netns: `/run/netns/${containerId}`, ifName, args: [['POD', containerId]] });
  }

  it('deletes the cached attachments of this network not in validAttachments, then sends GC with them (1.1.0)', async () => {
    const list = network('1.1.0');
    await attach(list, 'keep', 'eth0');
    await attach(list, 'stale', 'eth0');
    await attach(list, 'keep', 'eth1');
    await attach(network('1.1.0', 'othernet'), 'stale', 'eth0');
    fake.calls({ clear: true });

    await fake.runtime().gc(list, { validAttachments: [{ containerID: 'keep', ifname: 'eth0' }] });
    expect(fake.sequence()).toEqual(['b/DEL', 'a/DEL', 'b/DEL', 'a/DEL', 'a/GC', 'b/GC']);
    const calls = fake.calls();
    // The stale attachments are deleted as they were added: netns, CNI_ARGS and result from the cache.
    expect(calls.slice(0, 4).map((c) => `${c.env['CNI_CONTAINERID']}/${c.env['CNI_IFNAME']}`)).toEqual([
      'keep/eth1', 'keep/eth1', 'stale/eth0', 'stale/eth0',
    ]);
    expect(calls[2]).toMatchObject({ env: { CNI_NETNS: '/run/netns/stale', CNI_ARGS: 'POD=stale' } });
    expect(calls[2]?.stdin?.['prevResult']).toEqual(sampleResult('10.1.0.5/24', '1.1.0'));
    const valid = [{ containerID: 'keep', ifname: 'eth0' }];
    expect(calls[4]?.stdin).toEqual({
      type: 'a',
      capabilities: { portMappings: true },
      'cni.dev/valid-attachments': valid,
      'cni.dev/attachments': valid,
      cniVersion: '1.1.0',
      name: 'podnet',
    });
    expect(calls[4]?.env).toMatchObject({ CNI_COMMAND: 'GC', CNI_PATH: fake.bin, CNI_CONTAINERID: '', CNI_NETNS: '' });

    expect(existsSync(fake.cacheFile('podnet', 'keep', 'eth0'))).toBe(true);
    expect(existsSync(fake.cacheFile('podnet', 'keep', 'eth1'))).toBe(false);
    expect(existsSync(fake.cacheFile('podnet', 'stale', 'eth0'))).toBe(false);
    expect(existsSync(fake.cacheFile('othernet', 'stale', 'eth0'))).toBe(true);
  });

  it('before 1.1.0 deletes stale attachments but sends no GC command', async () => {
    for (const p of ['a', 'b']) fake.on(p, 'ADD', { stdout: sampleResult('10.1.0.5/24', '1.0.0') });
    const list = network('1.0.0');
    await attach(list, 'stale', 'eth0');
    fake.calls({ clear: true });
    await fake.runtime().gc(list, { validAttachments: [] });
    expect(fake.sequence()).toEqual(['b/DEL', 'a/DEL']);
  });

  it('does nothing when the list sets disableGC', async () => {
    const list = network('1.1.0', 'podnet', { disableGC: true });
    await attach(list, 'stale', 'eth0');
    fake.calls({ clear: true });
    await fake.runtime().gc(list, { validAttachments: [] });
    expect(fake.calls()).toEqual([]);
    expect(existsSync(fake.cacheFile('podnet', 'stale', 'eth0'))).toBe(true);
  });

  it('tries everything and reports every failure together', async () => {
    const list = network('1.1.0');
    await attach(list, 'stale', 'eth0');
    fake.on('a', 'DEL', { stdout: { code: 100, msg: 'cannot delete' }, exitCode: 1 });
    fake.on('b', 'GC', { stdout: { code: 101, msg: 'cannot collect' }, exitCode: 1 });
    fake.calls({ clear: true });
    const error = await fake.runtime().gc(list, { validAttachments: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).message).toBe('GC of network podnet: 2 failure(s)');
    expect((error as AggregateError).errors.map((e: PluginError) => e.msg)).toEqual([
      'plugin type="a" failed (del): cannot delete',
      'plugin type="b" failed (gc): cannot collect',
    ]);
    expect(fake.sequence()).toEqual(['b/DEL', 'a/DEL', 'a/GC', 'b/GC']);
    // The failed DEL keeps its cache entry for the next GC.
    expect(existsSync(fake.cacheFile('podnet', 'stale', 'eth0'))).toBe(true);
  });
});

describe('CniRuntime.status', () => {
  it('asks each plugin of a 1.1.0 list in order', async () => {
    await fake.runtime().status(network('1.1.0'));
    expect(fake.sequence()).toEqual(['a/STATUS', 'b/STATUS']);
    expect(fake.calls()[0]?.stdin).toMatchObject({ type: 'a', cniVersion: '1.1.0', name: 'podnet' });
  });

  it('fails with the first not-ready plugin and its code (50)', async () => {
    fake.on('a', 'STATUS', { stdout: { cniVersion: '1.1.0', code: 50, msg: 'no IP addresses left' }, exitCode: 1 });
    const error = await fake.runtime().status(network('1.1.0')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginError);
    expect(error).toMatchObject({ code: 50, msg: 'plugin type="a" failed (status): no IP addresses left' });
    expect(fake.sequence()).toEqual(['a/STATUS']);
  });

  it('is always ready for a list older than 1.1.0, asking nobody', async () => {
    await fake.runtime().status(network('1.0.0'));
    expect(fake.calls()).toEqual([]);
  });
});

describe('CniRuntime.version and validate', () => {
  it("gives a plugin's VERSION answer, asking with placeholder netns and ifname as libcni does", async () => {
    fake.on('a', 'VERSION', { stdout: { cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] } });
    expect(await fake.runtime().version('a', '1.0.0')).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] });
    const [call] = fake.calls();
    expect(call?.stdin).toEqual({ cniVersion: '1.0.0' });
    expect(call?.env).toMatchObject({ CNI_COMMAND: 'VERSION', CNI_NETNS: 'dummy', CNI_IFNAME: 'dummy', CNI_CONTAINERID: '' });
  });

  it('reports a VERSION answer that does not decode with code 6', async () => {
    fake.on('a', 'VERSION', { stdout: { cniVersion: '1.0.0' } });
    await expect(fake.runtime().version('a')).rejects.toMatchObject({ code: 6, msg: 'supportedVersions: missing required field' });
  });

  it("validate returns the list's capabilities when every plugin supports its version", async () => {
    expect(await fake.runtime().validate(network('1.1.0'))).toEqual(['portMappings']);
    expect(fake.sequence()).toEqual(['a/VERSION', 'b/VERSION']);
    expect(fake.calls()[0]?.stdin).toEqual({ cniVersion: '1.1.0' });
  });

  it('validate reports every plugin that is missing or does not support the version (code 1)', async () => {
    fake.on('b', 'VERSION', { stdout: { cniVersion: '1.0.0', supportedVersions: ['0.3.1', '0.4.0'] } });
    const list = decodeNetworkConfigList('{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a"},{"type":"b"},{"type":"gone"}]}');
    const error = await fake.runtime().validate(list).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    const [unsupported, missing] = (error as AggregateError).errors as CniError[];
    expect(unsupported).toBeInstanceOf(CniError);
    expect(unsupported).toMatchObject({ code: 1, msg: 'plugin b does not support config version "1.0.0"', details: 'it supports 0.3.1, 0.4.0' });
    expect(missing).toMatchObject({ code: 5, failure: 'not-found', plugin: 'gone' });
  });
});

describe('CniRuntime.cachedAttachments', () => {
  it('lists the cached attachments, of one container when asked, skipping unreadable entries', async () => {
    const runtime = fake.runtime();
    const list = network('1.1.0');
    for (const id of ['c1', 'c11', 'c2']) {
      await runtime.add(list, { containerId: id, netns: `/run/netns/${id}`, ifName: 'eth0', capabilityArgs: { portMappings: [] } });
    }
    const results = join(fake.cacheDir, 'results');
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, 'podnet-c1-eth9'), 'not json');
    writeFileSync(join(results, 'podnet-c1-eth8'), '{"kind":"somethingElse","containerId":"c1","ifName":"eth8","networkName":"podnet"}');

    const all = await runtime.cachedAttachments();
    expect(all.map((a) => `${a.networkName}/${a.containerId}/${a.ifName}`)).toEqual(['podnet/c1/eth0', 'podnet/c11/eth0', 'podnet/c2/eth0']);
    const [first] = all;
    expect(first).toMatchObject({ netns: '/run/netns/c1', capabilityArgs: { portMappings: [] } });
    expect(new TextDecoder().decode(first?.config)).toBe(new TextDecoder().decode(list.bytes));
    expect((await runtime.cachedAttachments('c1')).map((a) => a.containerId)).toEqual(['c1']);
    expect(await runtime.cachedAttachments('nope')).toEqual([]);
  });

  it('is empty when there is no cache folder yet', async () => {
    expect(await fake.runtime().cachedAttachments()).toEqual([]);
  });
});
