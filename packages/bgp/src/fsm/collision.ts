// Connection collision detection (RFC 4271 §6.8): two TCP connections to the same
// peer, each with its own FSM. When one of them receives an OPEN, the speaker asks
// which to close and feeds that FSM an OpenCollisionDump event.
import { type SessionState, SESSION_STATE } from './types.js';
import { ipv4ToNumber } from '../rib/attributes.js';

/** One of the two connections. */
export interface ConnectionInfo {
  /** `outbound`: this speaker connected; `inbound`: the peer did. */
  readonly direction: 'outbound' | 'inbound';
  /** The state of the FSM that runs this connection. */
  readonly state: SessionState;
}

/**
 * Which connection to close when `incoming` has just received an OPEN carrying the
 * peer's BGP Identifier `remoteId` while `existing` is open too:
 * - `existing` in OpenConfirm (or OpenSent: the identifier is now known, §6.8): the
 *   connection initiated by the speaker with the higher BGP Identifier survives;
 * - `existing` in Established: the new connection is closed (§6.8);
 * - otherwise: no collision yet (`none`).
 */
export function resolveCollision(localId: string, remoteId: string, existing: ConnectionInfo, incoming: ConnectionInfo): 'existing' | 'incoming' | 'none' {
  if (existing.state === SESSION_STATE.ESTABLISHED) return 'incoming';
  if (existing.state !== SESSION_STATE.OPEN_CONFIRM && existing.state !== SESSION_STATE.OPEN_SENT) return 'none';
  // "If the value of the local BGP Identifier is less than the remote one, the local
  // system closes the BGP connection that already exists ... and accepts the BGP
  // connection initiated by the remote system": the higher identifier's connection wins.
  const keep = ipv4ToNumber(localId) > ipv4ToNumber(remoteId) ? 'outbound' : 'inbound';
  if (existing.direction === incoming.direction) return 'incoming';
  return existing.direction === keep ? 'incoming' : 'existing';
}
