// The L7 redirect as an nftables script (issue 14): which TCP connections go to the
// agent's transparent proxy, keeping their original destination. Pure: targets in,
// script text out; sys/redirect.ts applies it and installs the policy routing.
//
// The table is its own (`inet twill_l7`), hooked at prerouting before routing decides, so
// it works the same under the nftables and the eBPF dataplane drivers, and after
// destination NAT (`dstnat + 10`): a connection to a Service that kube-proxy's DNAT sends
// to a protected pod is seen with the pod's address and port, as the targets name them
// (the proxy then connects to the pod; conntrack gives the client the Service's address
// back). Rules, in order:
//   1. a packet of a connection the proxy already holds (the accepted socket, or one of
//      its transparent upstream sockets receiving replies; `socket wildcard 0`: a
//      connected socket, never the proxy's own listener, which a packet to any address
//      on the proxy's port would otherwise find) is marked and accepted: the
//      mark routes it to the local stack (`ip rule fwmark MARK/MASK lookup TABLE`, with
//      `local default dev lo` in TABLE);
//   2. a packet already carrying the mark is left alone;
//   3. a new connection to a target is marked and handed to the proxy's listener by
//      `tproxy`, and accepted;
//   4. a packet still marked here is one `tproxy` could not hand over (no transparent
//      listener on the port: nft_tproxy then ends its rule with NFT_BREAK, no verdict,
//      which is why the mark is set BEFORE `tproxy`): it is answered with a TCP reset.
//      Left alone it would be routed by the mark to the local stack, whose reset cannot
//      leave (its source, the original destination, is not a local address) and the
//      client would hang; without the mark it would go on to the destination past the
//      proxy. So with the proxy down, protected connections are refused (fail closed).
// Should the policy routing go missing, nothing goes past the proxy either: a packet that
// `tproxy` or early demux gave a socket is dropped by ip_forward() rather than forwarded,
// and the destination never had a handshake for the proxy's connections.
import { NftablesNameError, parseIpAddress, quoteInterface } from '@twill/policy-engine';

import { type L7PortRange, type L7RedirectTargets, mergePortRanges } from './redirect-targets.js';

/** Defaults of the redirect's options (see {@link L7RedirectOptions}). */
export const L7_REDIRECT_DEFAULTS = Object.freeze({
  /** The nftables table (family `inet`). */
  table: 'twill_l7',
  /** The port the proxy's transparent listener binds on the node. */
  proxyPort: 15001,
  /** The firewall mark of redirected packets: Cilium's "to proxy" value. */
  mark: 0x200,
  /** The bits of the mark this redirect owns: Cilium's 0xf00. */
  mask: 0xf00,
  /** The routing table with the `local` default routes: Cilium's proxy table number. */
  routeTable: 2004,
  /** The preference of the `fwmark` rules: Cilium's; after the `local` table's rule (0), before main's (32766). */
  rulePriority: 9,
});

/** What {@link renderL7Redirect} needs besides the targets. */
export interface L7RedirectOptions {
  /** The `inet` table's name; default {@link L7_REDIRECT_DEFAULTS}.table. Letters, digits, `_` and `-`. */
  readonly table?: string;
  /** The proxy's listening port on the node, 1-65535; default {@link L7_REDIRECT_DEFAULTS}.proxyPort. */
  readonly proxyPort?: number;
  /** The mark set on redirected packets, within `mask` and not 0; default {@link L7_REDIRECT_DEFAULTS}.mark. */
  readonly mark?: number;
  /** The mark bits the redirect sets and compares; other bits are kept. Default {@link L7_REDIRECT_DEFAULTS}.mask. */
  readonly mask?: number;
  /**
   * The IP families the node (and the proxy's listener) serves: `[4, 6]` (the default) or
   * `[4]` on a node without IPv6, where the `ip6` tproxy rules (and, in the kernel, the
   * IPv6 rule and route) are left out. IPv6 targets are then kept in their set but never
   * redirected: such a node carries no IPv6 traffic.
   */
  readonly families?: L7RedirectFamilies;
}

/** The IP families a redirect serves: both, or IPv4 only. */
export type L7RedirectFamilies = readonly [4] | readonly [4, 6];

/** The elements of the redirect's three sets, as nft writes them, sorted; no two overlap. */
export interface L7RedirectSets {
  /** `ADDRESS . PORTS` for IPv4 ingress targets (set `l7_in4`). */
  readonly in4: readonly string[];
  /** `ADDRESS . PORTS` for IPv6 ingress targets (set `l7_in6`). */
  readonly in6: readonly string[];
  /** `"IFNAME" . PORTS` for egress targets (set `l7_out`). */
  readonly out: readonly string[];
}

/** The names of the redirect's sets and chains in its table. */
export const L7_REDIRECT_NAMES = Object.freeze({
  IN4: 'l7_in4',
  IN6: 'l7_in6',
  OUT: 'l7_out',
  PREROUTING: 'prerouting',
});

/** Bad targets or options for the redirect (before anything is applied), or a kernel step that failed. */
export class L7RedirectError extends Error {
  override readonly name = 'L7RedirectError';

  constructor(
    /** `bad-target` or `bad-option` (refused before any change), `apply-failed` (nft or netlink refused). */
    readonly code: 'bad-target' | 'bad-option' | 'apply-failed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The options with their defaults, checked. @throws {L7RedirectError} `bad-option` naming the option. */
export function resolveL7RedirectOptions(options: L7RedirectOptions = {}): Required<L7RedirectOptions> {
  const resolved = {
    table: options.table ?? L7_REDIRECT_DEFAULTS.table,
    proxyPort: options.proxyPort ?? L7_REDIRECT_DEFAULTS.proxyPort,
    mark: options.mark ?? L7_REDIRECT_DEFAULTS.mark,
    mask: options.mask ?? L7_REDIRECT_DEFAULTS.mask,
    families: options.families ?? ([4, 6] as const),
  };
  const { families } = resolved;
  if (!Array.isArray(families) || families[0] !== 4 || !(families.length === 1 || (families.length === 2 && families[1] === 6))) {
    throw new L7RedirectError('bad-option', `L7 redirect option families ${JSON.stringify(families)}: want [4] or [4, 6]`);
  }
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(resolved.table)) {
    throw new L7RedirectError('bad-option', `L7 redirect option table ${JSON.stringify(resolved.table)}: want a letter then letters, digits, _ or - (at most 64)`);
  }
  if (!Number.isInteger(resolved.proxyPort) || resolved.proxyPort < 1 || resolved.proxyPort > 65535) {
    throw new L7RedirectError('bad-option', `L7 redirect option proxyPort ${resolved.proxyPort}: want a port 1-65535`);
  }
  for (const key of ['mark', 'mask'] as const) {
    const value = resolved[key];
    if (!Number.isInteger(value) || value < 1 || value > 0xffffffff) throw new L7RedirectError('bad-option', `L7 redirect option ${key} ${value}: want 1 to 0xffffffff`);
  }
  if ((resolved.mark & resolved.mask) >>> 0 !== resolved.mark) {
    // A mark bit outside the mask would be set but never compared: the rules would not see their own packets.
    throw new L7RedirectError('bad-option', `L7 redirect option mark ${hex(resolved.mark)} has bits outside mask ${hex(resolved.mask)}`);
  }
  return resolved;
}

/**
 * The set elements for `targets`: addresses in canonical form, port ranges of one
 * address (or interface) merged where they overlap or touch, so nft never sees two
 * overlapping intervals.
 * @throws {L7RedirectError} `bad-target` naming the target and what is wrong with it.
 */
export function compileL7RedirectSets(targets: L7RedirectTargets): L7RedirectSets {
  const in4 = new Map<string, L7PortRange[]>();
  const in6 = new Map<string, L7PortRange[]>();
  const out = new Map<string, L7PortRange[]>();
  targets.ingress.forEach((target, i) => {
    const where = `ingress target ${i} (${JSON.stringify(target.address)})`;
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address on the wire: in the IPv6 set it would never match.
    const ip = typeof target.address === 'string' ? parseIpAddress(target.address) : undefined;
    if (ip === undefined) throw new L7RedirectError('bad-target', `L7 redirect ${where}: the address is not an IPv4 or IPv6 address`);
    append(ip.family === 4 ? in4 : in6, ip.text, checkRanges(target.ports, where));
  });
  targets.egress.forEach((target, i) => {
    const where = `egress target ${i} (${JSON.stringify(target.hostInterface)})`;
    let quoted: string;
    try {
      quoted = quoteInterface(target.hostInterface);
    } catch (error) {
      if (!(error instanceof NftablesNameError)) throw error;
      throw new L7RedirectError('bad-target', `L7 redirect ${where}: not an interface name (1-15 of A-Z a-z 0-9 _ . : @ + -)`, { cause: error });
    }
    append(out, quoted, checkRanges(target.ports, where));
  });
  return { in4: elements(in4), in6: elements(in6), out: elements(out) };
}

/** How many elements each set holds. */
export function countL7RedirectSets(sets: L7RedirectSets): { readonly ingress4: number; readonly ingress6: number; readonly egress: number } {
  return { ingress4: sets.in4.length, ingress6: sets.in6.length, egress: sets.out.length };
}

/**
 * The whole redirect as one `nft -f` script: the table is made if missing, deleted, and
 * made again with its sets filled, in one transaction, so a table left by a crashed agent
 * is replaced and packets see either the old or the new table, never none. Connections
 * the proxy holds stay with it: rule 1 matches their sockets, whatever the sets hold.
 * @throws {L7RedirectError} `bad-target` or `bad-option`.
 */
export function renderL7Redirect(targets: L7RedirectTargets, options: L7RedirectOptions = {}): string {
  return renderL7RedirectSets(compileL7RedirectSets(targets), options);
}

/** {@link renderL7Redirect} from compiled sets. @throws {L7RedirectError} `bad-option`. */
export function renderL7RedirectSets(sets: L7RedirectSets, options: L7RedirectOptions = {}): string {
  const { table, proxyPort, mark, mask, families } = resolveL7RedirectOptions(options);
  const ipv6 = families.length === 2;
  const T = `inet ${table}`;
  const N = L7_REDIRECT_NAMES;
  const setMark = `meta mark set meta mark and ${hex(~mask >>> 0)} or ${hex(mark)}`;
  const marked = `meta mark and ${hex(mask)} == ${hex(mark)}`;
  const set = (name: string, type: string, items: readonly string[]): string[] => [
    `  set ${name} {`,
    `    type ${type}`,
    '    flags interval',
    ...(items.length > 0 ? [`    elements = { ${items.join(', ')} }`] : []),
    '  }',
  ];
  return [
    `table ${T} {}`,
    `delete table ${T}`,
    `table ${T} {`,
    ...set(N.IN4, 'ipv4_addr . inet_service', sets.in4),
    ...set(N.IN6, 'ipv6_addr . inet_service', sets.in6),
    ...set(N.OUT, 'ifname . inet_service', sets.out),
    `  chain ${N.PREROUTING} {`,
    '    type filter hook prerouting priority dstnat + 10; policy accept;',
    `    meta l4proto tcp socket transparent 1 socket wildcard 0 ${setMark} accept`,
    `    ${marked} accept`,
    `    ip daddr . tcp dport @${N.IN4} ${setMark} tproxy ip to :${proxyPort} accept`,
    ...(ipv6 ? [`    ip6 daddr . tcp dport @${N.IN6} ${setMark} tproxy ip6 to :${proxyPort} accept`] : []),
    // tproxy in an inet table must say its family: one rule per family for the interface set.
    `    meta nfproto ipv4 iifname . tcp dport @${N.OUT} ${setMark} tproxy ip to :${proxyPort} accept`,
    ...(ipv6 ? [`    meta nfproto ipv6 iifname . tcp dport @${N.OUT} ${setMark} tproxy ip6 to :${proxyPort} accept`] : []),
    `    meta l4proto tcp ${marked} reject with tcp reset`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * The change from `previous` to `next` as one transaction of set element deletions and
 * additions only (chains untouched; an empty string when nothing changed). The kernel's
 * sets must hold `previous` exactly, as after {@link renderL7Redirect}.
 * @throws {L7RedirectError} `bad-option`.
 */
export function renderL7RedirectDelta(previous: L7RedirectSets, next: L7RedirectSets, options: L7RedirectOptions = {}): string {
  const { table } = resolveL7RedirectOptions(options);
  const lines: string[] = [];
  const pairs = [
    [L7_REDIRECT_NAMES.IN4, previous.in4, next.in4],
    [L7_REDIRECT_NAMES.IN6, previous.in6, next.in6],
    [L7_REDIRECT_NAMES.OUT, previous.out, next.out],
  ] as const;
  // Deletions first: a merged range may replace ranges it overlaps.
  for (const [name, before, after] of pairs) {
    const gone = before.filter((e) => !after.includes(e));
    if (gone.length > 0) lines.push(`delete element inet ${table} ${name} { ${gone.join(', ')} }`);
  }
  for (const [name, before, after] of pairs) {
    const added = after.filter((e) => !before.includes(e));
    if (added.length > 0) lines.push(`add element inet ${table} ${name} { ${added.join(', ')} }`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Deletes the table whether or not it exists (nft 1.0.6 has no `destroy`): one transaction. @throws {L7RedirectError} `bad-option`. */
export function renderL7RedirectRemoval(options: L7RedirectOptions = {}): string {
  const { table } = resolveL7RedirectOptions(options);
  return `table inet ${table} {}\ndelete table inet ${table}\n`;
}

const SET_TYPES = Object.freeze({
  [L7_REDIRECT_NAMES.IN4]: ['ipv4_addr', 'inet_service'],
  [L7_REDIRECT_NAMES.IN6]: ['ipv6_addr', 'inet_service'],
  [L7_REDIRECT_NAMES.OUT]: ['ifname', 'inet_service'],
} as Record<string, readonly string[]>);

/**
 * The sets a redirect's table holds, from its `nft -j list table inet <table>` listing
 * (parsed JSON, nftables 1.0 schema 1): what a previous run left, kept across a restart.
 * `undefined` when the listing holds no redirect (no table, or no `prerouting` chain); a
 * set that is missing or of another type reads as empty. Elements are written as
 * {@link compileL7RedirectSets} writes them (canonical addresses, quoted interfaces), sorted.
 */
export function decodeL7RedirectListing(listing: unknown): L7RedirectSets | undefined {
  const objects = isObject(listing) && Array.isArray(listing['nftables']) ? (listing['nftables'] as unknown[]) : [];
  const found: Record<string, string[]> = { [L7_REDIRECT_NAMES.IN4]: [], [L7_REDIRECT_NAMES.IN6]: [], [L7_REDIRECT_NAMES.OUT]: [] };
  let chain = false;
  for (const object of objects) {
    if (!isObject(object)) continue;
    const c = object['chain'];
    if (isObject(c) && c['name'] === L7_REDIRECT_NAMES.PREROUTING) chain = true;
    const set = object['set'];
    if (!isObject(set) || typeof set['name'] !== 'string') continue;
    const want = SET_TYPES[set['name']];
    const type = set['type'];
    if (want === undefined || !Array.isArray(type) || type.length !== 2 || type[0] !== want[0] || type[1] !== want[1]) continue;
    const into = found[set['name']] as string[];
    for (const elem of Array.isArray(set['elem']) ? (set['elem'] as unknown[]) : []) {
      const text = elementText(elem, want[0] === 'ifname');
      if (text !== undefined) into.push(text);
    }
  }
  if (!chain) return undefined;
  return { in4: found[L7_REDIRECT_NAMES.IN4]!.sort(), in6: found[L7_REDIRECT_NAMES.IN6]!.sort(), out: found[L7_REDIRECT_NAMES.OUT]!.sort() };
}

// `{"concat": ["10.0.0.1", 80]}` or `{"concat": ["tw1", {"range": [90, 100]}]}`, possibly
// wrapped as `{"elem": {"val": ...}}` (an element with a timeout or comment).
function elementText(elem: unknown, quoted: boolean): string | undefined {
  const inner = isObject(elem) && isObject(elem['elem']) ? elem['elem']['val'] : elem;
  const parts = isObject(inner) && Array.isArray(inner['concat']) ? (inner['concat'] as unknown[]) : undefined;
  if (parts === undefined || parts.length !== 2 || typeof parts[0] !== 'string') return undefined;
  const [key, port] = parts;
  const range = isObject(port) && Array.isArray(port['range']) ? (port['range'] as unknown[]) : undefined;
  const ports = typeof port === 'number' ? String(port) : range !== undefined && typeof range[0] === 'number' && typeof range[1] === 'number' ? (range[0] === range[1] ? String(range[0]) : `${range[0]}-${range[1]}`) : undefined;
  if (ports === undefined) return undefined;
  return `${quoted ? JSON.stringify(key) : (parseIpAddress(key)?.text ?? key)} . ${ports}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkRanges(ports: readonly L7PortRange[], where: string): L7PortRange[] {
  if (!Array.isArray(ports) || ports.length === 0) throw new L7RedirectError('bad-target', `L7 redirect ${where}: no ports`);
  return ports.map((range, j) => {
    const { first, last } = range;
    const ok = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= 65535;
    if (!ok(first) || !ok(last) || first > last) {
      throw new L7RedirectError('bad-target', `L7 redirect ${where} port range ${j} ${JSON.stringify(range)}: want 1 <= first <= last <= 65535`);
    }
    return { first, last };
  });
}

function append(map: Map<string, L7PortRange[]>, key: string, ranges: L7PortRange[]): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, ranges);
  else list.push(...ranges);
}

function elements(map: Map<string, L7PortRange[]>): string[] {
  const out: string[] = [];
  for (const [key, ranges] of map) {
    for (const range of mergePortRanges(ranges)) out.push(`${key} . ${range.first === range.last ? range.first : `${range.first}-${range.last}`}`);
  }
  return out.sort();
}

/** `value` as nft and ip write a mark: `0x` and lower-case hex digits. */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/** An error's message (or the thrown value as text), for logs and L7 error messages. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
