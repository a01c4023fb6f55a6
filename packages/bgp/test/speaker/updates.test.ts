import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  INITIAL_NEGOTIATED_STATE,
  ORIGIN,
  type OutgoingDelta,
  CollectingFibSink,
  Rib,
  asn,
  coalesce,
  decodeUpdate,
  encodeEndOfRib,
  encodeOutgoing,
  endOfRibFamily,
  makePrefix,
  parsePrefix,
  peerId,
  prefixToText,
  routerId,
  sessionFamilies,
} from '@twill/bgp';

const state = { ...INITIAL_NEGOTIATED_STATE, fourOctetAs: true };

describe('encodeOutgoing', () => {
  it('splits 3000 IPv4 and 3000 IPv6 prefixes into UPDATEs of at most 4096 octets', () => {
    const v4 = Array.from({ length: 3000 }, (_, i) => ({ prefix: parsePrefix(`10.${i >> 8}.${i & 255}.0/24`) }));
    const v6 = Array.from({ length: 3000 }, (_, i) => ({ prefix: parsePrefix(`2001:db8:${i.toString(16)}::/48`) }));
    const delta: OutgoingDelta = {
      withdrawn: [{ prefix: parsePrefix('192.0.2.0/24') }, { prefix: parsePrefix('2001:db8:ffff::/48') }],
      announced: [
        { attributes: { origin: ORIGIN.IGP, asPath: [], nextHop: '10.0.0.1' }, nlri: v4 },
        { attributes: { origin: ORIGIN.IGP, asPath: [], nextHop: '2001:db8::1' }, nlri: v6 },
      ],
    };
    const messages = encodeOutgoing(delta, state, { ipv4: true, ipv6: true });
    expect(Math.max(...messages.map((m) => m.length))).toBeLessThanOrEqual(4096);
    const decoded = messages.map((m) => decodeUpdate(m, state));
    // Withdrawals first: IPv4 in the Withdrawn Routes field, IPv6 in MP_UNREACH_NLRI.
    expect(decoded[0]?.withdrawn.map((n) => prefixToText(n.prefix))).toEqual(['192.0.2.0/24']);
    expect(decoded[1]?.attributes.mpUnreach?.withdrawn.map((n) => prefixToText(n.prefix))).toEqual(['2001:db8:ffff::/48']);
    const got4 = decoded.flatMap((u) => u.nlri.map((n) => prefixToText(n.prefix)));
    const got6 = decoded.flatMap((u) => (u.attributes.mpReach?.nlri ?? []).map((n) => prefixToText(n.prefix)));
    expect(got4).toEqual(v4.map((n) => prefixToText(n.prefix)));
    expect(got6).toEqual(v6.map((n) => prefixToText(n.prefix)));
    expect(decoded.find((u) => u.attributes.mpReach)?.attributes.mpReach?.nextHops).toEqual(['2001:db8::1']);
  });

  it('leaves out the families the session does not carry', () => {
    const delta: OutgoingDelta = { withdrawn: [{ prefix: parsePrefix('2001:db8::/48') }], announced: [] };
    expect(encodeOutgoing(delta, state, { ipv4: true, ipv6: false })).toEqual([]);
  });

  it('writes the same UPDATEs from the RIB\'s prefix keys as from prefix objects, IPv4 and IPv6, any length (property)', () => {
    const v4 = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })).map(([b, l]) => makePrefix(4, b, l));
    const v6 = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })).map(([b, l]) => makePrefix(6, b, l));
    const states = [state, { ...state, extendedMessage: true }];
    fc.assert(
      fc.property(fc.uniqueArray(fc.oneof(v4, v4, v6), { maxLength: 3000, selector: prefixToText }), fc.nat(), fc.constantFrom(...states), (prefixes, cut, negotiated) => {
        // Originate all, then withdraw a part: the RIB's deltas carry keys for both.
        const rib = new Rib({ localAs: asn(65000), routerId: routerId('10.0.0.1'), fib: new CollectingFibSink() });
        rib.peerUp({ id: peerId('192.0.2.2'), address: '192.0.2.2', asn: asn(65001), routerId: routerId('192.0.2.2'), localAddress: '192.0.2.1', localAddress6: '2001:db8::1' });
        for (const p of prefixes) rib.originate(p);
        const gone = prefixes.slice(0, prefixes.length === 0 ? 0 : cut % prefixes.length);
        const deltas = [rib.flush().updates.get(peerId('192.0.2.2'))];
        for (const p of gone) rib.withdrawOriginated(p);
        deltas.push(rib.flush().updates.get(peerId('192.0.2.2')));
        for (const delta of deltas) {
          if (delta === undefined) continue;
          // The same content as plain objects, which the encoder takes prefix by prefix.
          const plain: OutgoingDelta = { withdrawn: [...delta.withdrawn], announced: delta.announced.map((g) => ({ attributes: g.attributes, nlri: [...g.nlri] })) };
          const families = { ipv4: true, ipv6: true };
          const fromKeys = encodeOutgoing(delta, negotiated, families);
          const fromObjects = encodeOutgoing(plain, negotiated, families);
          const text = (messages: Uint8Array[]): string[] =>
            messages.flatMap((m) => {
              const u = decodeUpdate(m, negotiated);
              return [...u.withdrawn, ...u.nlri, ...(u.attributes.mpReach?.nlri ?? []), ...(u.attributes.mpUnreach?.withdrawn ?? [])].map((n) => prefixToText(n.prefix));
            });
          expect(text(fromKeys)).toEqual(text(fromObjects));
          expect(Math.max(0, ...fromKeys.map((m) => m.length))).toBeLessThanOrEqual(negotiated.extendedMessage ? 65535 : 4096);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('writes one End-of-RIB per family', () => {
    const [v4, v6] = encodeEndOfRib(state, { ipv4: true, ipv6: true }).map((m) => endOfRibFamily(decodeUpdate(m, state)));
    expect(v4).toEqual({ afi: 1, safi: 1 });
    expect(v6).toEqual({ afi: 2, safi: 1 });
  });
});

describe('coalesce', () => {
  it('joins messages into writes of at most the limit, in order, never splitting one (property)', () => {
    const message = fc.integer({ min: 19, max: 5000 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
    fc.assert(
      fc.property(fc.array(message, { maxLength: 60 }), fc.integer({ min: 1, max: 20000 }), (messages, limit) => {
        const writes = coalesce(messages, limit);
        expect(Buffer.concat(writes)).toEqual(Buffer.concat(messages));
        // A write over the limit is one message on its own.
        for (const w of writes) if (w.length > limit) expect(messages.some((m) => m === w)).toBe(true);
        expect(writes.length).toBeLessThanOrEqual(messages.length);
      }),
    );
  });
});

describe('sessionFamilies', () => {
  it('is IPv4 alone when either side sent no multiprotocol capability (RFC 4760 §6)', () => {
    expect(sessionFamilies([{ kind: 'multiprotocol', afi: 2, safi: 1 }], [])).toEqual({ ipv4: true, ipv6: false });
  });
  it('is the intersection otherwise', () => {
    const both = [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'multiprotocol', afi: 2, safi: 1 }] as const;
    expect(sessionFamilies(both, [{ kind: 'multiprotocol', afi: 2, safi: 1 }])).toEqual({ ipv4: false, ipv6: true });
  });
});
