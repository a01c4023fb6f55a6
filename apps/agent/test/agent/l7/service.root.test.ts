// The agent's L7 enforcement as one service, as root, in a scratch node namespace: it
// listens and installs its redirect, closes with a client connection still open (the
// listener alone would wait for that connection forever), and keeps or removes the
// redirect as asked; a run without L7 removes the redirect an earlier run kept.
import { Socket } from 'node:net';

import { AF, SOCK, openSocket } from '@twill/sys';
import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { L7_REDIRECT_DEFAULTS } from '../../../src/agent/l7/redirect.js';
import { type L7Service, removeL7Redirect, startL7Service } from '../../../src/agent/l7/sys/service.js';
import { serviceOptions } from './service-options.js';

const reason = rootSkipReason('creates network namespaces, nft tables, ip rules and transparent sockets');

describe.skipIf(reason)(`the L7 service as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const services: L7Service[] = [];
  afterEach(async () => {
    for (const service of services.splice(0)) await service.close().catch(() => undefined);
    scratch.cleanup();
  });

  it('listens on the proxy port with its redirect installed, and closes while a client still holds a connection', async () => {
    const node = scratch.netns();
    scratch.ip(node, 'link', 'set', 'lo', 'up');
    const service = await startL7Service(serviceOptions(node.name));
    services.push(service);
    const status = await service.status();
    expect(status.listening).toEqual({ port: 15001, address: '::' });
    expect(status.redirect).toMatchObject({ installed: true, missing: [] });

    // A client in the node holds a connection and sends nothing (the proxy waits for its request's head).
    const client = new Socket({ fd: openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: node.handle }), readable: true, writable: true });
    const closedByPeer = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      client.once('error', reject);
      client.connect(15001, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await service.status()).proxy.connections).toBe(1);

    // Closing ends that connection too (and does not wait for it: the test's timeout is below the proxy's 10 s header limit).
    await service.close({ keepRedirect: true });
    await closedByPeer;
    // The redirect stays when asked to: the table and the rule are still in the kernel.
    expect(scratch.exec(node, 'nft', ['list', 'tables'])).toContain(`inet ${L7_REDIRECT_DEFAULTS.table}`);
    expect(scratch.ip(node, '-4', 'rule', 'show')).toContain(`lookup ${L7_REDIRECT_DEFAULTS.routeTable}`);
  }, 8000);

  it('removes the redirect an earlier run kept (an agent started without L7), and removing it again changes nothing', async () => {
    const node = scratch.netns();
    scratch.ip(node, 'link', 'set', 'lo', 'up');
    const options = serviceOptions(node.name);
    const service = await startL7Service(options);
    await service.close({ keepRedirect: true });
    expect(scratch.exec(node, 'nft', ['list', 'tables'])).toContain(`inet ${L7_REDIRECT_DEFAULTS.table}`);

    // The table, and the rules and routes of both families, go.
    await removeL7Redirect(options.config, node.name);
    expect(scratch.exec(node, 'nft', ['list', 'tables'])).not.toContain(L7_REDIRECT_DEFAULTS.table);
    for (const family of ['-4', '-6']) {
      expect(scratch.ip(node, family, 'rule', 'show')).not.toContain(`lookup ${L7_REDIRECT_DEFAULTS.routeTable}`);
      expect(scratch.ip(node, family, 'route', 'show', 'table', 'all')).not.toContain(`table ${L7_REDIRECT_DEFAULTS.routeTable}`);
    }
    const ruleset = scratch.exec(node, 'nft', ['list', 'ruleset']);
    await removeL7Redirect(options.config, node.name);
    expect(scratch.exec(node, 'nft', ['list', 'ruleset'])).toBe(ruleset);
  }, 8000);
});
