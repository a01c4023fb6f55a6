// The records of the tw_events ring buffer (`struct tw_flow_event` in policy.h), decoded
// in place from the ring's bytes into the port's DataplaneFlowEvent. Pure. The decoder
// runs once per event at up to 100k events/s, so it reads fields by offset (no layout
// objects, no bigint), and keeps the text of the IPv4 addresses it has seen.

import { be16, bytes, struct, u8, u32, u64 } from '@twill/ebpf';

import { type DataplaneFlowEvent, type DataplaneRuleRef } from '../port.js';

/** `struct tw_flow_event`: the field offsets {@link FlowEventDecoder} reads (layout.test.ts checks them). */
export const FLOW_EVENT = struct({
  timeNs: u64,
  endpoint: u32,
  identity: u32,
  rule: u32,
  direction: u8,
  verdict: u8,
  protocol: u8,
  family: u8,
  /** `TW_REASON_*`: policy decided, no entry (fail closed), the first reply of a connection policy allowed, or not proxied. */
  reason: u8,
  tcpFlags: u8,
  sourcePort: be16,
  destinationPort: be16,
  icmpType: u8,
  icmpCode: u8,
  source: bytes(16),
  destination: bytes(16),
});

/** `sizeof(struct tw_flow_event)`. */
export const FLOW_EVENT_SIZE = 64;

/**
 * A tw_events record decoded: the port's event, and what only the eBPF program says.
 * An L7-protected connection that went around the L7 proxy is a policy drop (`reason`
 * `policy`, `verdict` `deny`) whose `rule` is the Allow with L7 rules that would have
 * admitted it through the proxy, with `dropCause` `not-proxied`. Hubble has no drop
 * reason for it: the closest is AUTH_REQUIRED (189: a rule allows only when a condition
 * on the connection holds, here "it came through the proxy", and it did not).
 */
export interface EbpfFlowEvent extends DataplaneFlowEvent {
  /** `not-proxied` (`TW_REASON_NOT_PROXIED`): the entry admits only the L7 proxy's traffic and the packet carried none of its marks. */
  readonly dropCause?: 'not-proxied';
}

/** What a record alone does not say. */
export interface FlowEventContext {
  /** Attached endpoints' keys by host-side ifindex. */
  readonly endpoints: ReadonlyMap<number, string>;
  /** What a rule id stands for (the compiler's table). */
  rule(id: number): DataplaneRuleRef | undefined;
}

const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_ICMPV6 = 58;
/** `TW_VERDICT_ALLOW`, `TW_DIR_INGRESS`, `TW_REASON_POLICY`, `TW_REASON_REPLY` (policy.h). */
const VERDICT_ALLOW = 1;
const DIR_INGRESS = 0;
const REASON_POLICY = 0;
const REASON_REPLY = 2;
/** `TW_REASON_NOT_PROXIED` (policy.h): a policy drop of a `proxy` entry. */
const REASON_NOT_PROXIED = 3;
/** IPv4 address texts kept before the cache starts over. */
const ADDRESS_CACHE_SIZE = 65_536;

/** Decodes tw_flow_event records; one per reader (it caches address texts). */
export class FlowEventDecoder {
  readonly #context: FlowEventContext;
  readonly #ipv4 = new Map<number, string>();

  constructor(context: FlowEventContext) {
    this.#context = context;
  }

  /**
   * The event of the record at `offset` in `data` (`view` over the same bytes), its
   * kernel time (`bpf_ktime_get_ns`, CLOCK_MONOTONIC) moved to the wall clock by
   * `offsetMs` (wall-clock ms minus monotonic ms). The caller checks the length.
   */
  decode(data: Uint8Array, view: DataView, offset: number, offsetMs: number): EbpfFlowEvent {
    // u64 as two u32 halves: a double keeps nanoseconds exact for 104 days of uptime, and microseconds far beyond.
    const timeNs = view.getUint32(offset + 4, true) * 4294967296 + view.getUint32(offset, true);
    const ifindex = view.getUint32(offset + 8, true);
    const rule = view.getUint32(offset + 16, true);
    const protocol = data[offset + 22] ?? 0;
    const family = data[offset + 23] ?? 0;
    // A reply passed because policy allowed its connection: the event's rule is the connection's.
    const reasonByte = data[offset + 24];
    const isReply = reasonByte === REASON_REPLY;
    const notProxied = reasonByte === REASON_NOT_PROXIED;
    const reason = reasonByte === REASON_POLICY || isReply || notProxied ? 'policy' : 'no-entry';
    const icmp = protocol === IPPROTO_ICMP || protocol === IPPROTO_ICMPV6;
    const event: EbpfFlowEvent = {
      timeMs: timeNs / 1e6 + offsetMs,
      ifindex,
      endpoint: this.#context.endpoints.get(ifindex),
      direction: data[offset + 20] === DIR_INGRESS ? 'ingress' : 'egress',
      verdict: data[offset + 21] === VERDICT_ALLOW ? 'allow' : 'deny',
      reason,
      rule: reason === 'policy' ? this.#context.rule(rule) : undefined,
      remoteIdentity: view.getUint32(offset + 12, true),
      protocol,
      source: family === 4 ? this.#ipv4Text(view.getUint32(offset + 32)) : ipv6Text(data, offset + 32),
      destination: family === 4 ? this.#ipv4Text(view.getUint32(offset + 48)) : ipv6Text(data, offset + 48),
      sourcePort: view.getUint16(offset + 26),
      destinationPort: view.getUint16(offset + 28),
      tcpFlags: protocol === IPPROTO_TCP ? data[offset + 25] : undefined,
      icmp: icmp ? { type: data[offset + 30] ?? 0, code: data[offset + 31] ?? 0 } : undefined,
      isReply,
    };
    // Rare: only these events take the other shape.
    return notProxied ? { ...event, dropCause: 'not-proxied' } : event;
  }

  #ipv4Text(address: number): string {
    let text = this.#ipv4.get(address);
    if (text === undefined) {
      text = `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
      if (this.#ipv4.size >= ADDRESS_CACHE_SIZE) this.#ipv4.clear();
      this.#ipv4.set(address, text);
    }
    return text;
  }
}

/** An IPv6 address in RFC 5952 text: lower-case hex, the longest run of two or more zero groups (the first of equals) as `::`. */
export function ipv6Text(data: Uint8Array, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((data[offset + i] ?? 0) << 8) | (data[offset + i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end += 1;
    if (end - i > bestLength) [bestStart, bestLength] = [i, end - i];
    i = end;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
