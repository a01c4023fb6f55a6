// The suite against tiny shell plugins: a well-behaved one passes every check that
// applies; each broken one fails exactly the checks its flaw breaks, with a clear reason.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import { runConformance } from '../../src/conformance/run-conformance.js';
import { type ConformanceCheck, type ConformanceReport } from '../../src/conformance/types.js';
import { FakeNamespaces, FLAW, type Flaw, PluginFolder } from './fake-plugins.js';

const ERROR_CHECKS = [
  'env.missing-command',
  'env.unknown-command',
  'env.missing-containerid',
  'env.bad-containerid',
  'env.missing-netns',
  'env.missing-ifname',
  'config.invalid-json',
  'config.unsupported-version',
  'config.missing-name',
];
const ADD_CHECKS = ['add@0.1.0', 'add@0.2.0', 'add@0.3.0', 'add@0.3.1', 'add@0.4.0', 'add@1.0.0', 'add@1.1.0'];
const LIFECYCLE_CHECKS = ['check', 'del.twice', 'del.after-failed-add', 'del.netns-gone', 'gc', 'status'];
const ALL_CHECKS = ['version', 'version.each', ...ERROR_CHECKS, ...ADD_CHECKS, ...LIFECYCLE_CHECKS];

let folder: PluginFolder;
let namespaces: FakeNamespaces;

beforeEach(async () => {
  folder = await PluginFolder.create();
  await mkdir(join(folder.dir, 'ns'));
  namespaces = new FakeNamespaces(join(folder.dir, 'ns'));
});

afterEach(async () => {
  await folder.remove();
});

function config(...types: string[]): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: 'testnet', plugins: types.map((type) => ({ type, mtu: 1400 })) });
}

async function check(name: string, flaws: readonly Flaw[] = [], versions?: readonly string[]): Promise<ConformanceReport> {
  await folder.write(name, { flaws, ...(versions ? { versions } : {}) });
  const report = await runConformance({ config: config(name), path: [folder.dir], namespaces, containerIdPrefix: 'ctr-' });
  // Whatever happened, every namespace the suite made is gone.
  expect(namespaces.alive()).toEqual([]);
  return report;
}

function failed(report: ConformanceReport): string[] {
  return report.checks.filter((c) => c.status === 'failed').map((c) => c.id);
}

function byId(report: ConformanceReport, id: string): ConformanceCheck {
  const found = report.checks.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
}

describe('runConformance with a well-behaved plugin', () => {
  it('passes every check, leaving no attachment or namespace behind', async () => {
    const report = await check('good');
    expect(report.checks.map((c) => c.id)).toEqual(ALL_CHECKS);
    expect(report.checks.filter((c) => c.status !== 'passed')).toEqual([]);
    expect(report.summary).toEqual({ passed: ALL_CHECKS.length, failed: 0, notApplicable: 0 });
    expect(report).toMatchObject({ network: 'testnet', plugins: ['good'], version: '1.1.0', notes: [] });
    expect(report.claimedVersions['good']).toContain('1.1.0');
    expect(byId(report, 'config.invalid-json').reason).toBe('code 6: "invalid JSON"');
    expect(byId(report, 'add@0.2.0').reason).toBe('valid 0.2.0 result: ip4');
    expect(byId(report, 'add@1.1.0').reason).toBe('valid 1.1.0 result: 1 interface(s), 1 IP(s)');
    expect(await folder.attached('good')).toEqual([]);
    expect(namespaces.made).toBeGreaterThan(20);
  });

  it('marks GC, STATUS and 1.1.0 results not applicable for a plugin that stops at 1.0.0', async () => {
    const report = await check('good100', [], ['0.3.1', '0.4.0', '1.0.0']);
    const na = report.checks.filter((c) => c.status === 'not-applicable');
    expect(na.map((c) => [c.id, c.reason])).toEqual([
      ['add@0.1.0', 'not claimed by every plugin'],
      ['add@0.2.0', 'not claimed by every plugin'],
      ['add@0.3.0', 'not claimed by every plugin'],
      ['add@1.1.0', 'not claimed by every plugin'],
      ['gc', 'GC is new in 1.1.0; the plugins claim up to 1.0.0'],
      ['status', 'STATUS is new in 1.1.0; the plugins claim up to 1.0.0'],
    ]);
    expect(failed(report)).toEqual([]);
    expect(report.version).toBe('1.0.0');
  });

  it('checks each plugin of a list and runs the list as a chain', async () => {
    await folder.write('first');
    await folder.write('second', { versions: ['0.4.0', '1.0.0', '1.1.0'] });
    const report = await runConformance({ config: config('first', 'second'), path: [folder.dir], namespaces });
    expect(report.plugins).toEqual(['first', 'second']);
    expect(report.checks.filter((c) => c.plugin === 'second').length).toBe(11);
    expect(failed(report)).toEqual([]);
    expect(byId(report, 'add@0.3.1').status).toBe('not-applicable');
    expect(await folder.attached('first')).toEqual([]);
    expect(await folder.attached('second')).toEqual([]);
  });
});

describe('runConformance with broken plugins', () => {
  it('fails every error check of a plugin that prints a stack trace on stdout', async () => {
    const report = await check('stacky', [FLAW.STACK_TRACE]);
    expect(failed(report)).toEqual(ERROR_CHECKS);
    expect(byId(report, 'config.invalid-json').reason).toBe(
      'stdout is not only a JSON document: "TypeError: invalid JSON at main (/opt/plugin.js:12:7)"',
    );
  });

  it('fails only the invalid-JSON check of a plugin that answers it with the wrong code', async () => {
    const report = await check('wrongcode', [FLAW.WRONG_CODE]);
    expect(failed(report)).toEqual(['config.invalid-json']);
    expect(byId(report, 'config.invalid-json').reason).toBe('error code 7 ("invalid JSON"); expected 6');
  });

  it('fails the DEL idempotency checks of a plugin whose DEL of an unknown container fails', async () => {
    const report = await check('strictdel', [FLAW.DEL_NOT_IDEMPOTENT]);
    expect(failed(report)).toEqual(['del.twice', 'del.after-failed-add']);
    expect(byId(report, 'del.twice').reason).toMatch(
      /^the second DEL failed: plugin type="strictdel" failed \(del\): unknown container ctr-\d+$/,
    );
  });

  it('fails the DEL checks without a namespace for a plugin whose DEL needs it', async () => {
    const report = await check('needsns', [FLAW.DEL_NEEDS_NETNS]);
    // The failed ADD is made with a namespace that is gone, so DEL after it needs none too.
    expect(failed(report)).toEqual(['del.after-failed-add', 'del.netns-gone']);
    expect(byId(report, 'del.netns-gone').reason).toMatch(/failed \(del\): no namespace at .*netns-\d+$/);
    expect(report.notes).toEqual([]);
  });

  it('fails every ADD result check of a plugin whose result is malformed, and skips what needs an ADD', async () => {
    const report = await check('badresult', [FLAW.BAD_RESULT]);
    expect(failed(report)).toEqual(ADD_CHECKS);
    expect(byId(report, 'add@1.0.0').reason).toBe(
      'plugin type="badresult" failed (add): its result is not valid: ips[0].address: invalid CIDR "10.0.0.2"',
    );
    for (const id of ['check', 'del.twice', 'del.netns-gone', 'gc']) {
      expect(byId(report, id)).toMatchObject({ status: 'not-applicable', reason: expect.stringMatching(/^needs a successful ADD, which failed: /) });
    }
    expect(await folder.attached('badresult')).toEqual([]);
  });

  it('fails the VERSION check of a plugin that claims a malformed version, and tests the configuration version', async () => {
    const report = await check('badversion', [FLAW.BAD_VERSION]);
    expect(failed(report)).toEqual(['version']);
    expect(byId(report, 'version').reason).toBe('supportedVersions[7]: invalid version "1.x"');
    expect(byId(report, 'version.each').status).toBe('not-applicable');
    expect(report.claimedVersions).toEqual({});
    expect(report.version).toBe('1.0.0');
    expect(byId(report, 'add@1.0.0').status).toBe('passed');
    expect(byId(report, 'add@0.4.0').status).toBe('not-applicable');
  });

  it('fails the DEL checks of a plugin that logs on stdout during DEL', async () => {
    const report = await check('chatty', [FLAW.CHATTY_DEL]);
    // GC removes the stale attachment with a DEL, which prints its log line too.
    expect(failed(report)).toEqual(['del.twice', 'del.after-failed-add', 'del.netns-gone', 'gc']);
    expect(byId(report, 'del.twice').reason).toMatch(/^DEL of .*chatty: stdout is not only a JSON document: "deleting ctr-\d+"/);
  });

  it('fails every check of a plugin that is not on the path', async () => {
    const report = await runConformance({ config: config('missing'), path: [folder.dir], namespaces });
    expect(byId(report, 'version')).toMatchObject({ status: 'failed', reason: `no executable named "missing" in ${folder.dir}` });
    expect(byId(report, 'add@1.0.0').status).toBe('failed');
    expect(namespaces.alive()).toEqual([]);
  });
});

describe('runConformance options', () => {
  it('refuses an invalid configuration with its CNI error', async () => {
    await expect(runConformance({ config: '{"name": "x"', path: [], namespaces })).rejects.toMatchObject({ code: 6 });
    await expect(runConformance({ config: '{"cniVersion":"1.0.0","plugins":[{"type":"a"}]}', path: [], namespaces })).rejects.toThrow(
      /name/,
    );
  });

  it('refuses exec together with hostNetns, and an invalid container id prefix', async () => {
    const exec = { find: () => Promise.resolve(undefined), exec: () => Promise.reject(new Error('unused')) };
    await expect(runConformance({ config: config('a'), path: [], namespaces, exec, hostNetns: '/run/netns/h' })).rejects.toThrow(CniError);
    await expect(runConformance({ config: config('a'), path: [], namespaces, containerIdPrefix: '-bad' })).rejects.toMatchObject({ code: 4 });
    expect(namespaces.made).toBe(0);
  });

  it('reports each check as it is decided', async () => {
    await folder.write('good');
    const seen: string[] = [];
    const report = await runConformance({ config: config('good'), path: [folder.dir], namespaces, onCheck: (c) => seen.push(c.id) });
    expect(seen).toEqual(report.checks.map((c) => c.id));
  });
});
