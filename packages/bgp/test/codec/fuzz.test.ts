// Fuzzing: random bytes and random mutations of valid messages never make a decoder
// throw anything but BgpNotification, and always return (the test would time out).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { BgpNotification, type NegotiatedState, decodeMessage, encodeMessage, splitMessages } from '@twill/bgp';

import { STATES, messageOf } from './arbitraries.js';
import { MARKER } from './helpers.js';

/** Decodes, and if that succeeds re-encodes: neither may throw anything but the package's errors. */
function survive(bytes: Uint8Array, state: NegotiatedState): void {
  try {
    const { messages } = splitMessages(bytes, state);
    for (const m of messages) {
      try {
        const decoded = decodeMessage(m, state);
        // What was decoded can be sent on (attribute values were checked on the way in).
        if (decoded.type !== 'open') encodeMessage(decoded, { ...state, extendedMessage: true });
      } catch (error) {
        if (!(error instanceof BgpNotification)) throw error;
      }
    }
  } catch (error) {
    if (!(error instanceof BgpNotification)) throw error;
  }
  try {
    decodeMessage(bytes, state);
  } catch (error) {
    if (!(error instanceof BgpNotification)) throw error;
  }
}

/** A header with a correct marker and length, so the body reaches the per-type decoders. */
const framed = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 200 })).map(([type, body]) => {
  const length = 19 + body.length;
  return Uint8Array.from([...MARKER, length >> 8, length & 0xff, type, ...body]);
});

type Mutation = { kind: 'flip'; at: number; value: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; value: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);

function mutate(bytes: Uint8Array, mutations: readonly Mutation[], fixLength: boolean): Uint8Array {
  let out = Array.from(bytes);
  for (const m of mutations) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    // Mutate the body more often than the header, where every change is a header error.
    const index = out.length > 19 && at < 19 ? 19 + (at % (out.length - 19)) : at;
    if (m.kind === 'flip') out[index] = m.value;
    else if (m.kind === 'cut') out = out.slice(0, index);
    else out.splice(index, 0, m.value);
  }
  if (fixLength && out.length >= 19) {
    out[16] = out.length >> 8;
    out[17] = out.length & 0xff;
  }
  return Uint8Array.from(out);
}

describe.each(STATES)('fuzzing with %s', (_name, state) => {
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => void survive(bytes, state)), { numRuns: 2000 });
  });

  it('random bodies behind a valid header', () => {
    fc.assert(fc.property(framed, (bytes) => void survive(bytes, state)), { numRuns: 3000 });
  });

  it('random mutations of valid messages', () => {
    fc.assert(
      fc.property(messageOf(state), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (message, mutations, fixLength) => {
        survive(mutate(encodeMessage(message, state), mutations, fixLength), state);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('fuzzing finds only BgpNotification', () => {
  it('and the decoders do throw it for garbage', () => {
    expect(() => decodeMessage(Uint8Array.of(1, 2, 3), STATES[0]![1])).toThrow(BgpNotification);
  });
});
