// How a failing plugin is reported: its own CNI error, a crash, garbage, a hang.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { decodeNetworkConfigList } from '../../src/config/network-config.js';
import { PluginError } from '../../src/errors.js';
import { type RuntimeConf } from '../../src/invoke/types.js';
import { FakePlugins, processGone, sampleResult } from './fake-plugins.js';

const RT: RuntimeConf = { containerId: 'c1', netns: '/var/run/netns/pod-1', ifName: 'eth0' };
const LIST = decodeNetworkConfigList('{"cniVersion":"1.0.0","name":"podnet","plugins":[{"type":"x"}]}');

let fake: FakePlugins;
beforeEach(() => {
  fake = new FakePlugins();
  fake.plugin('x');
});
afterEach(() => fake.remove());

async function addError(options: { timeoutMs?: number } = {}): Promise<PluginError> {
  const error = await fake.runtime(options).add(LIST, RT).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PluginError);
  return error as PluginError;
}

describe('CniRuntime: a failing plugin', () => {
  it("keeps the plugin's own code, msg and details, prefixed as libcni does", async () => {
    fake.on('x', 'ADD', {
      stdout: { cniVersion: '1.0.0', code: 107, msg: 'vlan 4095 is reserved', details: 'use 1-4094' },
      stderr: 'log line\n',
      exitCode: 1,
    });
    const error = await addError();
    expect(error).toMatchObject({
      code: 107,
      msg: 'plugin type="x" failed (add): vlan 4095 is reserved',
      details: 'use 1-4094',
      failure: 'error',
      plugin: 'x',
      command: 'ADD',
      stderr: 'log line\n',
    });
    expect(error.toJSON('1.0.0')).toEqual({ cniVersion: '1.0.0', code: 107, msg: error.msg, details: 'use 1-4094' });
  });

  it('reports a crash without an error document as code 5, failure crashed, with its stderr', async () => {
    fake.on('x', 'ADD', { stderr: 'panic: runtime error: index out of range\n', exitCode: 2 });
    const error = await addError();
    expect(error).toMatchObject({
      code: 5,
      msg: 'plugin type="x" failed (add): exited 2 without a CNI error',
      details: 'panic: runtime error: index out of range',
      failure: 'crashed',
    });
  });

  it('reports garbage printed on failure as a crash, quoting what it printed', async () => {
    fake.on('x', 'ADD', { stdout: 'Segmentation fault {', exitCode: 139 });
    const error = await addError();
    expect(error).toMatchObject({ code: 5, failure: 'crashed', details: 'Segmentation fault {' });
    expect(error.msg).toBe('plugin type="x" failed (add): exited 139 without a CNI error');
  });

  it('reports garbage printed on success as a result that is not valid (code 6, bad-output), and caches nothing', async () => {
    fake.on('x', 'ADD', { stdout: 'ok, done!' });
    const error = await addError();
    expect(error).toMatchObject({ code: 6, failure: 'bad-output', plugin: 'x', command: 'ADD' });
    expect(error.msg).toBe('plugin type="x" failed (add): its result is not valid: result: invalid JSON');
    expect(await fake.runtime().cachedAttachments()).toEqual([]);
  });

  it('reports a result with a bad field by its path', async () => {
    fake.on('x', 'ADD', { stdout: { cniVersion: '1.0.0', ips: [{ address: '10.1/33' }] } });
    const error = await addError();
    expect(error).toMatchObject({ code: 6, failure: 'bad-output' });
    expect(error.msg).toMatch(/^plugin type="x" failed \(add\): its result is not valid: ips\[0\]\.address: /u);
  });

  it('converts a result of another version to the list version when nothing is lost', async () => {
    fake.on('x', 'ADD', { stdout: { cniVersion: '0.2.0', ip4: { ip: '10.1.0.5/24' } } });
    const result = await fake.runtime().add(LIST, RT);
    expect(result).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/24' }] });
  });

  it('refuses a result of another version that the list version cannot carry (code 1)', async () => {
    fake.on('x', 'ADD', { stdout: { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', mtu: 1400 }] } });
    const error = await addError();
    expect(error).toMatchObject({ code: 1, failure: 'bad-output' });
    expect(error.msg).toContain('cannot convert result from 1.1.0 to 1.0.0 without losing interfaces[0].mtu');
  });

  it('kills a plugin that runs past the timeout, with everything it started, and says so', async () => {
    // The timeout must outlast the script's way to its `sleep` (a dozen forks, which
    // take seconds on a loaded machine): killed before it, there is no child to check.
    // 5 s against a 60 s sleep keeps this about the kill, not about start-up speed.
    fake.on('x', 'ADD', { sleepSeconds: 60 });
    const error = await addError({ timeoutMs: 5_000 });
    expect(error).toMatchObject({ code: 5, failure: 'timeout', msg: 'plugin type="x" failed (add): killed after 5000 ms' });
    const [call] = fake.calls();
    expect(call?.childPid).toBeDefined();
    // The plugin and the `sleep` it started are gone, not left running for a minute.
    await vi.waitFor(() => {
      expect(processGone(call?.pid ?? 0)).toBe(true);
      expect(processGone(call?.childPid ?? 0)).toBe(true);
    });
  });

  it('reports a plugin that cannot be started (a bad interpreter line) as exec-failed', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${fake.bin}/x`, '#!/nonexistent/interpreter\n');
    const error = await addError();
    expect(error).toMatchObject({ code: 5, failure: 'exec-failed', plugin: 'x' });
    expect(error.msg).toBe(`plugin type="x" failed (add): cannot run ${fake.bin}/x`);
  });

  it('a plugin that answers without reading its stdin is fine', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${fake.bin}/x`, `#!/bin/sh\necho '${JSON.stringify(sampleResult('10.1.0.5/24'))}'\n`);
    const big = decodeNetworkConfigList(JSON.stringify({ cniVersion: '1.0.0', name: 'podnet', plugins: [{ type: 'x', pad: 'p'.repeat(1 << 20) }] }));
    await expect(fake.runtime().add(big, RT)).resolves.toMatchObject({ ips: [{ address: '10.1.0.5/24' }] });
  });
});
