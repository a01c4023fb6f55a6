// Policy routing rules over rtnetlink (RTM_NEWRULE / RTM_DELRULE / RTM_GETRULE,
// include/uapi/linux/fib_rules.h: `struct fib_rule_hdr` and `FRA_*`), as `ip rule` does.
// Only what a plugin or an agent needs: a firewall-mark selector sending traffic to a
// table (`ip rule add fwmark 0x200/0xf00 lookup 2004 pref 9`). Encoding is pure.
import { type rt } from 'netlink';

import { NetError } from './errors.js';
import { type IpFamily, addressFamily, formatPrefix, ipFamilyOf } from './ip.js';
import { NLM_F, RTM, type RtConnection } from './rtnl.js';

/** `FR_ACT_TO_TBL` (fib_rules.h): look the route up in `table`. */
const FR_ACT_TO_TBL = 1;

/** Rule actions by name (`FR_ACT_*`, fib_rules.h). */
export const RULE_ACTION = { unspec: 0, lookup: 1, goto: 2, nop: 3, blackhole: 6, unreachable: 7, prohibit: 8 } as const;

/** A rule action by name: `lookup` (the `ip rule ... lookup TABLE` kind), `blackhole`, ... */
export type RuleActionName = keyof typeof RULE_ACTION;

/** A rule to add or delete: traffic whose firewall mark matches goes to `table`. */
export interface RuleSpec {
  /** 4 (`ip -4 rule`) or 6 (`ip -6 rule`). */
  family: IpFamily;
  /** The firewall mark to match (`fwmark`), 0 to 2^32-1. */
  fwmark: number;
  /** The bits of the mark compared (`fwmark MARK/MASK`); default all (0xffffffff). */
  fwmask?: number;
  /** The routing table to look up, 1 to 2^32-1 (`lookup`). */
  table: number;
  /** The rule's preference (`pref`), 0 to 2^32-1: rules are tried from the lowest. */
  priority: number;
}

/** A rule as the kernel reports it. */
export interface Rule {
  /** 4 or 6. */
  readonly family: IpFamily;
  /** The preference (`pref`); 0 for the `local` rule. */
  readonly priority: number;
  /** What the rule does: `lookup` for most, or the number of an action without a name here. */
  readonly action: RuleActionName | number;
  /** The table looked up (`lookup`); 0 when the action is not a lookup. */
  readonly table: number;
  /** The firewall mark matched, when the rule has one. */
  readonly fwmark?: number;
  /** The bits of the mark compared, when the rule has a mark (0xffffffff for all). */
  readonly fwmask?: number;
  /** The source prefix matched (`from`), when it is not everything. */
  readonly src?: string;
  /** The destination prefix matched (`to`), when it is not everything. */
  readonly dst?: string;
  /** The input interface matched (`iif`), when set. */
  readonly iifname?: string;
  /** The output interface matched (`oif`), when set. */
  readonly oifname?: string;
  /** Whether the selector is negated (`not`). */
  readonly invert: boolean;
}

/** `ipv4 fwmark 0x200/0xf00 lookup 2004 pref 9`, for messages. */
export function describeRule(spec: Partial<RuleSpec>): string {
  const parts = [spec.family === 6 ? 'ipv6' : 'ipv4'];
  if (spec.fwmark !== undefined) parts.push(`fwmark ${hex(spec.fwmark)}${spec.fwmask !== undefined ? `/${hex(spec.fwmask)}` : ''}`);
  if (spec.table !== undefined) parts.push(`lookup ${spec.table}`);
  if (spec.priority !== undefined) parts.push(`pref ${spec.priority}`);
  return parts.join(' ');
}

/**
 * The message `ip rule add|del` would send for `spec`.
 * @throws {NetError} `EINVAL` naming the field for a family other than 4 or 6, or a mark,
 *   mask, table or priority out of range.
 */
export function encodeRule(spec: RuleSpec, operation: string): rt.RuleMessage {
  if (spec.family !== 4 && spec.family !== 6) throw NetError.invalid(operation, `family ${String(spec.family)} is not 4 or 6`);
  const fwmark = checkU32(spec.fwmark, 'fwmark', operation);
  const fwmask = spec.fwmask === undefined ? undefined : checkU32(spec.fwmask, 'fwmask', operation);
  const priority = checkU32(spec.priority, 'priority', operation);
  const table = checkU32(spec.table, 'table', operation);
  if (table === 0) throw NetError.invalid(operation, 'table 0 is not a table (1..2^32-1)');
  const data: rt.Rule = {
    family: addressFamily(spec.family),
    // Tables above 255 only fit FRA_TABLE; the header's byte is then RT_TABLE_UNSPEC.
    table: table < 256 ? table : 0,
    action: FR_ACT_TO_TBL,
  };
  const attrs: rt.RuleAttrs = { table, priority, fwmark };
  if (fwmask !== undefined) attrs.fwmask = fwmask;
  return { kind: 'rule', data, attrs };
}

/** Reads a rule message; `undefined` for families other than IPv4 and IPv6. */
export function decodeRule(message: rt.RuleMessage): Rule | undefined {
  const { data, attrs } = message;
  const family = ipFamilyOf(data.family ?? 0);
  if (family === undefined) return undefined;
  const action = typeof data.action === 'string' ? (actionOfKey(data.action) ?? 0) : (data.action ?? 0);
  return {
    family,
    priority: attrs.priority ?? 0,
    action: actionName(action),
    table: attrs.table ?? data.table ?? 0,
    ...(attrs.fwmark !== undefined ? { fwmark: attrs.fwmark } : {}),
    ...(attrs.fwmark !== undefined || attrs.fwmask !== undefined ? { fwmask: attrs.fwmask ?? 0xffffffff } : {}),
    ...(attrs.src !== undefined && (data.srcLen ?? 0) > 0 ? { src: formatPrefix(attrs.src, data.srcLen ?? 0) } : {}),
    ...(attrs.dst !== undefined && (data.dstLen ?? 0) > 0 ? { dst: formatPrefix(attrs.dst, data.dstLen ?? 0) } : {}),
    ...(attrs.iifname !== undefined ? { iifname: attrs.iifname } : {}),
    ...(attrs.oifname !== undefined ? { oifname: attrs.oifname } : {}),
    invert: data.flags?.invert === true,
  };
}

/** RTM_NEWRULE with NLM_F_EXCL: `EEXIST` when the same rule is there. */
export async function addRule(conn: RtConnection, spec: RuleSpec, operation: string): Promise<void> {
  await conn.request(RTM.NEWRULE, encodeRule(spec, operation), NLM_F.CREATE_EXCL, operation);
}

/** RTM_DELRULE: `ENOENT` when no rule matches. */
export async function deleteRule(conn: RtConnection, spec: RuleSpec, operation: string): Promise<void> {
  await conn.request(RTM.DELRULE, encodeRule(spec, operation), NLM_F.NONE, operation);
}

/** The rules of one family (RTM_GETRULE dump), in the kernel's order (by preference). */
export async function listRules(conn: RtConnection, family: IpFamily, operation: string): Promise<Rule[]> {
  const answers = await conn.request(RTM.GETRULE, { kind: 'rule', data: { family: addressFamily(family) }, attrs: {} }, NLM_F.DUMP, operation);
  const rules: Rule[] = [];
  for (const message of answers) {
    if (message.kind !== 'rule') continue;
    const rule = decodeRule(message);
    if (rule?.family === family) rules.push(rule);
  }
  return rules;
}

function actionName(action: number): RuleActionName | number {
  for (const [name, value] of Object.entries(RULE_ACTION)) if (value === action) return name as RuleActionName;
  return action;
}

// The netlink package parses the action byte into its enum's key (`toTbl`); map it back.
function actionOfKey(key: string): number | undefined {
  const byKey: Readonly<Record<string, number>> = { unspec: 0, toTbl: 1, goto: 2, nop: 3, res3: 4, res4: 5, blackhole: 6, unreachable: 7, prohibit: 8 };
  return byKey[key];
}

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

function checkU32(value: number, what: string, operation: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw NetError.invalid(operation, `${what} ${value} is not a 32-bit unsigned integer`);
  return value;
}
