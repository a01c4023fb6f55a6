// Reasons in words for a session that went down, for logs and for the last-error
// line of `twill bgp status` (issue 7 item 5): a received NOTIFICATION decoded with
// what it most likely means for this configuration.
import { type BgpNotificationMessage, notificationToText } from '../codec/notification.js';
import { CEASE, NOTIFICATION_CODE, OPEN_ERROR, describeNotification } from '../codec/notification-codes.js';

import { type FsmConfig, type SessionState, SESSION_STATE } from './types.js';

/**
 * Hold timer expiry in `state`: `"hold timer expired after 90 s with no KEEPALIVE or
 * UPDATE from peer 10.0.0.2"`. In OpenSent no OPEN came; in OpenConfirm the peer sent
 * its OPEN but never acknowledged ours, which is what a peer that drops our packets
 * (TTL security, a firewall on one direction) looks like.
 */
export function describeHoldTimerExpiry(peer: string, seconds: number, state: SessionState): string {
  if (state === SESSION_STATE.OPEN_SENT) return `hold timer expired after ${seconds} s in OpenSent with no OPEN from peer ${peer}`;
  if (state === SESSION_STATE.OPEN_CONFIRM) {
    return `hold timer expired after ${seconds} s in OpenConfirm: peer ${peer} sent its OPEN but never acknowledged ours; it may not receive our packets (TTL security, a one-way filter)`;
  }
  return `hold timer expired after ${seconds} s with no KEEPALIVE or UPDATE from peer ${peer}`;
}

function hint(m: BgpNotificationMessage, config: FsmConfig): string | undefined {
  if (m.errorCode === NOTIFICATION_CODE.OPEN_MESSAGE_ERROR) {
    switch (m.errorSubcode) {
      case OPEN_ERROR.BAD_PEER_AS:
        return `it does not expect our AS ${config.localAs}: check its neighbor's remote AS`;
      case OPEN_ERROR.BAD_BGP_IDENTIFIER:
        return `it refuses our BGP Identifier ${config.localId} (0, or the same as its own)`;
      case OPEN_ERROR.UNACCEPTABLE_HOLD_TIME:
        return `it refuses our hold time of ${config.holdTime ?? 90} s`;
      case OPEN_ERROR.UNSUPPORTED_CAPABILITY:
        return 'it requires a capability we did not send';
      default:
        return undefined;
    }
  }
  if (m.errorCode === NOTIFICATION_CODE.HOLD_TIMER_EXPIRED) return 'it heard no KEEPALIVE from us within its hold time';
  if (m.errorCode === NOTIFICATION_CODE.CEASE && m.errorSubcode === CEASE.MAXIMUM_NUMBER_OF_PREFIXES_REACHED) {
    const max = m.data.length >= 7 ? new DataView(m.data.buffer, m.data.byteOffset).getUint32(3) : undefined;
    return max === undefined ? 'we sent more prefixes than its limit' : `we sent more than its limit of ${max} prefixes`;
  }
  if (m.errorCode === NOTIFICATION_CODE.CEASE && m.errorSubcode === CEASE.CONNECTION_COLLISION_RESOLUTION) return 'it kept the other connection between us';
  return undefined;
}

/**
 * A NOTIFICATION the peer sent, in words: `"peer 10.0.0.2 sent NOTIFICATION OPEN
 * Message Error / Bad Peer AS: it does not expect our AS 65001: check its neighbor's
 * remote AS"`; shutdown communications are quoted (RFC 9003).
 */
export function describeReceivedNotification(m: BgpNotificationMessage, config: FsmConfig): string {
  const text = m.shutdownCommunication !== undefined || m.data.length === 0 ? notificationToText(m) : describeNotification(m.errorCode, m.errorSubcode).text;
  const why = hint(m, config);
  return `peer ${config.peerAddress} sent NOTIFICATION ${text}${why ? `: ${why}` : ''}`;
}
