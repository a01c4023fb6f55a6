// The checks of a received OPEN that need this peer's configuration (RFC 4271 §6.2,
// RFC 6793 §4.1, RFC 6286 §2.2, RFC 5492 §5), and the hold time negotiation (§4.2).
// The codec already refused what needs no configuration (version, hold 1-2, AS 0, id 0).
import { type BgpOpen, BGP_VERSION, openAsn } from '../codec/open.js';
import { type Capability, encodeCapability } from '../codec/capabilities.js';
import { AS_TRANS } from '../codec/constants.js';
import { negotiate } from '../codec/negotiated.js';
import { NOTIFICATION_CODE, OPEN_ERROR } from '../codec/notification-codes.js';
import { BgpNotification } from '../errors.js';
import { type RouterId } from '../ids.js';

import { type FsmConfig, type SessionParameters } from './types.js';

function openError(subcode: number, reason: string, data?: Uint8Array): BgpNotification {
  return new BgpNotification({ errorCode: NOTIFICATION_CODE.OPEN_MESSAGE_ERROR, errorSubcode: subcode, reason, ...(data ? { data } : {}) });
}

/** The capabilities this speaker sends: the configured ones plus its 4-octet AS (RFC 6793 §3). */
export function localCapabilities(config: FsmConfig): Capability[] {
  const caps = [...(config.capabilities ?? [])];
  if (!caps.some((c) => c.kind === 'four-octet-as')) caps.push({ kind: 'four-octet-as', asn: config.localAs });
  return caps;
}

function sameCapability(a: Capability, b: Capability): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'multiprotocol' && b.kind === 'multiprotocol') return a.afi === b.afi && a.safi === b.safi;
  if (a.kind === 'unknown' && b.kind === 'unknown') return a.code === b.code;
  return true;
}

/**
 * Checks a peer's OPEN against the configuration and negotiates the session.
 * @returns the session parameters, or the NOTIFICATION to send (2/1, 2/2, 2/3, 2/6, 2/7)
 * whose `reason` says what was wrong in words.
 */
export function checkOpen(open: BgpOpen, config: FsmConfig): SessionParameters | BgpNotification {
  const peer = config.peerAddress;
  // RFC 4271 §6.2: the data is the largest supported version, 2 octets.
  if (open.version !== BGP_VERSION) return openError(OPEN_ERROR.UNSUPPORTED_VERSION_NUMBER, `peer ${peer} sent OPEN with version ${open.version}, this speaker runs 4`, Uint8Array.of(0, BGP_VERSION));
  const fourOctet = open.capabilities.find((c) => c.kind === 'four-octet-as');
  const asn = openAsn(open);
  // RFC 6793 §4.1: a 4-octet AS goes in the capability with AS_TRANS in My AS; a
  // My AS that is neither AS_TRANS nor the capability's AS is inconsistent.
  if (fourOctet && open.myAs !== AS_TRANS && open.myAs !== fourOctet.asn) {
    return openError(OPEN_ERROR.BAD_PEER_AS, `peer ${peer} sent OPEN with My AS ${open.myAs} but 4-octet AS ${fourOctet.asn}`);
  }
  if (asn !== config.peerAs) {
    const hint = !fourOctet && open.myAs === AS_TRANS ? ' (AS_TRANS without the 4-octet AS capability)' : '';
    return openError(OPEN_ERROR.BAD_PEER_AS, `peer ${peer} sent OPEN with AS ${asn}, configured ${config.peerAs}${hint}`);
  }
  const minHold = config.minHoldTime ?? 3;
  if (open.holdTime === 1 || open.holdTime === 2 || (open.holdTime !== 0 && open.holdTime < minHold)) {
    return openError(OPEN_ERROR.UNACCEPTABLE_HOLD_TIME, `peer ${peer} sent OPEN with hold time ${open.holdTime} s, the minimum is ${minHold} s (or 0)`);
  }
  // RFC 6286 §2.2: within an AS the identifier must be unique; our own id is a conflict.
  if (open.bgpIdentifier === config.localId && asn === config.localAs) {
    return openError(OPEN_ERROR.BAD_BGP_IDENTIFIER, `peer ${peer} sent OPEN with BGP Identifier ${open.bgpIdentifier}, the same as ours in AS ${asn}`);
  }
  const missing = (config.requiredCapabilities ?? []).filter((r) => !open.capabilities.some((c) => sameCapability(r, c)));
  if (missing.length > 0) {
    // RFC 5492 §5: the data lists the capabilities that are required and missing.
    const parts = missing.map((c) => encodeCapability(c));
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    return openError(OPEN_ERROR.UNSUPPORTED_CAPABILITY, `peer ${peer} sent OPEN without the required capabilities: ${missing.map(capabilityName).join(', ')}`, data);
  }
  // RFC 4271 §4.2: the smaller of the two hold times; KEEPALIVE at a third of it.
  const holdTime = Math.min(config.holdTime ?? 90, open.holdTime);
  const keepaliveTime = holdTime === 0 ? 0 : Math.max(1, Math.min(config.keepaliveTime ?? Infinity, Math.floor(holdTime / 3)));
  return {
    peerAs: asn,
    peerId: open.bgpIdentifier as RouterId,
    holdTime,
    keepaliveTime,
    peerCapabilities: open.capabilities,
    negotiated: negotiate(localCapabilities(config), open.capabilities),
  };
}

/** A capability's name, for messages. */
export function capabilityName(c: Capability): string {
  switch (c.kind) {
    case 'multiprotocol':
      return `multiprotocol ${c.afi === 1 ? 'IPv4' : c.afi === 2 ? 'IPv6' : `AFI ${c.afi}`}${c.safi === 1 ? ' unicast' : ` SAFI ${c.safi}`}`;
    case 'unknown':
      return `capability ${c.code}`;
    default:
      return c.kind;
  }
}
