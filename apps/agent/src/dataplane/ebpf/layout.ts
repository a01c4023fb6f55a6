// The maps' key and value layouts, field for field those of apps/agent/bpf/policy.h,
// and the translation between the policy engine's entries and them. Pure.

import { array, be16, bytes, lpmKey, pad, struct, u8, u32, type LayoutValue } from '@twill/ebpf';
import { BPF_VERDICT, parseCidr, type BpfPolicyEntry, type L7Mark } from '@twill/policy-engine';

/** `struct tw_policy_key`. */
export const POLICY_KEY = lpmKey(struct({ endpoint: u32, identity: u32, direction: u8, protocol: u8, port: be16 }));
/** `struct tw_policy_value`. */
export const POLICY_VALUE = struct({ rule: u32, verdict: u8, flags: u8, pad: pad(2) });
/** `struct tw_ip_key`. */
export const IP_KEY = lpmKey(struct({ family: u8, addr: bytes(16), pad: pad(3) }));
/** The ipcache value: a peer class. */
export const IP_VALUE = u32;
/** `struct tw_config`, the one value of tw_config (key 0). */
export const CONFIG_VALUE = struct({ flags: u32 });
/** `TW_CONFIG_FLOW_EVENTS`: the programs write verdicts to tw_events. */
export const CONFIG_FLOW_EVENTS = 1;
/** `TW_L7_MAX_MARKS`: the L7 proxy's marks tw_l7 holds at most. */
export const L7_MAX_MARKS = 4;
/** `struct tw_l7`, the one value of tw_l7 (key 0): the L7 proxy's marks. */
export const L7_VALUE = struct({ mask: u32, count: u32, values: array(u32, L7_MAX_MARKS) });

export type L7Value = LayoutValue<typeof L7_VALUE>;

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * The tw_l7 value of the L7 proxy's marks (undefined: none, so `proxy` entries admit
 * nothing). Values are kept once each, in ascending order.
 * @throws {RangeError} naming `l7Mark.mask` for a mask that is not a non-zero 32-bit
 *   integer, `l7Mark.values` for none or more than {@link L7_MAX_MARKS} distinct ones,
 *   `l7Mark.values[i]` for a value that is not a 32-bit integer within the mask.
 */
export function encodeL7Value(mark: L7Mark | undefined): L7Value {
  if (mark === undefined) return { mask: 0, count: 0, values: new Array<number>(L7_MAX_MARKS).fill(0) };
  const u32ok = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  if (!u32ok(mark.mask) || mark.mask === 0) throw new RangeError(`l7Mark.mask: ${mark.mask} is not a non-zero 32-bit integer`);
  if (mark.values.length === 0) throw new RangeError('l7Mark.values: is empty: give the marks of the L7 proxy\'s traffic');
  mark.values.forEach((value, i) => {
    if (!u32ok(value) || (value & ~mark.mask) >>> 0 !== 0) throw new RangeError(`l7Mark.values[${i}]: ${value} is not a 32-bit integer within the mask ${hex(mark.mask)}`);
  });
  const distinct = [...new Set(mark.values)].sort((a, b) => a - b);
  if (distinct.length > L7_MAX_MARKS) throw new RangeError(`l7Mark.values: ${distinct.length} distinct marks, the eBPF program compares at most ${L7_MAX_MARKS}`);
  return { mask: mark.mask, count: distinct.length, values: [...distinct, ...new Array<number>(L7_MAX_MARKS - distinct.length).fill(0)] };
}

export type PolicyKey = LayoutValue<typeof POLICY_KEY>;
export type PolicyValue = LayoutValue<typeof POLICY_VALUE>;
export type IpKey = LayoutValue<typeof IP_KEY>;

/** `TW_DIR_INGRESS`, `TW_DIR_EGRESS`. */
const DIRECTION = { ingress: 0, egress: 1 } as const;
/** Bits of the key before the protocol: endpoint, identity and direction. */
const PROTOCOL_PREFIX = 72;

/** The kernel key and value of a policy entry of the endpoint at `ifindex`. */
export function encodePolicyEntry(ifindex: number, entry: BpfPolicyEntry): [PolicyKey, PolicyValue] {
  const specific = entry.protocol !== undefined;
  return [
    {
      prefixLen: specific ? PROTOCOL_PREFIX + 8 + entry.portBits : PROTOCOL_PREFIX,
      data: { endpoint: ifindex, identity: entry.identity, direction: DIRECTION[entry.direction], protocol: entry.protocol ?? 0, port: specific ? entry.port : 0 },
    },
    { rule: entry.rule, verdict: BPF_VERDICT[entry.verdict], flags: 0 },
  ];
}

/** A tw_policy value's verdict byte by name; any number the program does not allow by is a deny. */
function verdictName(verdict: number): BpfPolicyEntry['verdict'] {
  if (verdict === BPF_VERDICT.allow) return 'allow';
  return verdict === BPF_VERDICT.proxy ? 'proxy' : 'deny';
}

/** The entry a kernel key and value stand for, with the endpoint's ifindex. */
export function decodePolicyEntry(key: PolicyKey, value: PolicyValue): { ifindex: number; entry: BpfPolicyEntry } {
  const specific = key.prefixLen > PROTOCOL_PREFIX;
  const base = {
    direction: key.data.direction === DIRECTION.ingress ? ('ingress' as const) : ('egress' as const),
    identity: key.data.identity,
    verdict: verdictName(value.verdict),
    rule: value.rule,
  };
  return {
    ifindex: key.data.endpoint,
    entry: specific
      ? { ...base, protocol: key.data.protocol, port: key.data.port, portBits: key.prefixLen - PROTOCOL_PREFIX - 8 }
      : { ...base, port: 0, portBits: 0 },
  };
}

/** The ipcache key of a CIDR (`10.0.0.0/8`, `fd00::/64`). @throws {RangeError} for anything else. */
export function encodeIpKey(prefix: string): IpKey {
  const cidr = parseCidr(prefix);
  if (cidr === undefined) throw new RangeError(`not a CIDR: ${JSON.stringify(prefix)}`);
  const addr = new Uint8Array(16);
  addr.set(cidr.bytes);
  return { prefixLen: 8 + cidr.prefixLength, data: { family: cidr.family, addr } };
}

/** The canonical CIDR text of an ipcache key (as the policy engine writes it). */
export function decodeIpKey(key: IpKey): string {
  const length = key.prefixLen - 8;
  const a = key.data.addr;
  let text: string;
  if (key.data.family === 4) {
    text = `${[...a.subarray(0, 4)].join('.')}/${length}`;
  } else {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((((a[i] ?? 0) << 8) | (a[i + 1] ?? 0)).toString(16));
    text = `${groups.join(':')}/${length}`;
  }
  return parseCidr(text)?.text ?? text;
}
