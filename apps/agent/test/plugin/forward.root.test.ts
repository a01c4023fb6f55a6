import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NodeLab } from './node-lab.js';

const reason = rootSkipReason();

// What differs between two correct ADDs of one attachment: MAC addresses, and the pod's
// addresses (a released address rests for the cooldown, so the second ADD gets another).
function normalized(stdout: string): unknown {
  return JSON.parse(
    stdout
      .replace(/"mac": "[0-9a-f:]+"/gu, '"mac": "<mac>"')
      .replace(/10\.244\.\d+\.\d+/gu, '<ipv4>')
      .replace(/fd00:10:244::[0-9a-f]+/gu, '<ipv6>'),
  );
}

describe.skipIf(reason)(`twill forwarded and standalone as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: NodeLab;

  beforeEach(async () => {
    lab = await NodeLab.create();
  });

  afterEach(async () => {
    await lab.cleanup();
  });

  it('gives the same answers through the agent (forwarder + servePlugins) as standalone', { timeout: 120_000 }, async () => {
    const pod = lab.scratch.netns();
    const env = { CNI_CONTAINERID: 'same-1', CNI_NETNS: pod.path, CNI_IFNAME: 'eth0' };
    // One sequence of calls a runtime could make, each answer kept.
    const sequence = async (): Promise<unknown[]> => {
      const answers: unknown[] = [];
      const run = async (command: string, config: object, extraEnv: object = {}): Promise<string> => {
        const { exitCode, stdout } = await lab.execTwill({ ...env, CNI_COMMAND: command, ...extraEnv }, config);
        answers.push({ command, exitCode, answer: stdout.trim() === '' ? '' : normalized(stdout) });
        return stdout;
      };
      await run('VERSION', lab.twillConfig());
      await run('ADD', lab.twillConfig({ mtu: 20 }));
      await run('ADD', lab.twillConfig({ dataplane: 'iptables' }));
      const added = JSON.parse(await run('ADD', lab.twillConfig())) as { ips: { address: string }[] };
      await run('ADD', lab.twillConfig());
      // A prevResult whose IPv4 address the pod does not have: drift.
      added.ips[0]!.address = '10.244.15.255/32';
      await run('CHECK', lab.twillConfig({ prevResult: added }));
      await run('STATUS', lab.twillConfig({ dataDir: '/dev/null/twill' }));
      await run('DEL', lab.twillConfig());
      await run('DEL', lab.twillConfig(), { CNI_NETNS: '' });
      await run('GC', { ...lab.twillConfig(), 'cni.dev/valid-attachments': [] });
      return answers;
    };
    const standalone = await sequence();
    await lab.serve();
    const forwarded = await sequence();
    expect(forwarded).toEqual(standalone);
    // And they are the answers a user expects, not two identical failures.
    expect(standalone.map((a) => [(a as { command: string }).command, (a as { exitCode: number }).exitCode])).toEqual([
      ['VERSION', 0],
      ['ADD', 1],
      ['ADD', 1],
      ['ADD', 0],
      ['ADD', 1],
      ['CHECK', 1],
      ['STATUS', 1],
      ['DEL', 0],
      ['DEL', 0],
      ['GC', 0],
    ]);
    expect(standalone[1]).toMatchObject({ answer: { code: 7, msg: 'mtu: must be an integer from 68 to 65535 (got 20)' } });
    expect(standalone[2]).toMatchObject({ answer: { code: 7, msg: 'dataplane: must be one of "nftables", "ebpf" (got "iptables")' } });
    expect(standalone[4]).toMatchObject({ answer: { code: 122 } });
    expect(standalone[5]).toMatchObject({ answer: { code: 121 } });
    expect(standalone[6]).toMatchObject({ answer: { code: 50 } });
  });
});
