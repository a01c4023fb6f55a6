// Connection collision detection (RFC 4271 §6.8): the connection initiated by the
// speaker with the higher BGP Identifier survives; an Established session keeps its own.
import { describe, expect, it } from 'vitest';

import { type ConnectionInfo, resolveCollision, step } from '@twill/bgp';

import { TO_ESTABLISHED, drive, kinds } from './helpers.js';

const out = (state: ConnectionInfo['state']): ConnectionInfo => ({ direction: 'outbound', state });
const inb = (state: ConnectionInfo['state']): ConnectionInfo => ({ direction: 'inbound', state });

describe('resolveCollision', () => {
  it.each([
    // local id, remote id, existing, incoming → which to close
    ['10.0.0.1', '10.0.0.2', out('OpenConfirm'), inb('OpenSent'), 'existing'], // remote higher: keep the peer's connection
    ['10.0.0.3', '10.0.0.2', out('OpenConfirm'), inb('OpenSent'), 'incoming'], // local higher: keep ours
    ['10.0.0.1', '10.0.0.2', inb('OpenConfirm'), out('OpenSent'), 'incoming'],
    ['10.0.0.3', '10.0.0.2', inb('OpenConfirm'), out('OpenSent'), 'existing'],
    ['10.0.0.1', '10.0.0.2', out('OpenSent'), inb('OpenSent'), 'existing'], // the id is known from this OPEN
    ['9.0.0.1', '10.0.0.2', out('OpenConfirm'), inb('OpenSent'), 'existing'], // compared as numbers, not text
    ['10.0.0.3', '10.0.0.2', out('Established'), inb('OpenSent'), 'incoming'],
    ['10.0.0.1', '10.0.0.2', out('Established'), inb('OpenSent'), 'incoming'],
    ['10.0.0.1', '10.0.0.2', out('Connect'), inb('OpenSent'), 'none'],
    ['10.0.0.1', '10.0.0.2', out('Active'), inb('OpenSent'), 'none'],
  ] as const)('local %s, remote %s: %o + %o → close %s', (local, remote, existing, incoming, expected) => {
    expect(resolveCollision(local, remote, existing, incoming)).toBe(expected);
  });

  it('the losing FSM sends Cease / Connection Collision Resolution', () => {
    const s = step(drive(TO_ESTABLISHED.slice(0, 3)).state, { type: 'OpenCollisionDump' }, 5000);
    expect(kinds(s)).toEqual(['notify 6/7', 'stop hold', 'stop keepalive', 'drop-connection', 'down']);
    expect(s.state.lastDown).toMatchObject({ kind: 'collision', state: 'OpenConfirm' });
  });
});
