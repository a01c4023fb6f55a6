import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { listNetworkConfigsInDir, loadNetworkConfigListFromDir } from '@twill/cni-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type AgentConfig, parseAgentConfigText, resolveAgentConfig } from '../../src/agent/config.js';
import { installCni, writeFileAtomically } from '../../src/agent/sys/install-cni.js';
import { parseTwillConfig } from '../../src/plugin/config.js';

describe('twill-agent install-cni', () => {
  let dir: string;
  let config: AgentConfig;
  let fakeForwarder: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twt-install-cni-'));
    fakeForwarder = join(dir, 'forwarder');
    await writeFile(fakeForwarder, '#!/bin/sh\necho forwarder\n');
    const path = join(dir, 'agent.yaml');
    const yaml = `nodeName: node-a\nnetwork: pods\ndataDir: ${dir}/data\nrouting: none\ncni: {binDir: ${dir}/bin, confDir: ${dir}/net.d, mtu: 1450, pools: [{cidr: 10.244.0.0/16, blockSize: 26}]}\n`;
    config = resolveAgentConfig({ file: { path, settings: parseAgentConfigText(path, yaml) }, hostname: 'h' });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('installs the forwarder, the standalone plugin and a conflist a runtime loads, creating the folders', async () => {
    const installed = await installCni(config, { forwarder: fakeForwarder, standalone: '#!/bin/sh\necho standalone\n' });
    expect(installed).toEqual({
      binaries: { plugin: join(dir, 'bin', 'twill'), standalone: join(dir, 'bin', 'twill.standalone') },
      conflist: join(dir, 'net.d', '10-twill.conflist'),
      conflistChanged: true,
    });
    expect((await stat(installed.binaries.plugin)).mode & 0o777).toBe(0o755);
    expect(await readFile(installed.binaries.plugin, 'utf8')).toBe('#!/bin/sh\necho forwarder\n');
    expect(await readFile(installed.binaries.standalone, 'utf8')).toBe('#!/bin/sh\necho standalone\n');
    expect((await stat(installed.conflist)).mode & 0o777).toBe(0o644);

    // What a runtime (libcni's way, in cni-core) finds in the folder, and what twill parses from it.
    const list = await loadNetworkConfigListFromDir('pods', join(dir, 'net.d'));
    expect(list.cniVersion).toBe('1.1.0');
    expect(list.plugins.map((p) => p.type)).toEqual(['twill']);
    const raw = JSON.parse(await readFile(installed.conflist, 'utf8')) as { name: string; cniVersion: string; plugins: Record<string, unknown>[] };
    const twill = parseTwillConfig({ cniVersion: raw.cniVersion, name: raw.name, ...raw.plugins[0] }, { defaultNodeName: 'other' });
    expect(twill).toMatchObject({ network: 'pods', mtu: 1450, dataDir: join(dir, 'data'), ipam: { kind: 'pools', pools: { nodeName: 'node-a' } } });
  });

  it('is idempotent: run again, it leaves the same conflist untouched and rewrites a changed one', async () => {
    const options = { forwarder: fakeForwarder, standalone: '#!/bin/sh\n' };
    const first = await installCni(config, options);
    const before = await stat(first.conflist);
    const again = await installCni(config, options);
    expect(again.conflistChanged).toBe(false);
    const after = await stat(again.conflist);
    expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({ ino: before.ino, mtimeMs: before.mtimeMs });

    const changed = await installCni({ ...config, cni: { ...config.cni, mtu: 9000 } }, options);
    expect(changed.conflistChanged).toBe(true);
    expect(JSON.parse(await readFile(changed.conflist, 'utf8'))).toMatchObject({ plugins: [{ mtu: 9000 }] });
    // No temporary file is left behind in either folder.
    expect((await readdir(join(dir, 'net.d'))).sort()).toEqual(['10-twill.conflist']);
    expect((await readdir(join(dir, 'bin'))).sort()).toEqual(['twill', 'twill.standalone']);
  });

  it('writes the conflist world-readable whatever the umask', async () => {
    const previous = process.umask(0o077);
    try {
      const installed = await installCni(config, { forwarder: fakeForwarder, standalone: '#!/bin/sh\n' });
      expect((await stat(installed.conflist)).mode & 0o777).toBe(0o644);
    } finally {
      process.umask(previous);
    }
  });

  it('never shows a concurrent reader a partial conflist, and runtimes listing the folder meanwhile see only whole files', async () => {
    const confDir = join(dir, 'net.d');
    const path = join(confDir, '10-twill.conflist');
    // Two large versions (many pools), so each write takes several write(2) calls.
    const version = (mtu: number): string =>
      `${JSON.stringify({ cniVersion: '1.1.0', name: 'pods', plugins: [{ type: 'twill', mtu, ipam: { type: 'twill-ipam', pools: Array.from({ length: 2000 }, (_, i) => ({ cidr: `10.${i >> 8}.${i & 255}.0/24` })) } }] }, null, 2)}\n`;
    const versions = [version(1400), version(1500)];
    await writeFileAtomically(path, versions[0]!, confDir);

    let writing = true;
    const seen: string[] = [];
    const listings: number[] = [];
    const broken: string[] = [];
    const reader = (async () => {
      while (writing) {
        seen.push(await readFile(path, 'utf8'));
        const entries = await listNetworkConfigsInDir(confDir);
        listings.push(entries.length);
        for (const entry of entries) if ('error' in entry && entry.error !== undefined) broken.push(entry.error.message);
      }
    })();
    for (let i = 1; i <= 30; i++) await writeFileAtomically(path, versions[i % 2]!, confDir);
    writing = false;
    await reader;

    expect(seen.length).toBeGreaterThan(0);
    const partial = seen.filter((text) => !versions.includes(text));
    expect(partial.map((text) => text.length)).toEqual([]);
    expect(broken).toEqual([]);
    expect(new Set(listings)).toEqual(new Set([1]));
    expect(await readdir(confDir)).toEqual(['10-twill.conflist']);
  });
});
