// The L7 service's listener as root in a scratch namespace: when Node cannot listen on the
// descriptor it was given, the caller sees the original error and the descriptor is closed
// exactly once (by Node when its listen(2) failed, by the service when Node never took it);
// without IPv6, the IPv4 listener and an IPv4-only redirect.
import { fstatSync } from 'node:fs';
import { type Server, createServer } from 'node:net';

import type * as Sys from '@twill/sys';
import { type TransparentListenerOptions } from '@twill/sys';
import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { L7_REDIRECT_DEFAULTS } from '../../../src/agent/l7/redirect.js';
import { type L7Service, startL7Service } from '../../../src/agent/l7/sys/service.js';
import { serviceOptions } from './service-options.js';

// What the service's openTransparentListener gives, when a test says so.
const opener = vi.hoisted(() => ({ next: undefined as ((options: TransparentListenerOptions) => number) | undefined }));
vi.mock('@twill/sys', async (importOriginal) => {
  const actual = await importOriginal<typeof Sys>();
  return { ...actual, openTransparentListener: (options: TransparentListenerOptions) => (opener.next ?? actual.openTransparentListener)(options) };
});
const sys = await vi.importActual<typeof Sys>('@twill/sys');

const reason = rootSkipReason('creates network namespaces and transparent sockets');

describe.skipIf(reason)(`the L7 service's listener as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const servers: Server[] = [];
  const services: L7Service[] = [];
  afterEach(async () => {
    opener.next = undefined;
    for (const service of services.splice(0)) await service.close().catch(() => undefined);
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
    await expect(startL7Service(serviceOptions(node.name))).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(given).toBeGreaterThan(2);
  });

  it('on a node without IPv6 listens on 0.0.0.0 and installs the IPv4 redirect only', async () => {
    const node = scratch.netns();
    scratch.exec(node, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv6.conf.lo.disable_ipv6=1']);
    scratch.ip(node, 'link', 'set', 'lo', 'up');
    // A kernel without IPv6 (ipv6.disable=1) refuses AF_INET6 sockets; the sysctl alone does not, so the test says it.
    opener.next = (options) => {
      if (options.address === '::') throw Object.assign(new Error('socket: EAFNOSUPPORT'), { code: 'EAFNOSUPPORT' });
      return sys.openTransparentListener(options);
    };
    const service = await startL7Service(serviceOptions(node.name));
    services.push(service);
    const status = await service.status();
    expect(status.listening).toEqual({ port: 15001, address: '0.0.0.0' });
    expect(status.redirect).toMatchObject({ installed: true, missing: [] });
    expect(scratch.exec(node, 'nft', ['list', 'table', 'inet', L7_REDIRECT_DEFAULTS.table])).not.toContain('ip6');
    expect(scratch.ip(node, '-4', 'rule', 'show')).toContain(`lookup ${L7_REDIRECT_DEFAULTS.routeTable}`);
    expect(scratch.ip(node, '-6', 'rule', 'show')).not.toContain(`lookup ${L7_REDIRECT_DEFAULTS.routeTable}`);
  });

  it('closes a descriptor Node refused before listening (not a TCP socket), and reports Node\'s error', async () => {
    const node = scratch.netns();
    let given = -1;
    opener.next = () => {
      given = sys.openSocket({ domain: sys.AF.INET, type: sys.SOCK.DGRAM, netns: node.handle });
      return given;
    };
    const error = await startL7Service(serviceOptions(node.name)).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(() => fstatSync(given)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
