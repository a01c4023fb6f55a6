// A kernel without a feature, played by presetting the probe cache: what the user sees is
// an UnsupportedFeatureError naming the Linux version needed, or the fallback.
import { fileURLToPath } from 'node:url';

import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import {
  MapType,
  ProgramType,
  TcFilter,
  UnsupportedFeatureError,
  attachTc,
  loadCollection,
  readCollectionSpec,
  requireMapType,
  requireProgramType,
  requireTcx,
  u32,
  u64,
} from '../../src/index.js';
import { resetProbeCache, setProbeResult } from '../../src/features/cache.js';
import { tcpConnects, vethPair } from '../link/traffic.js';

const reason = rootSkipReason('attaches eBPF programs');

/** The error `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe.skipIf(reason)(`missing kernel features as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const open: { close(): void }[] = [];
  afterEach(() => {
    for (const object of open.splice(0).reverse()) object.close();
    scratch.cleanup();
    resetProbeCache();
  });

  it('names the minimum kernel of a missing map type, program type and tcx', () => {
    setProbeResult(`map:${MapType.RingBuffer}`, false);
    setProbeResult(`prog:${ProgramType.SkLookup}`, false);
    setProbeResult('tcx', false);
    const ring = thrown(() => requireMapType(MapType.RingBuffer));
    expect(ring).toBeInstanceOf(UnsupportedFeatureError);
    expect(ring).toMatchObject({ code: 'ERR_BPF_UNSUPPORTED', minimumKernel: '5.8' });
    expect((ring as Error).message).toMatch(/needs Linux 5\.8 or later$/);
    expect(thrown(() => requireProgramType(ProgramType.SkLookup))).toMatchObject({ name: 'UnsupportedFeatureError', minimumKernel: '5.9' });
    expect(thrown(() => requireTcx())).toMatchObject({ name: 'UnsupportedFeatureError', feature: 'tcx links', minimumKernel: '6.6' });
    // The kernel really has them: the probes run again once the cache is reset.
    resetProbeCache();
    expect(() => requireMapType(MapType.RingBuffer)).not.toThrow();
    expect(() => requireTcx()).not.toThrow();
  });

  it('attaches through the clsact fallback when tcx is missing, and counts real traffic', async () => {
    setProbeResult('tcx', false);
    const pair = vethPair(scratch);
    const c = loadCollection(readCollectionSpec(fileURLToPath(new URL('../fixtures/syn-counter.o', import.meta.url))));
    open.push(c);
    const attached = attachTc({ program: c.program('count_syns'), interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle });
    open.push(attached);
    expect(attached).toBeInstanceOf(TcFilter);
    expect(scratch.exec(pair.server, 'tc', ['filter', 'show', 'dev', pair.serverDev, 'ingress'])).toMatch(/count_syns/);
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);
    expect(c.map('syn_stats', { key: u32, value: u64 }).lookup(1)).toBe(1n);
  });
});
