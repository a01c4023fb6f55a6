// What the two OPEN messages agreed, which changes how UPDATEs are encoded. It is a
// parameter of every decode/encode call; the codec keeps no state.
import { type AfiSafi } from '../errors.js';

import { type Capability } from './capabilities.js';
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';

/** The capabilities in force on a session, as the codec needs them. */
export interface NegotiatedState {
  /** Both sides sent the 4-octet AS capability (RFC 6793 §4.1): AS_PATH and AGGREGATOR carry 4-octet ASNs. */
  readonly fourOctetAs: boolean;
  /** Both sides sent the extended message capability (RFC 8654 §3): messages up to 65535 octets. */
  readonly extendedMessage: boolean;
  /** Families whose received NLRI carry a path identifier (RFC 7911 §4: we receive, the peer sends). */
  readonly addPathReceive: readonly AfiSafi[];
  /** Families whose sent NLRI carry a path identifier (RFC 7911 §4: we send, the peer receives). */
  readonly addPathSend: readonly AfiSafi[];
}

/** The state before the OPEN exchange: 2-octet AS, no ADD-PATH, 4096-octet messages (RFC 4271). */
export const INITIAL_NEGOTIATED_STATE: NegotiatedState = Object.freeze({
  fourOctetAs: false,
  extendedMessage: false,
  addPathReceive: Object.freeze([]),
  addPathSend: Object.freeze([]),
});

/** Whether `list` holds `afi`/`safi`. */
export function hasFamily(list: readonly AfiSafi[], afi: number, safi: number): boolean {
  return list.some((f) => f.afi === afi && f.safi === safi);
}

/** The largest message allowed in `state` (RFC 4271 §4.1, RFC 8654 §4). */
export function maxMessageLength(state: NegotiatedState): number {
  return state.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}

/**
 * The state agreed by the capabilities this speaker sent (`local`) and those the peer sent (`remote`).
 */
export function negotiate(local: readonly Capability[], remote: readonly Capability[]): NegotiatedState {
  const both = (kind: Capability['kind']): boolean => local.some((c) => c.kind === kind) && remote.some((c) => c.kind === kind);
  const addPath = (mine: 'send' | 'receive', theirs: 'send' | 'receive'): AfiSafi[] => {
    const result: AfiSafi[] = [];
    for (const c of local) {
      if (c.kind !== 'add-path') continue;
      for (const f of c.families) {
        if (!f[mine]) continue;
        // RFC 7911 §4: the direction is in force when the peer advertised the opposite one.
        const peer = remote.some((r) => r.kind === 'add-path' && r.families.some((g) => g.afi === f.afi && g.safi === f.safi && g[theirs]));
        if (peer && !hasFamily(result, f.afi, f.safi)) result.push({ afi: f.afi, safi: f.safi });
      }
    }
    return result;
  };
  return {
    fourOctetAs: both('four-octet-as'),
    extendedMessage: both('extended-message'),
    addPathReceive: addPath('receive', 'send'),
    addPathSend: addPath('send', 'receive'),
  };
}
