// The L7 service's listener when Node cannot listen on the descriptor it was given, as root
// in a scratch namespace: the caller sees the original error, and the descriptor is closed
// exactly once (by Node when its listen(2) failed, by the service when Node never took it).
import { fstatSync } from 'node:fs';
import { type Server, createServer } from 'node:net';

import type * as Sys from '@twill/sys';
import { type TransparentListenerOptions } from '@twill/sys';
import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { L7_REDIRECT_DEFAULTS } from '../../../src/agent/l7/redirect.js';
import { startL7Service } from '../../../src/agent/l7/sys/service.js';

// What the service's openTransparentListener gives, when a test says so.
const opener = vi.hoisted(() => ({ next: undefined as ((options: TransparentListenerOptions) => number) | undefined }));
vi.mock('@twill/sys', async (importOriginal) => {
  const actual = await importOriginal<typeof Sys>();
  return { ...actual, openTransparentListener: (options: TransparentListenerOptions) => (opener.next ?? actual.openTransparentListener)(options) };
});
const sys = await vi.importActual<typeof Sys>('@twill/sys');

const reason = rootSkipReason('creates network namespaces and transparent sockets');

const CONFIG = {
  proxyPort: 15001,
  mark: L7_REDIRECT_DEFAULTS.mark,
  upstreamMark: 0xa00,
  mask: L7_REDIRECT_DEFAULTS.mask,
  routeTable: L7_REDIRECT_DEFAULTS.routeTable,
  rulePriority: L7_REDIRECT_DEFAULTS.rulePriority,
};
const quiet = { debug: () => undefined, warn: () => undefined };
const allowAll = { decide: () => ({ allowed: true as const, http: 'any' as const }) };

describe.skipIf(reason)(`the L7 service's listener as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const servers: Server[] = [];
  afterEach(async () => {
    opener.next = undefined;
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    scratch.cleanup();
  });

  it('reports the EADDRINUSE of listen(2) itself (Node closed the descriptor: not closed again)', async () => {
    const node = scratch.netns();
    let given = -1;
    opener.next = (options) => {
      // Two sockets bound to the port (SO_REUSEADDR lets both bind while neither listens); the first then listens.
      const first = sys.openTransparentListener(options);
      given = sys.openTransparentListener(options);
      const holder = createServer();
      servers.push(holder);
      holder.listen({ fd: first });
      return given;
    };
    await expect(startL7Service({ config: CONFIG, policy: allowAll, logger: quiet, netns: node.name })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(given).toBeGreaterThan(2);
  });

  it('closes a descriptor Node refused before listening (not a TCP socket), and reports Node\'s error', async () => {
    const node = scratch.netns();
    let given = -1;
    opener.next = () => {
      given = sys.openSocket({ domain: sys.AF.INET, type: sys.SOCK.DGRAM, netns: node.handle });
      return given;
    };
    const error = await startL7Service({ config: CONFIG, policy: allowAll, logger: quiet, netns: node.name }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(() => fstatSync(given)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
