// Property tests: encode → decode gives the message back, and the bytes are stable,
// for every message type and attribute, with and without 4-octet AS and ADD-PATH.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  type PathAttributes,
  INITIAL_NEGOTIATED_STATE,
  communityToText,
  decodeMessage,
  decodeOpen,
  decodeShutdownCommunication,
  encodeMessage,
  encodeOpen,
  encodeShutdownCommunication,
  largeCommunityToText,
  parseCommunity,
  parseLargeCommunity,
  parsePrefix,
  prefixToText,
  splitMessages,
} from '@twill/bgp';

import { STATES, attributeArbitraries, capability, messageOf, notification, open, prefixOf, routeRefresh, updateOf } from './arbitraries.js';

const ATTRIBUTES = Object.keys(attributeArbitraries(INITIAL_NEGOTIATED_STATE)) as (keyof PathAttributes)[];

describe.each(STATES)('round trips with %s', (_name, state) => {
  it('UPDATE: decode(encode(u)) = u and encode is stable', () => {
    fc.assert(
      fc.property(updateOf(state), (update) => {
        const bytes = encodeMessage(update, state);
        const decoded = decodeMessage(bytes, state);
        expect(decoded).toEqual(update);
        expect(encodeMessage(decoded, state)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it.each(ATTRIBUTES)('UPDATE with %s', (attribute) => {
    fc.assert(
      fc.property(updateOf(state, [attribute]), (update) => {
        expect(decodeMessage(encodeMessage(update, state), state)).toEqual(update);
      }),
      { numRuns: 60 },
    );
  });

  it('any message, and a stream of them through splitMessages', () => {
    fc.assert(
      fc.property(fc.array(messageOf(state), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 64 }), (messages, chunk) => {
        const encoded = messages.map((m) => encodeMessage(m, state));
        const stream = Uint8Array.from(encoded.flatMap((b) => Array.from(b)));
        // Feed the stream in chunks, as a socket would.
        let pending: Uint8Array = new Uint8Array(0);
        const out: Uint8Array[] = [];
        for (let at = 0; at < stream.length; at += chunk) {
          const joined = new Uint8Array(pending.length + Math.min(chunk, stream.length - at));
          joined.set(pending);
          joined.set(stream.subarray(at, at + chunk), pending.length);
          const split = splitMessages(joined, state);
          out.push(...split.messages);
          pending = split.rest;
        }
        expect(pending.length).toBe(0);
        expect(out.map((b) => decodeMessage(b, state))).toEqual(messages);
      }),
      { numRuns: 100 },
    );
  });
});

describe('round trips of the other messages', () => {
  it('OPEN with any capabilities (RFC 9072 extended parameters when they exceed 255 octets)', () => {
    fc.assert(
      fc.property(open, (message) => {
        expect(decodeOpen(encodeOpen(message))).toEqual(message);
      }),
      { numRuns: 300 },
    );
  });

  it('every capability alone', () => {
    fc.assert(
      fc.property(open, capability, (message, cap) => {
        const one = { ...message, capabilities: [cap] };
        expect(decodeOpen(encodeOpen(one))).toEqual(one);
      }),
    );
  });

  it('NOTIFICATION', () => {
    fc.assert(fc.property(notification, (m) => void expect(decodeMessage(encodeMessage(m, INITIAL_NEGOTIATED_STATE), INITIAL_NEGOTIATED_STATE)).toEqual(m)));
  });

  it('shutdown communications up to 255 octets of UTF-8 (RFC 9003 §2)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => new TextEncoder().encode(s).length <= 255), (text) => {
        const data = encodeShutdownCommunication(text);
        expect(decodeShutdownCommunication(data)).toBe(text);
        const decoded = decodeMessage(encodeMessage({ type: 'notification', errorCode: 6, errorSubcode: 4, data }, INITIAL_NEGOTIATED_STATE), INITIAL_NEGOTIATED_STATE);
        expect(decoded).toMatchObject({ shutdownCommunication: text });
      }),
    );
  });

  it('ROUTE-REFRESH and KEEPALIVE', () => {
    fc.assert(fc.property(routeRefresh, (m) => void expect(decodeMessage(encodeMessage(m, INITIAL_NEGOTIATED_STATE), INITIAL_NEGOTIATED_STATE)).toEqual(m)));
    expect(decodeMessage(encodeMessage({ type: 'keepalive' }, INITIAL_NEGOTIATED_STATE), INITIAL_NEGOTIATED_STATE)).toEqual({ type: 'keepalive' });
  });

  it('prefix and community text forms', () => {
    fc.assert(fc.property(fc.oneof(prefixOf(4), prefixOf(6)), (prefix) => void expect(parsePrefix(prefixToText(prefix))).toEqual(prefix)));
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (c) => void expect(parseCommunity(communityToText(c))).toBe(c)));
    const uint32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(fc.record({ globalAdministrator: uint32, localData1: uint32, localData2: uint32 }), (c) => void expect(parseLargeCommunity(largeCommunityToText(c))).toEqual(c)),
    );
    expect(communityToText(0xffffff01)).toBe('NO_EXPORT');
    expect(communityToText(0xfde90064)).toBe('65001:100');
    expect(prefixToText(parsePrefix('2001:DB8:0:0::/32'))).toBe('2001:db8::/32');
  });
});
