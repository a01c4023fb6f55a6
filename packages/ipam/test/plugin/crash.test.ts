import { afterAll, describe, expect, it } from 'vitest';

import { addAddresses, execPlugin, fixtureFile, FIXTURE_PROCESS, removeTempDirs, startPlugin, tempDir, twillBinDir } from './plugin-exec.js';

// A twill-ipam process SIGKILLed in the middle of an ADD, at a known point (the fixture's
// TWILL_IPAM_TEST_PAUSE hook): the lock it held is released, the next ADD gets another
// address, and GC with the survivors as valid attachments frees whatever the dead one
// left: no leak, no duplicate.
let plugin = '';
afterAll(removeTempDirs);

function config(dataDir: string, store: 'files' | 'sqlite', extra: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.1.0',
    name: 'crash',
    type: 'bridge',
    ipam: { type: 'twill-ipam', store, dataDir, ranges: [[{ subnet: '10.66.0.0/24' }]] },
    ...extra,
  };
}

describe.each(['files', 'sqlite'] as const)('SIGKILL during ADD, %s store', (store) => {
  it.each(['in-lock', 'after-commit'] as const)('killed %s: GC leaves no leak and no duplicate', async (pause) => {
    plugin ||= (await twillBinDir()).plugin;
    const dataDir = tempDir();
    const survivor = await addAddresses(plugin, { config: config(dataDir, store), containerId: 'survivor' });

    const victim = startPlugin(await fixtureFile(), {
      command: 'ADD',
      config: config(dataDir, store),
      containerId: 'victim',
      launcher: FIXTURE_PROCESS,
      env: { TWILL_IPAM_TEST_PAUSE: pause },
    });
    await victim.stderrSays('paused');
    // The next ADD starts while the victim still holds (in-lock) or has just stored its address.
    const next = addAddresses(plugin, { config: config(dataDir, store), containerId: 'next' });
    victim.child.kill('SIGKILL');
    expect(await victim.done).toMatchObject({ signal: 'SIGKILL', output: undefined });
    const nextAddresses = await next;
    expect(nextAddresses).not.toEqual(survivor);

    const valid = [
      { containerID: 'survivor', ifname: 'eth0' },
      { containerID: 'next', ifname: 'eth0' },
    ];
    expect(await execPlugin(plugin, { command: 'GC', config: config(dataDir, store, { 'cni.dev/valid-attachments': valid }) })).toMatchObject({ exitCode: 0 });
    // Nothing of the victim is left: CHECK finds no address for it.
    expect((await execPlugin(plugin, { command: 'CHECK', config: config(dataDir, store), containerId: 'victim' })).output).toMatchObject({
      code: 999,
      msg: 'twill-ipam: failed to find address added by container victim',
    });
    // The survivors still hold theirs, and a fresh ADD duplicates neither.
    for (const id of ['survivor', 'next']) {
      expect(await execPlugin(plugin, { command: 'CHECK', config: config(dataDir, store), containerId: id })).toMatchObject({ exitCode: 0 });
    }
    const fresh = await addAddresses(plugin, { config: config(dataDir, store), containerId: 'fresh' });
    expect(new Set([...survivor, ...nextAddresses, ...fresh]).size).toBe(3);
  }, 180_000);
});
