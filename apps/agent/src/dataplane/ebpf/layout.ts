// The maps' key and value layouts, field for field those of apps/agent/bpf/policy.h,
// and the translation between the policy engine's entries and them. Pure.

import { be16, bytes, lpmKey, pad, struct, u8, u32, type LayoutValue } from '@twill/ebpf';
import { BPF_VERDICT, parseCidr, type BpfPolicyEntry } from '@twill/policy-engine';

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

/** The entry a kernel key and value stand for, with the endpoint's ifindex. */
export function decodePolicyEntry(key: PolicyKey, value: PolicyValue): { ifindex: number; entry: BpfPolicyEntry } {
  const specific = key.prefixLen > PROTOCOL_PREFIX;
  const base = {
    direction: key.data.direction === DIRECTION.ingress ? ('ingress' as const) : ('egress' as const),
    identity: key.data.identity,
    verdict: value.verdict === BPF_VERDICT.allow ? ('allow' as const) : ('deny' as const),
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
