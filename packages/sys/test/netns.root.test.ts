import { existsSync, readlinkSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

import { createRtNetlink } from 'netlink';
import { afterEach, describe, expect, it } from 'vitest';

import {
  SysError,
  createNetns,
  deleteNetns,
  listNetns,
  openNetns,
  runInNetns,
} from '../src/index.js';
import { NetworkScratch, rootSkipReason, testName } from '../src/testing/index.js';

const reason = rootSkipReason();
const threadNetns = (): string => readlinkSync('/proc/thread-self/ns/net');

describe.skipIf(reason)(`network namespaces as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  afterEach(() => scratch.cleanup());

  it('creates a named namespace that ip netns sees, and deletes it', () => {
    const name = testName();
    try {
      const path = createNetns(name);
      expect(path).toBe(`/run/netns/${name}`);
      expect(listNetns()).toContain(name);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(name);
      // A fresh namespace has only a loopback link, down, as with `ip netns add`.
      const links = execFileSync('ip', ['-n', name, '-o', 'link'], { encoding: 'utf8' }).trim().split('\n');
      expect(links).toHaveLength(1);
      expect(links[0]).toMatch(/^1: lo: <LOOPBACK>/);
    } finally {
      deleteNetns(name);
    }
    expect(existsSync(`/run/netns/${name}`)).toBe(false);
    expect(listNetns()).not.toContain(name);
  });

  it('refuses a name that is taken, with EEXIST, and leaves the first one intact', () => {
    const ns = scratch.netns();
    expect(() => createNetns(ns.name)).toThrowError(expect.objectContaining({ code: 'EEXIST' }));
    expect(scratch.ip(ns, '-o', 'link')).toMatch(/lo:/);
  });

  it('gives ENOENT, not a crash, for a namespace that does not exist', () => {
    const missing = testName();
    let caught: unknown;
    try {
      openNetns(missing);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SysError);
    expect(caught).toMatchObject({ code: 'ENOENT', errno: 2, syscall: `open /run/netns/${missing}` });
    expect(() => deleteNetns(missing)).toThrowError(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('refuses to open a file that is not a network namespace, with EINVAL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twt-'));
    try {
      writeFileSync(join(dir, 'plain'), 'not a namespace');
      expect(() => openNetns(join(dir, 'plain'))).toThrowError(expect.objectContaining({ code: 'EINVAL' }));
      // A namespace of another type (mount) is refused too.
      expect(() => openNetns('/proc/self/ns/mnt')).toThrowError(expect.objectContaining({ code: 'EINVAL' }));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('opens /proc/PID/ns/net paths as well as names', () => {
    const handle = openNetns('/proc/self/ns/net');
    try {
      expect(handle.fd).toBeGreaterThan(2);
    } finally {
      handle.close();
    }
    expect(handle.closed).toBe(true);
    expect(() => handle.fd).toThrowError(/closed/);
  });

  it('runs code inside a namespace and always moves the thread back', () => {
    const ns = scratch.netns();
    const before = threadNetns();
    const inside = runInNetns(ns.handle, threadNetns);
    expect(inside).toBe(`net:[${statSync(ns.path).ino}]`);
    expect(inside).not.toBe(before);
    expect(threadNetns()).toBe(before);

    const failure = new Error('from the callback');
    expect(() =>
      runInNetns(ns.name, () => {
        throw failure;
      }),
    ).toThrow(failure);
    expect(threadNetns()).toBe(before);
  });

  it('passes errors thrown by the callback through unchanged, even errno-like ones', () => {
    const ns = scratch.netns();
    let caught: unknown;
    try {
      runInNetns(ns.handle, () => statSync('/nonexistent/twt'));
    } catch (error) {
      caught = error;
    }
    expect(caught).not.toBeInstanceOf(SysError);
    expect(caught).toMatchObject({ code: 'ENOENT', syscall: 'stat' });
  });

  it('refuses an async callback and still moves the thread back', async () => {
    const ns = scratch.netns();
    const before = threadNetns();
    expect(() => runInNetns(ns.handle, async () => 1)).toThrowError(TypeError);
    expect(threadNetns()).toBe(before);
  });

  it('hands the netlink package a socket that sees only that namespace', async () => {
    const a = scratch.netns();
    const b = scratch.netns();
    scratch.veth(a, a, { a: 'twt-va0', b: 'twt-vb0' });

    const namesIn = async (ns: typeof a): Promise<string[]> => {
      const rt = runInNetns(ns.handle, () => createRtNetlink());
      try {
        const links = await rt.getLinks();
        return links.map((link) => link.attrs.ifname ?? '?').sort();
      } finally {
        rt.socket.close();
      }
    };
    expect(await namesIn(a)).toEqual(['lo', 'twt-va0', 'twt-vb0']);
    expect(await namesIn(b)).toEqual(['lo']);
  });
});
