// An agent upgrade over pins of an older version: the old agent's object declared a
// 1 MiB tw_events, a smaller tw_policy and a smaller tw_ct. The new agent replaces those
// maps (refilling tw_policy from the policy model, copying tw_ct's connections), moves
// every link to its programs, and the whole time an allowed long-lived connection keeps
// working (its replies pass only as replies: the client accepts nothing) and a denied
// connection stays denied. A tw_ct whose layout changed is replaced empty, and says so.

import { type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createMap, MapType, pinPathForStaging, u32, u64 } from '@twill/ebpf';
import { rootSkipReason } from '@twill/sys/testing';

import { createEbpfDataplane, DEFAULT_OBJECT_PATH } from '../../../src/dataplane/ebpf/index.js';
import { DataplaneLab } from '../harness/index.js';
import { mountPrivateBpffs, type PrivateBpffs } from './bpffs.js';
import { RESTART_POLICY, type OwnerConfig } from './owner.js';
import { kill, pinnedIds, startOwner, stillThere } from './owner-process.js';

const reason = rootSkipReason('creates network namespaces, loads eBPF programs and mounts bpffs')
  ?? (existsSync(DEFAULT_OBJECT_PATH) ? undefined : `no ${DEFAULT_OBJECT_PATH}: run npm run build:bpf`);

/** x/a accepts nothing: what reaches it is a reply of a connection it opened, or nothing. */
const CLIENT_ISOLATED = {
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'a-isolated', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'] },
};

/** What the older version's object declared (the current one: 4 MiB, 1 Mi entries, 256 Ki entries). */
const OLD_SIZES = { tw_events: 1 << 20, tw_policy: 1 << 19, tw_ct: 1 << 17 };

describe.skipIf(reason)(`eBPF dataplane upgrade over an older version's pins, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let bpffs: PrivateBpffs;
  beforeAll(() => {
    bpffs = mountPrivateBpffs();
  });
  afterAll(() => bpffs.close());

  it('replaces, refills and copies the changed maps and moves the links, enforcing throughout', async () => {
    const lab = await DataplaneLab.create({ pods: [{ key: 'x/a', ip: '10.78.0.1' }, { key: 'x/b', ip: '10.78.0.2' }, { key: 'x/c', ip: '10.78.0.3' }], ports: [80] });
    const owners: ChildProcess[] = [];
    const pinRoot = bpffs.pinRoot();
    try {
      const config: OwnerConfig = { netns: lab.node, pinRoot, pods: lab.pods.map((p) => ({ key: p.key, ip: p.ip, hostInterface: p.hostInterface })), policies: [RESTART_POLICY, CLIENT_ISOLATED] };
      const old = await startOwner({ ...config, mapSizes: OLD_SIZES });
      owners.push(old.child);
      expect(old.ready.drift).toEqual([]);
      const held = await lab.hold('x/a', 'x/b', 80);
      const denied = { from: 'x/c', to: 'x/b', port: 80, protocol: 'TCP' } as const;
      expect(await held.echo()).toBe(true);
      expect(await lab.attempt(denied, 1000)).toBe(false);
      const before = pinnedIds(pinRoot);
      expect(before.pinnedMaps.filter((m) => m.name in OLD_SIZES).map((m) => [m.name, m.maxEntries])).toEqual([['tw_ct', 1 << 17], ['tw_events', 1 << 20], ['tw_policy', 1 << 19]]);

      // The old agent dies; the new version starts over its pins while the probes go on.
      await kill(old.child, 'SIGKILL');
      const echoes: boolean[] = [];
      const attempts: boolean[] = [];
      let upgraded = false;
      let roundsAfter = 0;
      const probing = (async () => {
        // Rounds go on while the new agent starts, and three more once it has upgraded.
        while (roundsAfter < 3) {
          const counts = upgraded;
          const [echo, attempt] = await Promise.all([held.echo(2000), lab.attempt(denied, 500)]);
          echoes.push(echo);
          attempts.push(attempt);
          if (counts) roundsAfter += 1;
        }
      })();
      const next = await startOwner(config);
      owners.push(next.child);
      upgraded = true;
      await probing;

      expect(echoes.every(Boolean), `echoes on the held connection: ${echoes.join(' ')}`).toBe(true);
      expect(attempts.some(Boolean), `attempts of the denied connection: ${attempts.join(' ')}`).toBe(false);
      expect(next.ready.drift, 'every link runs the new programs, every entry is in the new maps').toEqual([]);
      const upgrade = next.ready.upgrade;
      expect(upgrade?.done).toBe(true);
      expect(upgrade?.failures).toEqual([]);
      expect(upgrade?.programsUpdated).toHaveLength(6);
      const outcome = Object.fromEntries((upgrade?.maps ?? []).map((m) => [m.name, `${m.outcome}${m.state === undefined ? '' : ` ${m.state}`}`]));
      expect(outcome).toEqual({
        tw_config: 'reused', tw_ipcache: 'reused', tw_l7: 'reused', tw_lost: 'reused',
        tw_ct: 'replaced copied', tw_events: 'replaced discarded', tw_policy: 'replaced refilled',
      });
      expect(upgrade?.maps.find((m) => m.name === 'tw_ct')?.copied, 'the held connection\'s entry at least').toBeGreaterThanOrEqual(1);
      expect(upgrade?.notes).toContain('6 tcx links moved to this agent\'s programs');

      const after = pinnedIds(pinRoot);
      expect(after.pinnedMaps.map((m) => m.name), 'no staged pin left').toEqual(before.pinnedMaps.map((m) => m.name));
      expect(after.pinnedMaps.filter((m) => m.name in OLD_SIZES).map((m) => [m.name, m.maxEntries])).toEqual([['tw_ct', 1 << 18], ['tw_events', 1 << 22], ['tw_policy', 1 << 20]]);
      expect(after.links, 'the same links, updated in place').toEqual(before.links);
      expect(after.programs.sort()).toEqual([String(next.ready.programs.ingress), String(next.ready.programs.egress)].sort());
      for (const id of before.programs) expect(await stillThere('prog', id), `old program ${id}`).toBe(false);
      for (const m of before.pinnedMaps.filter((m) => m.name in OLD_SIZES)) expect(await stillThere('map', m.id), `old ${m.name} (map ${m.id})`).toBe(false);

      expect(await lab.attempt({ from: 'x/a', to: 'x/b', port: 80, protocol: 'TCP' }, 2000), 'a new allowed connection').toBe(true);
      expect(await lab.attempt(denied, 500)).toBe(false);
      expect(await held.echo()).toBe(true);
      await held.close();
      await kill(next.child, 'SIGTERM');

      const dataplane = await createEbpfDataplane({ netns: lab.node, pinRoot });
      await dataplane.cleanup();
      expect(bpffs.leftovers()).toEqual([]);
    } finally {
      for (const child of owners) await kill(child, 'SIGKILL');
      lab.close();
    }
  }, 120_000);

  it('replaces a tw_ct of another layout empty, and says that connections are decided by policy again', async () => {
    const pinRoot = bpffs.pinRoot();
    // What an older version pinned: a conntrack map with 8-byte values.
    mkdirSync(pinRoot, { recursive: true });
    const oldCt = createMap({ type: MapType.LruHash, key: u32, value: u64, maxEntries: 16, name: 'tw_ct' });
    try {
      oldCt.pin(`${pinRoot}/tw_ct`);
    } finally {
      oldCt.close();
    }
    const lab = await DataplaneLab.create({ pods: [{ key: 'x/a', ip: '10.78.1.1' }], ports: [80] });
    const dataplane = await createEbpfDataplane({ netns: lab.node, pinRoot });
    try {
      const pending = (await dataplane.status()).upgrade;
      expect(pending?.done).toBe(false);
      const ct = pending?.maps.find((m) => m.name === 'tw_ct');
      expect(ct).toMatchObject({ outcome: 'replaced', state: 'emptied', differences: expect.stringMatching(/value size 8 \(the spec says \d+\)/) });
      expect(readdirSync(pinRoot)).toContain(pinPathForStaging('tw_ct'));

      await dataplane.apply({ policy: { changed: [], removed: [], ipcache: { set: [], removed: [] } }, attach: lab.attachments() });
      const done = (await dataplane.status()).upgrade;
      expect(done?.done).toBe(true);
      expect(done?.notes.find((n) => n.startsWith('tw_ct:'))).toMatch(/is replaced empty: its layout changed, so connections opened before the upgrade are decided by policy again/);
      expect(readdirSync(pinRoot)).not.toContain(pinPathForStaging('tw_ct'));
      expect(pinnedIds(pinRoot).pinnedMaps.find((m) => m.name === 'tw_ct')?.maxEntries).toBe(1 << 18);
    } finally {
      await dataplane.cleanup();
      lab.close();
    }
    expect(bpffs.leftovers()).toEqual([]);
  }, 60_000);
});
