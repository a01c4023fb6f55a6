import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import {
  listNetworkConfigsInDir,
  loadNetworkConfigList,
  loadNetworkConfigListFromDir,
  orderConfigFiles,
  type ConfigDirectory,
} from '../../src/config/index.js';

const conflist = (name: string, type = 'bridge', extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ cniVersion: '1.0.0', name, plugins: [{ type }], ...extra });
const conf = (name: string, type = 'bridge'): string => JSON.stringify({ cniVersion: '0.4.0', name, type });

async function rejection(promise: Promise<unknown>): Promise<CniError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CniError);
    return error as CniError;
  }
  throw new Error('expected a rejection');
}

describe('orderConfigFiles (pure)', () => {
  it('tries .conflist first, then .conf and .json together, each in byte order', () => {
    const names = ['b.json', '99-z.conflist', 'a.conf', 'README', '10-a.conflist', 'c.conf.bak', 'Z.conf', '~x.conf'];
    expect(orderConfigFiles('/d', names)).toEqual([
      { path: '/d/10-a.conflist', format: 'list' },
      { path: '/d/99-z.conflist', format: 'list' },
      { path: '/d/Z.conf', format: 'single' },
      { path: '/d/a.conf', format: 'single' },
      { path: '/d/b.json', format: 'single' },
      { path: '/d/~x.conf', format: 'single' },
    ]);
  });
});

describe('loadNetworkConfigList over an in-memory directory', () => {
  function memory(files: Record<string, string>): ConfigDirectory {
    return {
      listFiles: (dir) => Promise.resolve(Object.keys(files)
        .filter((p) => p.startsWith(`${dir}/`) && !p.slice(dir.length + 1).includes('/'))
        .map((p) => p.slice(dir.length + 1))),
      readFile: (path) => {
        const text = files[path];
        return text === undefined ? Promise.reject(new Error(`ENOENT: ${path}`)) : Promise.resolve(new TextEncoder().encode(text));
      },
    };
  }

  it('picks the first file whose network has the name', async () => {
    const fs = memory({ '/n/20-b.conflist': conflist('net', 'second'), '/n/10-a.conflist': conflist('other'), '/n/30-c.conflist': conflist('net', 'third') });
    expect((await loadNetworkConfigList(fs, '/n', 'net')).plugins.map((p) => p.type)).toEqual(['second']);
  });
});

describe('loading networks from a directory on disk', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'twill-cni-conf-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, text: string): void => writeFileSync(join(dir, name), text);

  it('prefers a .conflist over an earlier-named .conf of the same network', async () => {
    write('00-a.conf', conf('net', 'from-conf'));
    write('50-b.conflist', conflist('net', 'from-list'));
    const list = await loadNetworkConfigListFromDir('net', dir);
    expect(list.format).toBe('list');
    expect(list.plugins[0]?.type).toBe('from-list');
  });

  it('reads .conf and .json in one lexical order and promotes to a list of one', async () => {
    write('20-x.conf', conf('net', 'from-conf'));
    write('10-x.json', conf('net', 'from-json'));
    const list = await loadNetworkConfigListFromDir('net', dir);
    expect(list.format).toBe('single');
    expect(list.plugins.map((p) => p.type)).toEqual(['from-json']);
    expect(JSON.parse(new TextDecoder().decode(list.bytes))).toEqual({
      cniVersion: '0.4.0', name: 'net', plugins: [{ cniVersion: '0.4.0', name: 'net', type: 'from-json' }],
    });
  });

  it('matches by network name, not by file name', async () => {
    write('10-net.conflist', conflist('other'));
    write('20-zzz.conflist', conflist('net', 'right'));
    expect((await loadNetworkConfigListFromDir('net', dir)).plugins[0]?.type).toBe('right');
  });

  it('says clearly when the network is not there', async () => {
    write('10-a.conflist', conflist('a'));
    write('20-b.conf', conf('b'));
    const error = await rejection(loadNetworkConfigListFromDir('missing', dir));
    expect({ code: error.code, msg: error.msg }).toEqual({ code: 7, msg: `${dir}: no network configuration named "missing" (2 files read)` });
  });

  it('says clearly when the directory has no configurations, or does not exist', async () => {
    write('README.md', 'not a config');
    expect((await rejection(loadNetworkConfigListFromDir('a', dir))).msg).toBe(`${dir}: no network configurations found`);
    const gone = join(dir, 'nope');
    expect((await rejection(loadNetworkConfigListFromDir('a', gone))).msg).toBe(`${gone}: no network configurations found`);
  });

  it('reports a broken file with its path and the field at fault', async () => {
    write('10-broken.conflist', JSON.stringify({ cniVersion: '1.0.0', name: 'a', plugins: [{ type: 'ok' }, { mtu: 1500 }] }));
    write('20-net.conflist', conflist('net'));
    const error = await rejection(loadNetworkConfigListFromDir('net', dir));
    expect({ code: error.code, msg: error.msg }).toEqual({ code: 7, msg: `${join(dir, '10-broken.conflist')}: plugins[1].type: missing` });
  });

  it('reports a file that is not JSON with its path and position', async () => {
    write('10-bad.conf', '{"name": "a",\n "type": }');
    const error = await rejection(loadNetworkConfigListFromDir('a', dir));
    expect({ code: error.code, msg: error.msg }).toEqual({
      code: 6, msg: `${join(dir, '10-bad.conf')}: invalid JSON at line 2, column 10: unexpected character "}"`,
    });
  });

  it('appends <dir>/<network>/*.conf plugins unless loadOnlyInlinedPlugins', async () => {
    write('10-net.conflist', conflist('net', 'bridge'));
    mkdirSync(join(dir, 'net'));
    writeFileSync(join(dir, 'net', '20-b.conf'), JSON.stringify({ type: 'portmap', capabilities: { portMappings: true } }));
    writeFileSync(join(dir, 'net', '10-a.conf'), JSON.stringify({ type: 'tuning' }));
    writeFileSync(join(dir, 'net', 'ignored.json'), JSON.stringify({ type: 'nope' }));
    expect((await loadNetworkConfigListFromDir('net', dir)).plugins.map((p) => p.type)).toEqual(['bridge', 'tuning', 'portmap']);

    write('10-net.conflist', conflist('net', 'bridge', { loadOnlyInlinedPlugins: true }));
    expect((await loadNetworkConfigListFromDir('net', dir)).plugins.map((p) => p.type)).toEqual(['bridge']);
  });

  it('builds a network from its directory alone when the list has no plugins', async () => {
    write('10-net.conflist', JSON.stringify({ cniVersion: '1.1.0', name: 'net' }));
    const error = await rejection(loadNetworkConfigListFromDir('net', dir));
    expect(error.msg).toBe(`${join(dir, '10-net.conflist')}: plugins: missing (no plugin configuration inline, and none in the network's directory)`);
    mkdirSync(join(dir, 'net'));
    writeFileSync(join(dir, 'net', 'a.conf'), JSON.stringify({ type: 'ptp' }));
    expect((await loadNetworkConfigListFromDir('net', dir)).plugins.map((p) => p.type)).toEqual(['ptp']);
  });

  it('reports a broken plugin file in the network directory with its path', async () => {
    write('10-net.conflist', conflist('net'));
    mkdirSync(join(dir, 'net'));
    writeFileSync(join(dir, 'net', 'a.conf'), JSON.stringify({ capabilities: {} }));
    const error = await rejection(loadNetworkConfigListFromDir('net', dir));
    expect(error.msg).toBe(`${join(dir, 'net', 'a.conf')}: type: missing`);
  });

  it.skipIf(process.getuid?.() === 0)('reports an unreadable file as an I/O failure with its path', async () => {
    write('10-net.conflist', conflist('net'));
    chmodSync(join(dir, '10-net.conflist'), 0o000);
    const error = await rejection(loadNetworkConfigListFromDir('net', dir));
    expect(error.code).toBe(5);
    expect(error.msg).toContain(`${join(dir, '10-net.conflist')}: EACCES`);
  });

  it('lists every network, with the error of each broken file', async () => {
    write('10-a.conflist', conflist('a'));
    write('20-b.conflist', '{');
    write('30-c.json', conf('c'));
    const entries = await listNetworkConfigsInDir(dir);
    expect(entries.map((e) => [e.path.slice(dir.length + 1), e.format, e.list?.name, e.error?.code])).toEqual([
      ['10-a.conflist', 'list', 'a', undefined],
      ['20-b.conflist', 'list', undefined, 6],
      ['30-c.json', 'single', 'c', undefined],
    ]);
    expect(entries[1]?.error?.msg).toBe(`${join(dir, '20-b.conflist')}: invalid JSON at line 1, column 2: expected a string key`);
  });
});
