// BPF_LINK_UPDATE on a tcx link: the link runs another program from one packet to the
// next, keeps its id, and refuses an update that expects a program it no longer runs.
import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { AttachType, BpfError } from '../../src/index.js';
import { attachTcx } from '../../src/link/tcx.js';
import { ProgramType, TC_ACT_OK, countingProgram, sendUdp, vethPair } from './traffic.js';

const reason = rootSkipReason('attaches eBPF programs');

describe.skipIf(reason)(`updating a link's program as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const open: { close(): void }[] = [];
  function track<T extends { close(): void }>(object: T): T {
    open.push(object);
    return object;
  }
  afterEach(() => {
    for (const object of open.splice(0).reverse()) object.close();
    scratch.cleanup();
  });

  function counter() {
    const { counts, program, count } = countingProgram(ProgramType.SchedCls, TC_ACT_OK, AttachType.TcxIngress);
    track(counts);
    track(program);
    return { program, count };
  }

  it('moves a tcx link to a new program: packets count on the new one only, the link keeps its id', async () => {
    const pair = vethPair(scratch);
    const before = counter();
    const after = counter();
    const link = track(attachTcx({ program: before.program, interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle }));
    const { id } = link.info();
    await sendUdp(pair.client, pair.serverAddress, 5);
    const counted = before.count();
    expect(counted).toBeGreaterThanOrEqual(5n);

    link.update(after.program, { expected: before.program });
    expect(link.info()).toMatchObject({ id, programId: after.program.info().id });
    await sendUdp(pair.client, pair.serverAddress, 5);
    expect(after.count()).toBeGreaterThanOrEqual(5n);
    expect(before.count(), 'the old program sees nothing after the update').toBe(counted);
  });

  it('refuses an update that expects a program the link no longer runs (EPERM), and changes nothing', () => {
    const pair = vethPair(scratch);
    const first = counter();
    const second = counter();
    const link = track(attachTcx({ program: first.program, interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle }));
    link.update(second.program);
    let error: unknown;
    try {
      link.update(first.program, { expected: first.program });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BpfError);
    expect(error).toMatchObject({ errno: 'EPERM', message: expect.stringMatching(/BPF_LINK_UPDATE/) });
    expect(link.info().programId).toBe(second.program.info().id);
  });
});
