// What the eBPF dataplane's maps hold, as plain data: the pure generator produces it,
// the agent's driver encodes it into the kernel's key and value layouts
// (apps/agent/bpf/policy.h).

import { type PolicyRef } from '../../model/policy.js';

/** The policy map's identity for "any identity that has no entries of its own". */
export const BPF_ANY_IDENTITY = 0;

/**
 * The verdict numbers the tc program reads. `proxy`: an Allow with L7 rules under the
 * compiler's `l7Proxy` option, allowed only for packets whose firewall mark
 * says they went through the L7 proxy (the tc program compares it with the mask and
 * values the agent configures); any other packet is dropped as a policy drop of the
 * same rule.
 */
export const BPF_VERDICT = { allow: 1, deny: 2, proxy: 3 } as const;



/** The rule id of a flow no rule decided and that was allowed (no policy, or passed on). */
export const BPF_DEFAULT_RULE = 0;

/**
 * One policy map entry: for the endpoint's `direction`, a remote side of `identity` (an
 * identity, a peer class, or {@link BPF_ANY_IDENTITY}), `protocol` (absent: any
 * protocol) and destination ports whose first `portBits` bits are `port`'s (ICMP:
 * `type << 8 | code`). The tc program takes the longest match (see the README's "eBPF
 * maps": identity first, then protocol, then port bits), first with the remote side's
 * identity, then with {@link BPF_ANY_IDENTITY}.
 */
export interface BpfPolicyEntry {
  /** The endpoint's hook the entry is for: traffic arriving (`ingress`) or leaving (`egress`). */
  readonly direction: 'ingress' | 'egress';
  /** The remote side: a numeric identity, a peer class (at least {@link FIRST_PEER_CLASS}), or {@link BPF_ANY_IDENTITY}. */
  readonly identity: number;
  /** The IP protocol number; absent: any protocol. */
  readonly protocol?: number;
  /** The destination port (ICMP: `type << 8 | code`), 16 bits; only its first `portBits` bits count. */
  readonly port: number;
  /** 0 (any port) to 16 (this port). Always 0 without a protocol. */
  readonly portBits: number;
  /** What the tc program does with a matching packet: allow, deny, or allow only the L7 proxy's traffic (see {@link BPF_VERDICT}). */
  readonly verdict: 'allow' | 'deny' | 'proxy';
  /** What decided, as a {@link BpfRuleRef} id. */
  readonly rule: number;
}

/** What a rule id in a policy map entry (and a flow event) stands for. */
export type BpfRuleRef =
  | { readonly id: number; readonly kind: 'default' }
  | { readonly id: number; readonly kind: 'rule'; readonly direction: 'ingress' | 'egress'; readonly policy: PolicyRef; readonly ruleIndex: number; readonly tier: string }
  | { readonly id: number; readonly kind: 'isolated'; readonly direction: 'ingress' | 'egress'; readonly tier: string; readonly isolatedBy: readonly PolicyRef[] };

/** The identity of a policy map entry's key, for diffs: `ingress|identity|protocol|port/bits`. */
export function bpfEntryKey(entry: BpfPolicyEntry): string {
  return `${entry.direction}|${entry.identity}|${entry.protocol ?? '*'}|${entry.port}/${entry.portBits}`;
}

/** Set and delete operations taking one endpoint's entries from one version to another. */
export interface BpfEntryDiff {
  /** Entries to write: new keys, or keys whose verdict or rule changed. */
  readonly set: readonly BpfPolicyEntry[];
  /** Entries whose keys are gone. */
  readonly removed: readonly BpfPolicyEntry[];
}

/** The incremental diff between two versions of an endpoint's entries. */
export function diffBpfEntries(before: readonly BpfPolicyEntry[], after: readonly BpfPolicyEntry[]): BpfEntryDiff {
  const old = new Map(before.map((e) => [bpfEntryKey(e), e]));
  const set: BpfPolicyEntry[] = [];
  for (const entry of after) {
    const key = bpfEntryKey(entry);
    const previous = old.get(key);
    old.delete(key);
    if (previous === undefined || previous.verdict !== entry.verdict || previous.rule !== entry.rule) set.push(entry);
  }
  return { set, removed: [...old.values()] };
}
