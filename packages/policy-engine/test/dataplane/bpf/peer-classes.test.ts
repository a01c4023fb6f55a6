import { describe, expect, it } from 'vitest';

import { FIRST_PEER_CLASS, RESERVED_IDENTITY, type NumericIdentity } from '@twill/policy-engine';

import { PeerClasses } from '../../../src/dataplane/bpf/peer-classes.js';

const id = (n: number) => n as NumericIdentity;

describe('peer classes of the ipcache map', () => {
  it('gives a prefix inside named CIDRs a class of (identity, CIDRs), and the rest their identity', () => {
    const classes = new PeerClasses();
    classes.setAddress('10.1.0.5', id(300));
    classes.setAddress('10.2.0.5', id(300));
    classes.setAddress('fd00::5', id(301));
    classes.retain(['10.1.0.0/16', '0.0.0.0/0']);
    const entries = classes.entries();
    const outside = entries.get('10.2.0.5/32');
    const inside = entries.get('10.1.0.5/32');
    expect(outside).toMatchObject({ identity: 300, cidrs: ['0.0.0.0/0'] });
    expect(inside).toMatchObject({ identity: 300, cidrs: ['0.0.0.0/0', '10.1.0.0/16'] });
    expect(entries.get('10.1.0.0/16')).toMatchObject({ identity: RESERVED_IDENTITY.WORLD, cidrs: ['0.0.0.0/0', '10.1.0.0/16'] });
    // IPv6 is never inside an IPv4 CIDR: it keeps its identity.
    expect(entries.get('fd00::5/128')).toEqual({ id: 301, identity: 301, cidrs: [] });
    expect(inside?.id).toBeGreaterThanOrEqual(FIRST_PEER_CLASS);
    expect(new Set([outside?.id, inside?.id, entries.get('10.1.0.0/16')?.id]).size).toBe(3);
  });

  it('keeps a class number for the same class, and forgets CIDRs nobody names', () => {
    const classes = new PeerClasses();
    classes.setAddress('10.1.0.5', id(300));
    classes.retain(['10.1.0.0/16']);
    const first = classes.entries().get('10.1.0.5/32')?.id;
    classes.retain(['10.1.0.0/16']);
    classes.release(['10.1.0.0/16']);
    expect(classes.entries().get('10.1.0.5/32')?.id).toBe(first);
    classes.release(['10.1.0.0/16']);
    expect([...classes.entries().keys()]).toEqual(['10.1.0.5/32']);
    expect(classes.entries().get('10.1.0.5/32')?.id).toBe(300);
    const again = new PeerClasses();
    again.setAddress('10.1.0.5', id(300));
    again.retain(['10.1.0.0/16']);
    expect(again.entries().get('10.1.0.5/32')?.id, 'a restarted agent numbers classes alike').toBe(first);
  });
});
