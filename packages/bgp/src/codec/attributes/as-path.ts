// AS_PATH (RFC 4271 §4.3 b, §5.1.2), confederation segments (RFC 5065 §3), and the
// 2-octet/4-octet handling of RFC 6793: AS4_PATH, AS_TRANS and the merge of §4.2.3.
import { BgpInvalidArgument } from '../../errors.js';
import { type Asn } from '../asn.js';
import { AS_PATH_SEGMENT, AS_TRANS, type AsPathSegmentType } from '../constants.js';
import { ByteWriter, checkUint } from '../internal/bytes.js';

/** One AS_PATH segment. */
export interface AsPathSegment {
  /** AS_SET 1, AS_SEQUENCE 2, AS_CONFED_SEQUENCE 3, AS_CONFED_SET 4. */
  readonly type: AsPathSegmentType;
  /** 1..255 AS numbers. */
  readonly asns: readonly Asn[];
}

function isConfed(type: number): boolean {
  return type === AS_PATH_SEGMENT.AS_CONFED_SEQUENCE || type === AS_PATH_SEGMENT.AS_CONFED_SET;
}

/**
 * Decodes AS_PATH segments with 2- or 4-octet AS numbers. Returns the reason in words
 * when the path is malformed (RFC 7606 §7.2: unknown segment type, zero-length
 * segment, overrun or underrun).
 */
export function decodeAsPath(value: Uint8Array, asSize: 2 | 4): AsPathSegment[] | string {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const segments: AsPathSegment[] = [];
  let at = 0;
  while (at < value.length) {
    if (at + 2 > value.length) return `segment header at octet ${at} is truncated`;
    const type = view.getUint8(at);
    const count = view.getUint8(at + 1);
    if (type < 1 || type > 4) return `segment type ${type} is not known`;
    if (count === 0) return `segment at octet ${at} is empty`;
    if (at + 2 + count * asSize > value.length) return `segment of ${count} ASes at octet ${at} overruns the attribute`;
    const asns: Asn[] = [];
    for (let i = 0; i < count; i += 1) {
      const pos = at + 2 + i * asSize;
      asns.push((asSize === 4 ? view.getUint32(pos) : view.getUint16(pos)) as Asn);
    }
    segments.push({ type: type as AsPathSegmentType, asns });
    at += 2 + count * asSize;
  }
  return segments;
}

/**
 * Encodes AS_PATH segments; AS numbers above 65535 become AS_TRANS in the 2-octet form
 * (RFC 6793 §4.2.2). Segments longer than 255 are split (RFC 4271 §5.1.2 allows runs
 * of segments of one type).
 * @throws {BgpInvalidArgument} for an empty segment, a bad type, or an AS number out of range.
 */
export function encodeAsPath(segments: readonly AsPathSegment[], asSize: 2 | 4): Uint8Array {
  const out = new ByteWriter(64);
  for (const segment of segments) {
    if (segment.type < 1 || segment.type > 4) throw new BgpInvalidArgument(`AS_PATH segment type ${segment.type} is not known`);
    if (segment.asns.length === 0) throw new BgpInvalidArgument('an AS_PATH segment holds at least one AS');
    for (let start = 0; start < segment.asns.length; start += 255) {
      const chunk = segment.asns.slice(start, start + 255);
      out.u8(segment.type).u8(chunk.length);
      for (const asn of chunk) {
        checkUint(asn, 0xffffffff, 'AS number');
        if (asSize === 4) out.u32(asn);
        else out.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
  return out.finish();
}

/** Whether the path has an AS number that does not fit 2 octets, outside confederation segments (RFC 6793 §4.2.2). */
export function needsAs4Path(segments: readonly AsPathSegment[]): boolean {
  return segments.some((s) => !isConfed(s.type) && s.asns.some((a) => a > 0xffff));
}

/** The AS4_PATH to send beside a 2-octet AS_PATH: the path without confederation segments (RFC 6793 §3, §4.2.2). */
export function as4PathOf(segments: readonly AsPathSegment[]): AsPathSegment[] {
  return segments.filter((s) => !isConfed(s.type));
}

/** Path length as RFC 4271 §9.1.2.2 counts it: an AS_SET counts 1, confederation segments 0. */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === AS_PATH_SEGMENT.AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AS_PATH_SEGMENT.AS_SET) n += 1;
  }
  return n;
}

/**
 * Rebuilds the real path from a 2-octet AS_PATH and an AS4_PATH (RFC 6793 §4.2.3): when
 * the AS_PATH is shorter, the AS4_PATH is ignored; otherwise the leading ASes of the
 * AS_PATH that the AS4_PATH lacks are put in front of the AS4_PATH.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  let surplus = asPathLength(asPath) - asPathLength(as4Path);
  if (surplus < 0) return [...asPath];
  const merged: AsPathSegment[] = [];
  for (const segment of asPath) {
    if (isConfed(segment.type)) {
      // Confederation segments lead the path and are absent from AS4_PATH (RFC 6793 §3).
      merged.push(segment);
      continue;
    }
    if (surplus === 0) break;
    if (segment.type === AS_PATH_SEGMENT.AS_SET) {
      merged.push(segment);
      surplus -= 1;
    } else {
      const take = Math.min(surplus, segment.asns.length);
      merged.push({ type: segment.type, asns: segment.asns.slice(0, take) });
      surplus -= take;
    }
  }
  return [...merged, ...as4Path];
}
