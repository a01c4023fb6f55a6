// Capabilities advertised in OPEN (RFC 5492): multiprotocol (RFC 4760 §8), route
// refresh (RFC 2918 §2), extended messages (RFC 8654 §3), graceful restart (RFC 4724
// §3, RFC 8538 §2), 4-octet AS (RFC 6793 §3), ADD-PATH (RFC 7911 §4), enhanced route
// refresh (RFC 7313 §3.1); anything else is kept as it came.
import { BgpInvalidArgument, BgpNotification } from '../errors.js';

import { type Asn } from './asn.js';
import { CAPABILITY_CODE } from './constants.js';
import { ByteWriter, checkUint } from './internal/bytes.js';
import { NOTIFICATION_CODE, OPEN_ERROR } from './notification-codes.js';

/** Multiprotocol extensions for one AFI/SAFI (RFC 4760 §8). */
export interface MultiprotocolCapability {
  /** Discriminant; capability code 1 on the wire. */
  readonly kind: 'multiprotocol';
  /** Address Family Identifier, 0..65535 (see {@link AFI}). */
  readonly afi: number;
  /** Subsequent Address Family Identifier, 0..255 (see {@link SAFI}). */
  readonly safi: number;
}

/** Route refresh (RFC 2918 §2). */
export interface RouteRefreshCapability {
  /** Discriminant; capability code 2 on the wire, empty value. */
  readonly kind: 'route-refresh';
}

/** Enhanced route refresh (RFC 7313 §3.1). */
export interface EnhancedRouteRefreshCapability {
  /** Discriminant; capability code 70 on the wire, empty value. */
  readonly kind: 'enhanced-route-refresh';
}

/** Extended messages, up to 65535 octets (RFC 8654 §3). */
export interface ExtendedMessageCapability {
  /** Discriminant; capability code 6 on the wire, empty value. */
  readonly kind: 'extended-message';
}

/** 4-octet AS numbers, with the speaker's own AS (RFC 6793 §3). */
export interface FourOctetAsCapability {
  /** Discriminant; capability code 65 on the wire. */
  readonly kind: 'four-octet-as';
  /** The sender's own AS number, as 4 octets. A received 0 is refused with NOTIFICATION 2/2 "Bad Peer AS" (RFC 7607 §2). */
  readonly asn: Asn;
}

/** One family in the graceful restart capability (RFC 4724 §3). */
export interface GracefulRestartFamily {
  /** Address Family Identifier, 0..65535. */
  readonly afi: number;
  /** Subsequent Address Family Identifier, 0..255. */
  readonly safi: number;
  /** The F bit: forwarding state was preserved across the restart. */
  readonly forwardingPreserved: boolean;
}

/** Graceful restart (RFC 4724 §3; the N bit from RFC 8538 §2). */
export interface GracefulRestartCapability {
  /** Discriminant; capability code 64 on the wire. */
  readonly kind: 'graceful-restart';
  /** The R bit: the speaker has restarted. */
  readonly restarting: boolean;
  /** The N bit: the speaker supports graceful restart for NOTIFICATION (RFC 8538). */
  readonly notification: boolean;
  /** Seconds the peer keeps routes while waiting for the session, 0..4095. */
  readonly restartTime: number;
  /** The families whose routes the sender can keep across a restart; may be empty. */
  readonly families: readonly GracefulRestartFamily[];
}

/** One family in the ADD-PATH capability (RFC 7911 §4). */
export interface AddPathFamily {
  /** Address Family Identifier, 0..65535. */
  readonly afi: number;
  /** Subsequent Address Family Identifier, 0..255. */
  readonly safi: number;
  /** The speaker can receive multiple paths. */
  readonly receive: boolean;
  /** The speaker can send multiple paths. */
  readonly send: boolean;
}

/** ADD-PATH (RFC 7911 §4). */
export interface AddPathCapability {
  /**
   * Discriminant; capability code 69 on the wire. A received ADD-PATH whose Send/Receive
   * field is not 1, 2 or 3 decodes as an {@link UnknownCapability} instead.
   */
  readonly kind: 'add-path';
  /** One entry per family; encoding throws when an entry neither sends nor receives. */
  readonly families: readonly AddPathFamily[];
}

/** A capability this codec does not interpret, kept as received (RFC 5492 §3). */
export interface UnknownCapability {
  /** Discriminant. */
  readonly kind: 'unknown';
  /** The capability code, 0..255 (IANA "Capability Codes"). */
  readonly code: number;
  /** The capability value as received (a copy), encoded back unchanged; at most 255 octets. */
  readonly value: Uint8Array;
}

/** A capability in an OPEN message. */
export type Capability =
  | MultiprotocolCapability
  | RouteRefreshCapability
  | EnhancedRouteRefreshCapability
  | ExtendedMessageCapability
  | FourOctetAsCapability
  | GracefulRestartCapability
  | AddPathCapability
  | UnknownCapability;

function malformed(code: number, reason: string): BgpNotification {
  // RFC 5492 names no subcode for a malformed capability; RFC 4271 §4.5 says Unspecific.
  return new BgpNotification({
    errorCode: NOTIFICATION_CODE.OPEN_MESSAGE_ERROR,
    errorSubcode: OPEN_ERROR.UNSPECIFIC,
    reason: `capability ${code}: ${reason}`,
  });
}

function decodeOne(code: number, value: Uint8Array): Capability {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const expectLength = (n: number): void => {
    if (value.length !== n) throw malformed(code, `length ${value.length}, expected ${n}`);
  };
  switch (code) {
    case CAPABILITY_CODE.MULTIPROTOCOL:
      // RFC 4760 §8: AFI (2), reserved (1), SAFI (1).
      expectLength(4);
      return { kind: 'multiprotocol', afi: view.getUint16(0), safi: view.getUint8(3) };
    case CAPABILITY_CODE.ROUTE_REFRESH:
      expectLength(0); // RFC 2918 §2
      return { kind: 'route-refresh' };
    case CAPABILITY_CODE.ENHANCED_ROUTE_REFRESH:
      expectLength(0); // RFC 7313 §3.1
      return { kind: 'enhanced-route-refresh' };
    case CAPABILITY_CODE.EXTENDED_MESSAGE:
      expectLength(0); // RFC 8654 §3
      return { kind: 'extended-message' };
    case CAPABILITY_CODE.FOUR_OCTET_AS: {
      expectLength(4); // RFC 6793 §3
      const asn = view.getUint32(0) as Asn;
      // RFC 7607 §2: AS 0 in the OPEN (here, in the capability) is "Bad Peer AS".
      if (asn === 0) {
        throw new BgpNotification({
          errorCode: NOTIFICATION_CODE.OPEN_MESSAGE_ERROR,
          errorSubcode: OPEN_ERROR.BAD_PEER_AS,
          reason: 'the 4-octet AS capability carries AS 0',
        });
      }
      return { kind: 'four-octet-as', asn };
    }
    case CAPABILITY_CODE.GRACEFUL_RESTART: {
      // RFC 4724 §3: flags (4 bits) + restart time (12 bits), then 4 octets per family.
      if (value.length < 2 || (value.length - 2) % 4 !== 0) throw malformed(code, `length ${value.length} is not 2 + 4n`);
      const head = view.getUint16(0);
      const families: GracefulRestartFamily[] = [];
      for (let at = 2; at < value.length; at += 4) {
        families.push({ afi: view.getUint16(at), safi: view.getUint8(at + 2), forwardingPreserved: (view.getUint8(at + 3) & 0x80) !== 0 });
      }
      return { kind: 'graceful-restart', restarting: (head & 0x8000) !== 0, notification: (head & 0x4000) !== 0, restartTime: head & 0x0fff, families };
    }
    case CAPABILITY_CODE.ADD_PATH: {
      // RFC 7911 §4: AFI (2), SAFI (1), Send/Receive (1) per family.
      if (value.length === 0 || value.length % 4 !== 0) throw malformed(code, `length ${value.length} is not a multiple of 4`);
      const families: AddPathFamily[] = [];
      for (let at = 0; at < value.length; at += 4) {
        const mode = view.getUint8(at + 3);
        // RFC 7911 §4: Send/Receive is 1, 2 or 3; otherwise the capability is not understood.
        if (mode < 1 || mode > 3) return { kind: 'unknown', code, value: value.slice() };
        families.push({ afi: view.getUint16(at), safi: view.getUint8(at + 2), receive: (mode & 1) !== 0, send: (mode & 2) !== 0 });
      }
      return { kind: 'add-path', families };
    }
    default:
      return { kind: 'unknown', code, value: value.slice() };
  }
}

/**
 * Decodes the value of a Capabilities optional parameter: one or more capabilities
 * (RFC 5492 §4).
 * @throws {BgpNotification} 2/0 when a capability overruns the parameter or has the wrong length; 2/2 for a 4-octet AS of 0.
 */
export function decodeCapabilities(value: Uint8Array): Capability[] {
  const out: Capability[] = [];
  let at = 0;
  while (at < value.length) {
    if (at + 2 > value.length) throw malformed(value[at] ?? 0, 'capability header overruns the parameter');
    const code = value[at] ?? 0;
    const length = value[at + 1] ?? 0;
    if (at + 2 + length > value.length) throw malformed(code, `length ${length} overruns the parameter`);
    out.push(decodeOne(code, value.subarray(at + 2, at + 2 + length)));
    at += 2 + length;
  }
  return out;
}

/**
 * Encodes one capability: code, length, value (RFC 5492 §4).
 * @throws {BgpInvalidArgument} for values out of range or a value longer than 255 octets.
 */
export function encodeCapability(capability: Capability): Uint8Array {
  const value = new ByteWriter(16);
  let code: number;
  switch (capability.kind) {
    case 'multiprotocol':
      code = CAPABILITY_CODE.MULTIPROTOCOL;
      value.u16(checkUint(capability.afi, 0xffff, 'AFI')).u8(0).u8(checkUint(capability.safi, 0xff, 'SAFI'));
      break;
    case 'route-refresh':
      code = CAPABILITY_CODE.ROUTE_REFRESH;
      break;
    case 'enhanced-route-refresh':
      code = CAPABILITY_CODE.ENHANCED_ROUTE_REFRESH;
      break;
    case 'extended-message':
      code = CAPABILITY_CODE.EXTENDED_MESSAGE;
      break;
    case 'four-octet-as':
      code = CAPABILITY_CODE.FOUR_OCTET_AS;
      value.u32(checkUint(capability.asn, 0xffffffff, 'AS number'));
      break;
    case 'graceful-restart':
      code = CAPABILITY_CODE.GRACEFUL_RESTART;
      value.u16((capability.restarting ? 0x8000 : 0) | (capability.notification ? 0x4000 : 0) | checkUint(capability.restartTime, 0x0fff, 'restart time'));
      for (const f of capability.families) {
        value.u16(checkUint(f.afi, 0xffff, 'AFI')).u8(checkUint(f.safi, 0xff, 'SAFI')).u8(f.forwardingPreserved ? 0x80 : 0);
      }
      break;
    case 'add-path':
      code = CAPABILITY_CODE.ADD_PATH;
      for (const f of capability.families) {
        const mode = (f.receive ? 1 : 0) | (f.send ? 2 : 0);
        if (mode === 0) throw new BgpInvalidArgument(`ADD-PATH for ${f.afi}/${f.safi} must send, receive or both`);
        value.u16(checkUint(f.afi, 0xffff, 'AFI')).u8(checkUint(f.safi, 0xff, 'SAFI')).u8(mode);
      }
      break;
    case 'unknown':
      code = checkUint(capability.code, 0xff, 'capability code');
      value.bytes(capability.value);
      break;
  }
  if (value.length > 255) throw new BgpInvalidArgument(`capability ${code} value is ${value.length} octets, more than 255`);
  const out = new ByteWriter(value.length + 2);
  return out.u8(code).u8(value.length).bytes(value.finish()).finish();
}
