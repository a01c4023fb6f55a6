// The long-lived `nft -i` path of the nft port: each script is still one transaction
// (a failing one changes nothing and says why), and the session goes on after a failure.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NetworkScratch, rootSkipReason, type ScratchNetns } from '@twill/sys/testing';

import { createNftPort, type NftPort } from '../../../src/dataplane/nftables/index.js';

const reason = rootSkipReason('creates network namespaces and nft tables');

describe.skipIf(reason)(`nft port's long-lived session as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let scratch: NetworkScratch;
  let ns: ScratchNetns;
  let port: NftPort;
  beforeEach(() => {
    scratch = new NetworkScratch();
    ns = scratch.netns();
    port = createNftPort({ netns: ns.name });
  });
  afterEach(() => {
    port.close?.();
    scratch.cleanup();
  });

  const listing = (): string => scratch.exec(ns, 'nft', ['list', 'table', 'inet', 'twtsession']);

  it('applies scripts in order, rejects a failing one whole with nft\'s error, and goes on after it', async () => {
    await port.apply([
      'add table inet twtsession',
      'add chain inet twtsession c { type filter hook forward priority filter; policy accept; }',
      'add set inet twtsession s { type ipv4_addr; flags interval; }',
      'add rule inet twtsession c ip saddr @s counter drop',
      '',
    ].join('\n'));
    await port.apply('add element inet twtsession s { 10.1.0.0/16, 10.3.0.1 }\n');

    // The first command is valid, the second names a chain that does not exist: neither happens.
    await expect(port.apply('add element inet twtsession s { 10.2.0.0/16 }\nadd rule inet twtsession nosuch counter\n'))
      .rejects.toThrow(/nft -i transaction failed: .*No such file or directory/s);
    expect(listing()).not.toContain('10.2.0.0/16');

    await port.apply('delete element inet twtsession s { 10.3.0.1 }\nadd element inet twtsession s { 10.4.0.0/16 }\n');
    const after = listing();
    expect(after).toContain('10.1.0.0/16');
    expect(after).toContain('10.4.0.0/16');
    expect(after).not.toContain('10.3.0.1');
    expect(after.match(/counter packets/g)).toHaveLength(1);
  });

  it('starts a new session after close, and takes a script too long for one line through nft -f -', async () => {
    await port.apply('add table inet twtsession\nadd set inet twtsession s { type ipv4_addr; flags interval; }\n');
    port.close?.();
    const many = Array.from({ length: 20_000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
    await port.apply(`add element inet twtsession s { ${many.join(', ')} }\n`);
    await port.apply('add element inet twtsession s { 11.0.0.0/8 }\n');
    const after = listing();
    expect(after).toContain('10.78.31.0/24');
    expect(after).toContain('11.0.0.0/8');
  });
});
