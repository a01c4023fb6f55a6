// COMMUNITIES (RFC 1997) with the well-known values (IANA "BGP Well-known
// Communities"), and LARGE_COMMUNITY (RFC 8092).
import { BgpInvalidArgument } from '../../errors.js';

/** Well-known communities (RFC 1997 §3, RFC 3765, RFC 7611, RFC 7999, RFC 8326, RFC 9494). */
export const WELL_KNOWN_COMMUNITY = {
  GRACEFUL_SHUTDOWN: 0xffff0000,
  ACCEPT_OWN: 0xffff0001,
  LLGR_STALE: 0xffff0006,
  NO_LLGR: 0xffff0007,
  BLACKHOLE: 0xffff029a,
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  NOPEER: 0xffffff04,
} as const;

const NAMES: ReadonlyMap<number, string> = new Map(Object.entries(WELL_KNOWN_COMMUNITY).map(([name, value]) => [value, name]));
const BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(WELL_KNOWN_COMMUNITY));

/** A community as `"65000:100"`, or its well-known name (`"NO_EXPORT"`). */
export function communityToText(community: number): string {
  return NAMES.get(community) ?? `${community >>> 16}:${community & 0xffff}`;
}

/**
 * Parses `"ASN:VALUE"` (each 0..65535) or a well-known name.
 * @throws {BgpInvalidArgument} for anything else.
 */
export function parseCommunity(text: string): number {
  const named = BY_NAME.get(text.toUpperCase().replaceAll('-', '_'));
  if (named !== undefined) return named;
  const match = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  const high = Number(match?.[1]);
  const low = Number(match?.[2]);
  if (!match || high > 0xffff || low > 0xffff) throw new BgpInvalidArgument(`${JSON.stringify(text)} is not a community`);
  return ((high << 16) | low) >>> 0;
}

/** A large community: three 4-octet fields (RFC 8092 §3). */
export interface LargeCommunity {
  /** The AS that defines the community. */
  readonly globalAdministrator: number;
  /** Local Data Part 1, 0..4294967295: meaning chosen by the global administrator. */
  readonly localData1: number;
  /** Local Data Part 2, 0..4294967295: meaning chosen by the global administrator. */
  readonly localData2: number;
}

/** `"65000:1:2"` (RFC 8092 §4 "canonical representation"). */
export function largeCommunityToText(c: LargeCommunity): string {
  return `${c.globalAdministrator}:${c.localData1}:${c.localData2}`;
}

/**
 * Parses `"GLOBAL:LOCAL1:LOCAL2"`, each 0..4294967295.
 * @throws {BgpInvalidArgument} otherwise.
 */
export function parseLargeCommunity(text: string): LargeCommunity {
  const match = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/.exec(text);
  const values = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [];
  if (values.length !== 3 || values.some((v) => v > 0xffffffff)) throw new BgpInvalidArgument(`${JSON.stringify(text)} is not a large community`);
  const [g = 0, l1 = 0, l2 = 0] = values;
  return { globalAdministrator: g, localData1: l1, localData2: l2 };
}

/** Decodes COMMUNITIES; the reason in words when the length is not a non-zero multiple of 4 (RFC 7606 §7.8). */
export function decodeCommunities(value: Uint8Array): number[] | string {
  if (value.length === 0 || value.length % 4 !== 0) return `length ${value.length} is not a non-zero multiple of 4`;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out: number[] = [];
  for (let at = 0; at < value.length; at += 4) out.push(view.getUint32(at));
  return out;
}

/**
 * Decodes LARGE_COMMUNITY; the reason in words when the length is not a non-zero
 * multiple of 12 (RFC 8092 §6). Duplicates are removed (RFC 8092 §5).
 */
export function decodeLargeCommunities(value: Uint8Array): LargeCommunity[] | string {
  if (value.length === 0 || value.length % 12 !== 0) return `length ${value.length} is not a non-zero multiple of 12`;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out: LargeCommunity[] = [];
  const seen = new Set<string>();
  for (let at = 0; at < value.length; at += 12) {
    const c = { globalAdministrator: view.getUint32(at), localData1: view.getUint32(at + 4), localData2: view.getUint32(at + 8) };
    const key = largeCommunityToText(c);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out;
}
