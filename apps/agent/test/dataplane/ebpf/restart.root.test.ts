// The dataplane outlives the process that owns it: a long-lived allowed TCP connection
// keeps working while the owner is killed and a new one adopts the pinned state, and a
// denied connection stays denied throughout. Then cleanup() leaves no program, link or
// pinned map.

import { type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rootSkipReason } from '@twill/sys/testing';

import { createEbpfDataplane, DEFAULT_OBJECT_PATH } from '../../../src/dataplane/ebpf/index.js';
import { DataplaneLab } from '../harness/index.js';
import { mountPrivateBpffs, type PrivateBpffs } from './bpffs.js';
import { type OwnerConfig } from './owner.js';
import { kill, pinnedIds, startOwner, stillThere } from './owner-process.js';

const reason = rootSkipReason('creates network namespaces, loads eBPF programs and mounts bpffs')
  ?? (existsSync(DEFAULT_OBJECT_PATH) ? undefined : `no ${DEFAULT_OBJECT_PATH}: run npm run build:bpf`);

describe.skipIf(reason)(`eBPF dataplane across an agent restart as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let bpffs: PrivateBpffs;
  beforeAll(() => {
    bpffs = mountPrivateBpffs();
  });
  afterAll(() => bpffs.close());

  it('keeps an allowed connection and a denial while the owner dies and another adopts; cleanup() removes everything', async () => {
    const lab = await DataplaneLab.create({ pods: [{ key: 'x/a', ip: '10.77.0.1' }, { key: 'x/b', ip: '10.77.0.2' }, { key: 'x/c', ip: '10.77.0.3' }], ports: [80] });
    const owners: ChildProcess[] = [];
    const pinRoot = bpffs.pinRoot();
    try {
      const config: OwnerConfig = { netns: lab.node, pinRoot, pods: lab.pods.map((p) => ({ key: p.key, ip: p.ip, hostInterface: p.hostInterface })) };
      const first = await startOwner(config);
      owners.push(first.child);
      expect(first.ready.drift).toEqual([]);
      const held = await lab.hold('x/a', 'x/b', 80);
      const denied = { from: 'x/c', to: 'x/b', port: 80, protocol: 'TCP' } as const;
      expect(await held.echo()).toBe(true);
      expect(await lab.attempt(denied, 1000)).toBe(false);

      // The owner crashes; a new one starts and adopts what is pinned, while the probes go on.
      await kill(first.child, 'SIGKILL');
      const echoes: boolean[] = [];
      const attempts: boolean[] = [];
      let adopted = false;
      let roundsAfter = 0;
      const probing = (async () => {
        // Rounds go on while the new owner starts, and three more once it has adopted.
        while (roundsAfter < 3) {
          const counts = adopted;
          const [echo, attempt] = await Promise.all([held.echo(2000), lab.attempt(denied, 500)]);
          echoes.push(echo);
          attempts.push(attempt);
          if (counts) roundsAfter += 1;
        }
      })();
      const second = await startOwner(config);
      owners.push(second.child);
      adopted = true;
      await probing;
      expect(second.ready.drift, 'the new owner sees the state it wrote').toEqual([]);
      expect(second.ready.upgrade?.maps.map((m) => `${m.name} ${m.outcome}`), 'the same object: every pinned map reused').toEqual(['tw_config', 'tw_ct', 'tw_events', 'tw_ipcache', 'tw_l7', 'tw_lost', 'tw_policy'].map((n) => `${n} reused`));
      expect(second.ready.upgrade?.programsUpdated, 'the links run the new owner\'s programs').toHaveLength(6);
      expect(echoes.length).toBeGreaterThanOrEqual(3);
      expect(echoes.every(Boolean), `echoes on the held connection: ${echoes.join(' ')}`).toBe(true);
      expect(attempts.some(Boolean), `attempts of the denied connection: ${attempts.join(' ')}`).toBe(false);
      expect(await lab.attempt({ from: 'x/a', to: 'x/b', port: 80, protocol: 'TCP' }, 2000), 'a new allowed connection').toBe(true);
      expect(await held.echo()).toBe(true);
      await held.close();
      await kill(second.child, 'SIGTERM');

      // cleanup() from yet another instance removes programs, links and pins.
      const before = pinnedIds(pinRoot);
      expect(before.linkPins).toEqual(lab.pods.flatMap((p) => [`egress/${p.hostInterface}`, `ingress/${p.hostInterface}`]).sort());
      expect(before.maps).toHaveLength(7); // tw_ipcache, tw_policy, tw_ct, tw_config, tw_l7, tw_events, tw_lost
      const dataplane = await createEbpfDataplane({ netns: lab.node, pinRoot });
      await dataplane.cleanup();
      expect(bpffs.leftovers()).toEqual([]);
      for (const id of before.links) expect(await stillThere('link', id), `link ${id}`).toBe(false);
      for (const id of before.programs) expect(await stillThere('prog', id), `program ${id}`).toBe(false);
      for (const id of before.maps) expect(await stillThere('map', id), `map ${id}`).toBe(false);
    } finally {
      for (const child of owners) await kill(child, 'SIGKILL');
      lab.close();
    }
  }, 120_000);
});
