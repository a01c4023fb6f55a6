import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { PluginError, delegateAdd, delegateCheck, delegateDel } from '../../src/index.js';
import { FakePlugins, sampleResult } from './fake-plugins.js';

// A plugin delegating to its IPAM plugin: the delegate gets the caller's CNI_*
// environment with CNI_COMMAND replaced, and the caller's own configuration on stdin.
let fake: FakePlugins;
beforeEach(() => {
  fake = new FakePlugins();
  fake.plugin('my-ipam');
});
afterEach(() => fake.remove());

const config = new TextEncoder().encode(
  JSON.stringify({ cniVersion: '1.0.0', name: 'podnet', type: 'my-bridge', ipam: { type: 'my-ipam', subnet: '10.9.0.0/24' } }),
);
const callerEnv = (): Record<string, string> => ({
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/run/netns/pod',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_NAME=web-0',
  CNI_PATH: `/nonexistent:${fake.bin}`,
  HOME: '/root',
});

describe('delegating to an IPAM plugin', () => {
  it('runs ADD with the caller environment and config, and decodes the result in its version', async () => {
    fake.on('my-ipam', 'ADD', { stdout: sampleResult('10.9.0.7/24') });
    const result = await delegateAdd('my-ipam', config, { env: callerEnv() });
    expect(result).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.9.0.7/24' }] });
    const [call] = fake.calls();
    expect(call).toMatchObject({
      command: 'ADD',
      env: expect.objectContaining({ CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/pod', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAME=web-0' }),
      stdin: expect.objectContaining({ name: 'podnet', ipam: { type: 'my-ipam', subnet: '10.9.0.0/24' } }),
    });
  });

  it('runs DEL and CHECK with CNI_COMMAND replaced', async () => {
    await delegateDel('my-ipam', config, { env: callerEnv() });
    await delegateCheck('my-ipam', config, { env: callerEnv() });
    expect(fake.calls().map((c) => c.command)).toEqual(['DEL', 'CHECK']);
  });

  it("reports the delegate's own error with its code", async () => {
    fake.on('my-ipam', 'ADD', { stdout: { cniVersion: '1.0.0', code: 11, msg: 'pool busy' }, exitCode: 1 });
    const error = await delegateAdd('my-ipam', config, { env: callerEnv() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginError);
    expect(error).toMatchObject({ code: 11, msg: 'plugin type="my-ipam" failed (add): pool busy', failure: 'error' });
  });

  it('needs CNI_PATH to find the delegate (code 4), and says when it is not there (code 5)', async () => {
    const { CNI_PATH: _, ...withoutPath } = callerEnv();
    await expect(delegateAdd('my-ipam', config, { env: withoutPath })).rejects.toMatchObject({ code: 4 });
    await expect(delegateAdd('other-ipam', config, { env: callerEnv() })).rejects.toMatchObject({ code: 5, failure: 'not-found' });
  });
});
