// A corpus of bad runtime inputs: each is refused with its code before any plugin runs,
// and nothing is cached or deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeNetworkConfigList } from '../../src/config/network-config.js';
import { type NetworkConfigList } from '../../src/config/types.js';
import { CniError } from '../../src/errors.js';
import { type RuntimeConf } from '../../src/invoke/types.js';
import { FakePlugins } from './fake-plugins.js';

const GOOD: RuntimeConf = { containerId: 'c1', netns: '/run/netns/pod', ifName: 'eth0' };

interface BadInput {
  readonly what: string;
  readonly rt?: Partial<RuntimeConf>;
  /** Overrides the (already validated) list's name, as a caller building a list by hand could. */
  readonly networkName?: string;
  readonly code: number;
  readonly msg: RegExp;
  /** DEL accepts it (an empty netns). */
  readonly delAccepts?: boolean;
}

const CORPUS: readonly BadInput[] = [
  { what: 'empty container id', rt: { containerId: '' }, code: 4, msg: /^CNI_CONTAINERID: invalid container id ""/u },
  { what: 'container id starting with "-"', rt: { containerId: '-rf' }, code: 4, msg: /^CNI_CONTAINERID: invalid/u },
  { what: 'container id starting with "."', rt: { containerId: '.hidden' }, code: 4, msg: /^CNI_CONTAINERID: invalid/u },
  { what: 'container id with a slash (a path in the cache)', rt: { containerId: '../../etc/passwd' }, code: 4, msg: /^CNI_CONTAINERID: invalid/u },
  { what: 'container id with a space', rt: { containerId: 'a b' }, code: 4, msg: /^CNI_CONTAINERID: invalid/u },
  { what: 'container id with a semicolon', rt: { containerId: 'a;rm' }, code: 4, msg: /^CNI_CONTAINERID: invalid/u },
  { what: 'container id with a NUL', rt: { containerId: 'a\0b' }, code: 4, msg: /^CNI_CONTAINERID: invalid/u },
  { what: 'container id with non-ASCII letters', rt: { containerId: 'pöd' }, code: 4, msg: /^CNI_CONTAINERID: invalid/u },
  { what: 'empty interface name', rt: { ifName: '' }, code: 4, msg: /^CNI_IFNAME: required$/u },
  { what: 'interface name "."', rt: { ifName: '.' }, code: 4, msg: /^CNI_IFNAME: invalid interface name "\."/u },
  { what: 'interface name ".."', rt: { ifName: '..' }, code: 4, msg: /^CNI_IFNAME: invalid interface name "\.\."/u },
  { what: 'interface name of 16 bytes', rt: { ifName: 'eth0123456789abc' }, code: 4, msg: /longer than 15 bytes/u },
  { what: 'interface name of 16 UTF-8 bytes in 8 characters', rt: { ifName: 'éééééééé' }, code: 4, msg: /longer than 15 bytes/u },
  { what: 'interface name with a slash', rt: { ifName: 'a/b' }, code: 4, msg: /contains '\/', ':' or whitespace/u },
  { what: 'interface name with a colon', rt: { ifName: 'eth0:1' }, code: 4, msg: /contains '\/', ':' or whitespace/u },
  { what: 'interface name with a space', rt: { ifName: 'eth 0' }, code: 4, msg: /contains '\/', ':' or whitespace/u },
  { what: 'interface name with a tab', rt: { ifName: 'eth\t0' }, code: 4, msg: /contains '\/', ':' or whitespace/u },
  { what: 'empty netns (ADD and CHECK need one)', rt: { netns: '' }, code: 4, msg: /^CNI_NETNS: required$/u, delAccepts: true },
  { what: 'network name with a slash', networkName: 'a/b', code: 7, msg: /^name: invalid network name "a\/b"/u },
  { what: 'network name starting with "-"', networkName: '-net', code: 7, msg: /^name: invalid network name/u },
  { what: 'network name with a space', networkName: 'my net', code: 7, msg: /^name: invalid network name/u },
  { what: 'empty network name', networkName: '', code: 7, msg: /^name: /u },
];

describe('CniRuntime: bad runtime inputs', () => {
  let fake: FakePlugins;
  let list: NetworkConfigList;
  beforeAll(() => {
    fake = new FakePlugins();
    fake.plugin('a');
    list = decodeNetworkConfigList('{"cniVersion":"1.0.0","name":"podnet","plugins":[{"type":"a"}]}');
  });
  afterAll(() => fake.remove());

  it('has a corpus of at least 20 cases', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(20);
  });

  for (const input of CORPUS) {
    it(`refuses ${input.what} with code ${input.code}, running nothing`, async () => {
      const rt = { ...GOOD, ...input.rt };
      const target = input.networkName === undefined ? list : { ...list, name: input.networkName };
      const runtime = fake.runtime();
      const operations: [string, () => Promise<unknown>][] = [
        ['add', () => runtime.add(target, rt)],
        ['check', () => runtime.check(target, rt)],
        ...(input.delAccepts ? [] : ([['del', () => runtime.del(target, rt)]] as [string, () => Promise<unknown>][])),
      ];
      for (const [name, run] of operations) {
        const error = await run().catch((e: unknown) => e);
        expect(error, name).toBeInstanceOf(CniError);
        expect((error as CniError).code, name).toBe(input.code);
        expect((error as CniError).msg, name).toMatch(input.msg);
      }
      expect(fake.calls()).toEqual([]);
      expect(await runtime.cachedAttachments()).toEqual([]);
    });
  }
});
