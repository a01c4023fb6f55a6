import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { type CniResult } from '@twill/cni-core';
import { Netlink } from '@twill/cni-core/net';
import { parsePoolPluginConfig, PoolAllocator } from '@twill/ipam';
import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NodeLab, podIp, startTcpServer, tcpConnect } from './node-lab.js';

const reason = rootSkipReason();
const PODS = 100;
const CONCURRENCY = 16;

// Runs `fn` over `items` with at most `limit` calls in flight.
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const isPodLink = (name: string): boolean => /^tw[0-9a-f]{13}$/u.test(name);
const inPools = (dst: string): boolean => dst.startsWith('10.244.') || dst.startsWith('fd00:10:244:');

describe.skipIf(reason)(`twill with ${PODS} pods at once as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: NodeLab;

  beforeEach(async () => {
    lab = await NodeLab.create();
  });

  afterEach(async () => {
    await lab.cleanup();
  });

  it(`adds and deletes ${PODS} pods ${CONCURRENCY} at a time: no duplicate address, no leaked link, route, file or allocation`, { timeout: 180_000 }, async () => {
    await lab.serve();
    const list = lab.conflist();
    const runtime = lab.runtime();
    const pods = Array.from({ length: PODS }, () => lab.scratch.netns());
    const attachment = (i: number) => ({ containerId: `many-${i}`, netns: pods[i]!.path, ifName: 'eth0' });

    const results: CniResult[] = await mapLimited(pods, CONCURRENCY, (_pod, i) => runtime.add(list, attachment(i)));
    const v4 = results.map((r) => podIp(r, 0));
    const v6 = results.map((r) => podIp(r, 1));
    expect(new Set(v4).size).toBe(PODS);
    expect(new Set(v6).size).toBe(PODS);

    // The kernel agrees: one host link and one route per address, each to its pod.
    const node = Netlink.open({ netns: lab.node.path });
    try {
      const links = (await node.listLinks()).filter((l) => isPodLink(l.name));
      expect(links).toHaveLength(PODS);
      const routes = [...(await node.listRoutes({ family: 4 })), ...(await node.listRoutes({ family: 6 }))].filter((r) => inPools(r.dst));
      expect(routes.map((r) => r.dst.split('/')[0]).sort()).toEqual([...v4, ...v6].sort());
      expect(new Set(routes.map((r) => r.index)).size).toBe(PODS);
    } finally {
      node.close();
    }
    // Two of them talk.
    const stop = await startTcpServer(pods[7]!, 8080);
    try {
      expect(await tcpConnect(pods[93]!, v4[7]!, 8080)).toBe(`hello from ${pods[7]!.name}`);
    } finally {
      stop();
    }
    const store = lab.openStore();
    try {
      expect(await store.list('twill-pools/handles/')).toHaveLength(PODS);
      expect(await store.list('twill-endpoints/twill-test/')).toHaveLength(PODS);

      await mapLimited(pods, CONCURRENCY, (_pod, i) => runtime.del(list, attachment(i)));

      const after = Netlink.open({ netns: lab.node.path });
      try {
        expect((await after.listLinks()).map((l) => l.name).filter(isPodLink)).toEqual([]);
        const left = [...(await after.listRoutes({ family: 4 })), ...(await after.listRoutes({ family: 6 }))].filter((r) => inPools(r.dst));
        expect(left).toEqual([]);
      } finally {
        after.close();
      }
      for (const pod of pods) expect(lab.ipJson<{ ifname: string }[]>(pod, 'link').map((l) => l.ifname)).toEqual(['lo']);
      expect(await store.list('twill-pools/handles/')).toEqual([]);
      expect(await store.list('twill-endpoints/twill-test/')).toEqual([]);
      // The pools agree: nothing allocated in either family.
      const pools = new PoolAllocator({ config: parsePoolPluginConfig(lab.twillConfig(), { defaultNodeName: 'node-a' }).pools, store });
      expect((await pools.usage()).map((u) => u.allocated)).toEqual([0n, 0n]);
    } finally {
      await store.close();
    }
    // No file left: the runtime's result cache is empty; the datastore folder holds the database only.
    expect(await readdir(join(lab.dir, 'cache', 'results')).catch(() => [])).toEqual([]);
    expect((await readdir(lab.dataDir)).filter((f) => !/^twill\.db(-wal|-shm)?$/u.test(f))).toEqual([]);
  });

  it('standalone processes at once share the datastore: distinct addresses, nothing left', { timeout: 180_000 }, async () => {
    // No server: every call is its own Node process on the same SQLite file.
    const list = lab.conflist();
    const runtime = lab.runtime();
    const pods = Array.from({ length: 6 }, () => lab.scratch.netns());
    const attachment = (i: number) => ({ containerId: `solo-${i}`, netns: pods[i]!.path, ifName: 'eth0' });
    const results = await Promise.all(pods.map((_pod, i) => runtime.add(list, attachment(i))));
    expect(new Set(results.map((r) => podIp(r))).size).toBe(pods.length);
    await Promise.all(pods.map((_pod, i) => runtime.del(list, attachment(i))));
    expect(lab.ipJson<{ ifname: string }[]>(lab.node, 'link').map((l) => l.ifname).filter(isPodLink)).toEqual([]);
    const store = lab.openStore();
    try {
      expect(await store.list('twill-pools/handles/')).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
