// checkNode over the real kernel reader: pods added through the installed forwarder, then
// the node changed behind twill's back with `ip`, as an operator (or a crash) would.
import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { checkNode, nodeCheckNetwork, type NodeCheckReport } from '../../src/agent/node-check.js';
import { nodeKernelReader } from '../../src/agent/sys/node-check-kernel.js';
import { parseTwillConfig } from '../../src/plugin/config.js';
import { hostInterfaceName } from '../../src/plugin/names.js';
import { NodeLab, podIp } from '../plugin/node-lab.js';

const reason = rootSkipReason();

describe.skipIf(reason)(`checkNode on a real node as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: NodeLab;

  beforeEach(async () => {
    lab = await NodeLab.create();
  });

  afterEach(async () => {
    await lab.cleanup();
  });

  async function check(): Promise<NodeCheckReport> {
    const store = lab.openStore();
    try {
      const config = parseTwillConfig(lab.twillConfig(), { defaultNodeName: 'node-a' });
      return await checkNode({ store, kernel: nodeKernelReader({ netns: lab.node.path }), nodeName: 'node-a', networks: [nodeCheckNetwork(config)] });
    } finally {
      await store.close();
    }
  }

  it('finds dual-stack pods consistent, then names a deleted link, a stray route and a leftover link', { timeout: 120_000 }, async () => {
    await lab.serve();
    const list = lab.conflist();
    const runtime = lab.runtime();
    const pods = [lab.scratch.netns(), lab.scratch.netns()];
    const results = await Promise.all(pods.map((pod, i) => runtime.add(list, { containerId: `chk-${i}`, netns: pod.path, ifName: 'eth0' })));
    expect(await check()).toEqual({ consistent: true, node: 'node-a', endpoints: 2, links: 2, allocations: 2, problems: [] });

    // The first pod's host end removed by hand: its record is left without a link.
    const first = hostInterfaceName('chk-0', 'eth0');
    lab.scratch.ip(lab.node, 'link', 'del', first);
    // A /32 of the pools routed out of the uplink: no endpoint accounts for it.
    const uplink = lab.ipJson<{ dev: string }[]>(lab.node, 'route', 'show', 'default')[0]!.dev;
    lab.scratch.ip(lab.node, 'route', 'add', '10.244.15.250/32', 'dev', uplink);
    // A twill-named veth nobody recorded (a crashed ADD of an unknown attachment).
    const stray = hostInterfaceName('ghost', 'eth0');
    lab.scratch.ip(lab.node, 'link', 'add', stray, 'type', 'veth', 'peer', 'name', 'ghost-peer');

    const report = await check();
    expect(report.consistent).toBe(false);
    expect(report.problems).toEqual([
      { kind: 'record-without-link', subject: 'twill-test/chk-0', detail: `its host-side link ${first} is not in the node's namespace` },
      { kind: 'link-without-record', subject: stray, detail: 'a twill host-side link that no endpoint record names' },
      { kind: 'route-without-link', subject: '10.244.15.250/32', detail: `dev ${uplink}: no endpoint's host-side link holds 10.244.15.250` },
    ]);
    // The second pod is untouched: nothing is said about it or its addresses.
    expect(JSON.stringify(report.problems)).not.toContain(podIp(results[1]!));
  });
});
