// twill-ipam as a runtime meets it when installed behind the native forwarder: the same
// answers with the warm server (serveIpam) and without it (the forwarder execs the
// standalone plugin), 64 callers at once through the server without a duplicate,
// host-local on the same data directory, and `twill-ipam serve` as a process.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type PluginServer } from '@twill/cni-core';

import { parsePoolIpamConfig, PoolAllocator } from '../../src/pool/index.js';
import { serveIpam } from '../../src/plugin/index.js';
import { SqliteStore } from '../../src/store/sys/sqlite-store.js';
import { bundleScript } from '../bundle.js';
import { addAddresses, DEBIAN_CNI_BIN, execPlugin, forwardedBinDir, type PluginCall, removeTempDirs, tempDir } from './plugin-exec.js';

const HOST_LOCAL = join(DEBIAN_CNI_BIN, 'host-local');
const CALLERS = 64;

let plugin = '';
const servers: PluginServer[] = [];
beforeAll(async () => {
  plugin = (await forwardedBinDir()).plugin;
});
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});
afterAll(removeTempDirs);

async function serve(): Promise<string> {
  const socket = join(tempDir('twill-ipam-sock-'), 'agent.sock');
  servers.push(await serveIpam({ socketPath: socket }));
  return socket;
}

function rangeConfig(dataDir: string, type = 'twill-ipam', store = 'sqlite') {
  return { cniVersion: '1.0.0', name: 'fwd', type: 'bridge', ipam: { type, store, dataDir, ranges: [[{ subnet: '10.66.0.0/24' }], [{ subnet: 'fd66::/120' }]] } };
}

function poolConfig(dataDir: string) {
  return { cniVersion: '1.0.0', name: 'pods', type: 'ptp', ipam: { type: 'twill-ipam', dataDir, nodeName: 'node-1', pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }] } };
}

// ADD, CHECK with the ADD's result, DEL, CHECK again: the outputs and exit codes.
async function lifecycle(config: (dataDir: string) => Record<string, unknown>, env: Record<string, string>) {
  const dataDir = tempDir();
  const base = config(dataDir);
  const call = (command: PluginCall['command'], extra: Record<string, unknown> = {}) =>
    execPlugin(plugin, { command, config: { ...base, ...extra }, containerId: 'ctr-a', env });
  const add = await call('ADD');
  const steps = [add, await call('CHECK', { prevResult: add.output }), await call('DEL'), await call('CHECK', { prevResult: add.output }), await call('STATUS', { cniVersion: '1.1.0' })];
  return steps.map((s) => ({ exitCode: s.exitCode, output: s.output }));
}

describe('twill-ipam behind the forwarder', () => {
  it.each([
    ['ranges, sqlite store', (dir: string) => rangeConfig(dir)],
    ['ranges, files store', (dir: string) => rangeConfig(dir, 'twill-ipam', 'files')],
    ['pools', poolConfig],
  ] as const)('%s: the same answers with the warm server as from the standalone plugin', async (_name, config) => {
    const standalone = await lifecycle(config, { TWILL_AGENT_SOCKET: join(tempDir(), 'nobody.sock') });
    // A standalone plugin that does not exist: every answer must come from the server.
    const served = await lifecycle(config, { TWILL_AGENT_SOCKET: await serve(), TWILL_STANDALONE: '/nonexistent/twill-ipam' });
    expect(served).toEqual(standalone);
    // And they are the answers a runtime wants: ADD and CHECK succeed, CHECK after DEL fails.
    expect(standalone.map((s) => s.exitCode)).toEqual([0, 0, 0, 1, 0]);
    expect(standalone[3]?.output).toMatchObject({ code: 999 });
  }, 120_000);

  it(`${CALLERS} callers at once through the server, pool mode: no duplicates, each held by its own handle`, async () => {
    const socket = await serve();
    const dataDir = tempDir();
    const calls = Array.from({ length: CALLERS }, (_, i) =>
      addAddresses(plugin, { config: poolConfig(dataDir), containerId: `ctr-${i}`, env: { TWILL_AGENT_SOCKET: socket, CNI_ARGS: `K8S_POD_NAMESPACE=ns;K8S_POD_NAME=pod-${i}` } }),
    );
    const got = await Promise.all(calls);
    expect(new Set(got.flat()).size).toBe(CALLERS);
    const store = SqliteStore.open({ path: join(dataDir, 'twill-ipam.db') });
    try {
      const allocator = new PoolAllocator({ config: parsePoolIpamConfig(poolConfig(dataDir).ipam, { network: 'pods' }), store });
      for (const [i, [ip]] of got.entries()) {
        expect(await allocator.whyHeld(ip ?? '')).toMatchObject({ state: 'allocated', handle: `pods.ctr-${i}`, namespace: 'ns', pod: `pod-${i}`, node: 'node-1' });
      }
    } finally {
      await store.close();
    }
  }, 180_000);

  // One network's range in one process: calls on the store run in turn (without that,
  // 32 concurrent compare-and-swap attempts on the files store outlasted the retries).
  it.each(['sqlite', 'files'])(`${CALLERS} callers at once through the server, ranges on the %s store: all succeed, no duplicates`, async (store) => {
    const socket = await serve();
    const dataDir = tempDir();
    const got = await Promise.all(
      Array.from({ length: CALLERS }, (_, i) => addAddresses(plugin, { config: rangeConfig(dataDir, 'twill-ipam', store), containerId: `ctr-${i}`, env: { TWILL_AGENT_SOCKET: socket } })),
    );
    expect(new Set(got.flat()).size).toBe(CALLERS * 2);
  }, 180_000);

  it.skipIf(!existsSync(HOST_LOCAL))('takes turns with host-local on one data directory (files store) without a duplicate', async () => {
    const socket = await serve();
    const dataDir = tempDir();
    const got = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0
          ? addAddresses(HOST_LOCAL, { config: rangeConfig(dataDir, 'host-local', 'files'), containerId: `hl-${i}` })
          : addAddresses(plugin, { config: rangeConfig(dataDir, 'twill-ipam', 'files'), containerId: `tw-${i}`, env: { TWILL_AGENT_SOCKET: socket } }),
      ),
    );
    expect(new Set(got.flat()).size).toBe(24);
    const files = readdirSync(join(dataDir, 'fwd')).filter((n) => /^[0-9a-f.:]+$/u.test(n) && /[.:]/u.test(n));
    expect(files.sort()).toEqual([...got.flat()].sort());
  }, 120_000);

  it('`twill-ipam serve --socket PATH` serves until SIGTERM, then removes its socket', async () => {
    const socket = join(tempDir('twill-ipam-sock-'), 'agent.sock');
    const cli = await bundleScript(join(import.meta.dirname, '..', '..', 'src', 'plugin', 'sys', 'cli.ts'));
    const child = spawn(process.execPath, [cli, 'serve', '--socket', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        let said = '';
        child.stderr.on('data', (chunk: Buffer) => {
          said += chunk.toString();
          if (said.includes(`serving on ${socket}`)) resolve();
        });
        void exited.then(() => reject(new Error(`serve exited: ${said}`)));
      });
      const dataDir = tempDir();
      const got = await addAddresses(plugin, { config: poolConfig(dataDir), containerId: 'via-cli', env: { TWILL_AGENT_SOCKET: socket, TWILL_STANDALONE: '/nonexistent/twill-ipam' } });
      expect(got).toEqual([expect.stringMatching(/^10\.244\./u)]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(existsSync(socket)).toBe(false);
  }, 60_000);
});
