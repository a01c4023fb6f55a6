import { describe, expect, it } from 'vitest';

import { parseCniArgs } from '../../src/skel/cni-args.js';
import { REQUIRED_ENV } from '../../src/skel/commands.js';
import { readCniEnvironment } from '../../src/skel/environment.js';

describe('parseCniArgs', () => {
  it('reads K=V pairs in order, last value winning, skipping empty segments', () => {
    const args = parseCniArgs('K8S_POD_NAME=web-0;;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;');
    expect([...args.pairs]).toEqual([
      ['K8S_POD_NAME', 'web-1'],
      ['K8S_POD_NAMESPACE', 'default'],
    ]);
    expect(args.ignoreUnknown).toBe(false);
  });

  it('allows unknown keys with IgnoreUnknown, in any spelling Go accepts', () => {
    for (const flag of ['1', 'true', 'True', 'T']) {
      expect(parseCniArgs(`IgnoreUnknown=${flag};X=1`, { known: [] }).ignoreUnknown).toBe(true);
    }
    expect(() => parseCniArgs('IgnoreUnknown=false;X=1', { known: [] })).toThrowError('CNI_ARGS: unknown key "X"');
  });

  it('allows an empty value', () => {
    expect(parseCniArgs('A=').pairs.get('A')).toBe('');
  });
});

describe('readCniEnvironment', () => {
  it('follows the per-command table of required variables', () => {
    expect(REQUIRED_ENV.DEL).not.toContain('CNI_NETNS');
    expect(REQUIRED_ENV.GC).toEqual(['CNI_COMMAND', 'CNI_PATH']);
    expect(REQUIRED_ENV.VERSION).toEqual(['CNI_COMMAND']);
    const env = readCniEnvironment({ CNI_COMMAND: 'STATUS' });
    expect(env).toMatchObject({ command: 'STATUS', containerId: undefined, ifName: undefined, path: [] });
  });

  it('ignores attachment variables for commands that have none', () => {
    expect(() => readCniEnvironment({ CNI_COMMAND: 'VERSION', CNI_IFNAME: '..', CNI_CONTAINERID: '-' })).not.toThrow();
  });

  it('accepts a 15-byte interface name and a container id with . _ -', () => {
    const env = readCniEnvironment({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'a.b_c-d', CNI_IFNAME: 'eth0123456789ab' });
    expect(env).toMatchObject({ containerId: 'a.b_c-d', ifName: 'eth0123456789ab', netns: undefined });
  });
});
