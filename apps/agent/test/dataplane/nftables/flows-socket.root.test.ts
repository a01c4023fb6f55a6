// The flow readers' netfilter socket (sys/netfilter-socket.ts) against the kernel, in a
// scratch namespace: what the kernel dropped since the last read is reported when the
// socket closes, and the receive buffer in effect is the one the kernel reads back.

import { spawnSync } from 'node:child_process';

import { afterEach, describe, expect, it } from 'vitest';

import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';

import { NFNLGRP_CONNTRACK_NEW } from '../../../src/dataplane/nftables/flows/conntrack.js';
import { netfilterSocketOpener } from '../../../src/dataplane/nftables/sys/netfilter-socket.js';

const reason = rootSkipReason('creates a network namespace with an nft table and a conntrack event socket in it');

describe.skipIf(reason)(`netfilter socket as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  afterEach(() => scratch.cleanup());

  it('reports on close what the kernel dropped since the last read', () => {
    const ns = scratch.netns();
    // A rule that uses conntrack makes the namespace track connections.
    scratch.exec(ns, 'nft', ['add table inet t; add chain inet t c { type filter hook output priority 0; ct state new accept; }']);
    let datagrams = 0;
    let dropped = 0;
    const errors: string[] = [];
    const socket = netfilterSocketOpener(ns.name)({ groups: [NFNLGRP_CONNTRACK_NEW], recvBufferSize: 1 }, {
      datagram: () => { datagrams += 1; },
      dropped: (count) => { dropped += count; },
      error: (error) => errors.push(error.message ?? ''),
    });
    // The kernel's minimum, doubled, a few KiB: room for a few events.
    const size = socket.receiveBuffer;
    expect(size?.requested).toBe(1);
    expect(size?.effective).toBeGreaterThan(2);
    expect(size?.effective).toBeLessThan(16384);
    // 200 flows while this process is blocked: nothing reads, most are dropped.
    const sender = "const d = require('node:dgram'); for (let i = 0; i < 200; i += 1) { const s = d.createSocket('udp4'); s.send('x', 9, '127.0.0.1', () => s.close()); }";
    const run = spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, '-e', sender], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(dropped).toBe(0);
    socket.close();
    // Counted at close, never read: the queued few are discarded with the socket.
    expect(datagrams).toBe(0);
    expect(dropped).toBeGreaterThan(150);
    expect(dropped).toBeLessThan(200);
    expect(errors).toEqual([]);
  });
});
