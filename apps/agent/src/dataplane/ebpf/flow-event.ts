// The records of the tw_events ring buffer (`struct tw_flow_event` in policy.h). Pure.

import { be16, bytes, decodeLayout, struct, u8, u32, u64 } from '@twill/ebpf';

/** `struct tw_flow_event`. */
export const FLOW_EVENT = struct({
  timeNs: u64,
  endpoint: u32,
  identity: u32,
  rule: u32,
  direction: u8,
  verdict: u8,
  protocol: u8,
  family: u8,
  reason: u8,
  pad: u8,
  sourcePort: be16,
  destinationPort: be16,
  pad2: be16,
  source: bytes(16),
  destination: bytes(16),
});

/** One decision of the tc program about a new connection. */
export interface FlowEvent {
  /** `bpf_ktime_get_ns()`: nanoseconds since boot. */
  readonly timeNs: bigint;
  /** The endpoint's host-side ifindex. */
  readonly ifindex: number;
  /** The endpoint's direction the packet took. */
  readonly direction: 'ingress' | 'egress';
  readonly verdict: 'allow' | 'deny';
  /** `policy`: an entry decided; `no-entry`: the endpoint has none (fail-closed). */
  readonly reason: 'policy' | 'no-entry';
  /** The remote side's identity or peer class. */
  readonly identity: number;
  /** The deciding rule's id (`BpfMapCompiler.rule`). */
  readonly rule: number;
  readonly protocol: number;
  readonly source: string;
  readonly destination: string;
  /** Ports (TCP, UDP, SCTP) or the echo id (ICMP echo); 0 otherwise. */
  readonly sourcePort: number;
  readonly destinationPort: number;
}

function addressText(family: number, raw: Uint8Array): string {
  if (family === 4) return [...raw.subarray(0, 4)].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((raw[i] ?? 0) << 8) | (raw[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

/** Decodes one ring buffer record. @throws {RangeError} when it is shorter than the struct. */
export function decodeFlowEvent(record: Uint8Array): FlowEvent {
  if (record.length < FLOW_EVENT.size) throw new RangeError(`a flow event is ${FLOW_EVENT.size} bytes, got ${record.length}`);
  const e = decodeLayout(FLOW_EVENT, record);
  return {
    timeNs: e.timeNs,
    ifindex: e.endpoint,
    direction: e.direction === 0 ? 'ingress' : 'egress',
    verdict: e.verdict === 1 ? 'allow' : 'deny',
    reason: e.reason === 0 ? 'policy' : 'no-entry',
    identity: e.identity,
    rule: e.rule,
    protocol: e.protocol,
    source: addressText(e.family, e.source),
    destination: addressText(e.family, e.destination),
    sourcePort: e.sourcePort,
    destinationPort: e.destinationPort,
  };
}
