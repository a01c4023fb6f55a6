// Models → nft scripts for `nft -f -`. A script is one transaction: the kernel applies
// all of it or none of it, so an endpoint whose chain is flushed and refilled in one
// script is never seen open. Two kinds:
// - a delta between two models: only the sets, elements, chains and map elements that
//   changed (the normal case);
// - a full sync against what the kernel holds (adoption after a restart): every chain
//   and set is refilled in place, leftovers are deleted, the table itself is kept.
//
// The flowtable (when the model has one): the forward base chain offloads an established
// flow whose input and output interfaces are both attached endpoints (`flow add`, before
// the `established accept` that would have accepted the packet anyway), so its later
// packets go from one host-side veth's ingress hook straight to the other veth: no
// routing, no netfilter hooks, no conntrack state updates. Nothing that counts or logs
// sees an established packet today (they are accepted before any rule), so only the
// `ct state invalid` check is skipped for offloaded packets (the kernel's flowtable does
// no TCP window tracking; a FIN or RST sends the flow back to the normal path).

import { type NftRedirectedModel, type NftSet, type NftTableModel } from './model.js';
import { NFT_BASE, NFT_FAMILY, NFT_TABLE, quoteInterface } from './names.js';

const T = `${NFT_FAMILY} ${NFT_TABLE}`;

/** Elements per `add element` line: long enough to be cheap, short enough to read. */
const ELEMENTS_PER_LINE = 500;

/** What the kernel holds, as read back (`nft -j list table`): names and set shapes. */
export interface NftKernelState {
  /** Chain names, base chains included. */
  readonly chains: ReadonlySet<string>;
  /** Named sets (not maps) by name: their shape. */
  readonly sets: ReadonlyMap<string, {
    /** The nft type, concatenations joined with ` . `. */
    readonly type: string;
    /** Whether the set has `flags interval`. */
    readonly interval: boolean;
  }>;
  /** Flowtables by name: the devices each holds. Absent: none. */
  readonly flowtables?: ReadonlyMap<string, ReadonlySet<string>>;
}

function setDeclaration(name: string, set: NftSet): string {
  return `add set ${T} ${name} { type ${set.type};${set.interval ? ' flags interval;' : ''} }`;
}

function elementLines(verb: 'add' | 'delete', name: string, elements: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < elements.length; i += ELEMENTS_PER_LINE) {
    out.push(`${verb} element ${T} ${name} { ${elements.slice(i, i + ELEMENTS_PER_LINE).join(', ')} }`);
  }
  return out;
}

function mapElement(verb: 'add' | 'delete', map: string, ifname: string, chain?: string): string {
  return `${verb} element ${T} ${map} { ${quoteInterface(ifname)}${chain === undefined ? '' : ` : jump ${chain}`} }`;
}

/** An address map's element (addresses need no quoting: the model holds only parsed addresses). */
function addressElement(verb: 'add' | 'delete', map: string, address: string, chain?: string): string {
  return `${verb} element ${T} ${map} { ${address}${chain === undefined ? '' : ` : jump ${chain}`} }`;
}

// A connection the L7 redirect hands to the local proxy reaches the input hook, never its
// destination's interface: its destination's ingress rules are applied here, by address,
// after the source's egress rules (the `iifname` map), as forwarding would have applied them.
const INPUT_RULES = [`iifname vmap @${NFT_BASE.EGRESS_MAP}`] as const;
function inputRules(redirected: NftRedirectedModel | undefined): string[] {
  if (redirected === undefined) return [...INPUT_RULES];
  return [
    ...INPUT_RULES,
    `${redirected.match} ip daddr vmap @${NFT_BASE.INGRESS_ADDR4_MAP}`,
    `${redirected.match} ip6 daddr vmap @${NFT_BASE.INGRESS_ADDR6_MAP}`,
  ];
}

/** The input base chain emptied and refilled (with or without the redirected connections' check). */
function inputChainLines(redirected: NftRedirectedModel | undefined): string[] {
  return [`flush chain ${T} ${NFT_BASE.INPUT}`, ...hookRules(NFT_BASE.INPUT, inputRules(redirected), false)];
}

const ADDRESS_MAPS = [[NFT_BASE.INGRESS_ADDR4_MAP, 'v4', 'ipv4_addr'], [NFT_BASE.INGRESS_ADDR6_MAP, 'v6', 'ipv6_addr']] as const;
const NO_ADDRESSES: ReadonlyMap<string, string> = new Map();

// Declared only with an L7 redirect (a table without one stays as it always was); nft's
// `add map` leaves a map it holds as it is.
const addressMapDeclarations = (): string[] => ADDRESS_MAPS.map(([map, , type]) => `add map ${T} ${map} { type ${type} : verdict; }`);

const FLOWTABLE = `${T} ${NFT_BASE.FLOWTABLE}`;

/**
 * Offloads an established flow between two attached endpoints: both interfaces are keys
 * of the verdict maps, so both ends' verdicts were programmed when the flow was accepted.
 */
const OFFLOAD_RULE = `iifname @${NFT_BASE.EGRESS_MAP} oifname @${NFT_BASE.INGRESS_MAP} ct state established flow add @${NFT_BASE.FLOWTABLE}`;

/** ICMPv6 router and neighbour discovery (RFC 4861 types 133-137), accepted before any endpoint's verdict. */
const NEIGHBOUR_DISCOVERY = 'icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } accept';

/** A base chain's fixed rules. */
function hookRules(chain: string, rules: readonly string[], offload: boolean): string[] {
  return [
    ...(offload ? [`add rule ${T} ${chain} ${OFFLOAD_RULE}`] : []),
    // Replies of allowed connections first; then the endpoints' verdicts.
    `add rule ${T} ${chain} ct state established,related accept`,
    `add rule ${T} ${chain} ct state invalid counter drop`,
    // IPv6 neighbour discovery between a pod and its node is never policy's to decide
    // (an isolated pod would lose IPv6 altogether); the eBPF programs pass it too.
    `add rule ${T} ${chain} ${NEIGHBOUR_DISCOVERY}`,
    ...rules.map((rule) => `add rule ${T} ${chain} ${rule}`),
  ];
}

const FORWARD_RULES = [`iifname vmap @${NFT_BASE.EGRESS_MAP}`, `oifname vmap @${NFT_BASE.INGRESS_MAP}`] as const;

/** The forward base chain emptied and refilled (with or without the offload rule). */
function forwardChainLines(offload: boolean): string[] {
  return [`flush chain ${T} ${NFT_BASE.FORWARD}`, ...hookRules(NFT_BASE.FORWARD, FORWARD_RULES, offload)];
}

/** Declares the flowtable (or adds devices to it: the kernel ignores those it holds). */
function addFlowtable(devices: Iterable<string>): string {
  const list = [...devices].sort().map((d) => quoteInterface(d));
  return `add flowtable ${FLOWTABLE} { hook ingress priority filter;${list.length === 0 ? '' : ` devices = { ${list.join(', ')} };`} }`;
}

function deleteFlowtableDevices(devices: readonly string[]): string[] {
  return devices.length === 0 ? [] : [`delete flowtable ${FLOWTABLE} { devices = { ${[...devices].sort().map((d) => quoteInterface(d)).join(', ')} }; }`];
}

/** The base objects: table, verdict maps, the flowtable (`devices`, when given), hook chains and their fixed rules. */
function baseLines(devices: ReadonlySet<string> | undefined, redirected: NftRedirectedModel | undefined): string[] {
  const hooks = [
    [NFT_BASE.FORWARD, 'forward', FORWARD_RULES],
    [NFT_BASE.INPUT, 'input', inputRules(redirected)],
    [NFT_BASE.OUTPUT, 'output', [`oifname vmap @${NFT_BASE.INGRESS_MAP}`]],
  ] as const;
  return [
    `add table ${T}`,
    `add map ${T} ${NFT_BASE.INGRESS_MAP} { type ifname : verdict; }`,
    `add map ${T} ${NFT_BASE.EGRESS_MAP} { type ifname : verdict; }`,
    ...(redirected === undefined ? [] : addressMapDeclarations()),
    ...(devices === undefined ? [] : [addFlowtable(devices)]),
    ...hooks.flatMap(([chain, hook, rules]) => [
      `add chain ${T} ${chain} { type filter hook ${hook} priority filter; policy accept; }`,
      `flush chain ${T} ${chain}`,
      // Flows are offloaded from the forward hook only (the kernel's `flow add` works there alone).
      ...hookRules(chain, rules, devices !== undefined && chain === NFT_BASE.FORWARD),
    ]),
  ];
}

const BASE_CHAINS: ReadonlySet<string> = new Set([NFT_BASE.FORWARD, NFT_BASE.INPUT, NFT_BASE.OUTPUT]);

const sameShape = (a: { type: string; interval: boolean }, b: { type: string; interval: boolean }): boolean => a.type === b.type && a.interval === b.interval;

const sameLines = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  a === b || a !== undefined && b !== undefined && a.length === b.length && a.every((line, i) => line === b[i]);

/**
 * The script that makes the kernel's table exactly `next`, whatever it holds now
 * (`kernel`: empty when there is no table). Keeps the table, so enforcement never
 * pauses; used for the first apply of a driver instance.
 * @throws {NftablesNameError} for an interface name that is not one.
 */
export function renderFullSync(next: NftTableModel, kernel: NftKernelState): string {
  const lines = baseLines(next.flowtable, next.redirected);
  const held = kernel.flowtables?.get(NFT_BASE.FLOWTABLE);
  // Devices the kernel's flowtable holds that no attached endpoint has any more.
  if (held !== undefined && next.flowtable !== undefined) lines.push(...deleteFlowtableDevices([...held].filter((d) => !next.flowtable?.has(d))));
  lines.push(`flush map ${T} ${NFT_BASE.INGRESS_MAP}`, `flush map ${T} ${NFT_BASE.EGRESS_MAP}`, ...(next.redirected === undefined ? [] : ADDRESS_MAPS.map(([map]) => `flush map ${T} ${map}`)));
  const existing = [...kernel.chains].filter((c) => !BASE_CHAINS.has(c)).sort();
  for (const chain of existing) lines.push(`flush chain ${T} ${chain}`);
  for (const [name, shape] of [...kernel.sets].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const wanted = next.sets.get(name);
    if (wanted === undefined || !sameShape(wanted, shape)) lines.push(`delete set ${T} ${name}`);
    else lines.push(`flush set ${T} ${name}`);
  }
  for (const [name, set] of next.sets) {
    const shape = kernel.sets.get(name);
    if (shape === undefined || !sameShape(set, shape)) lines.push(setDeclaration(name, set));
    // Sorted: the same model gives the same script, whatever order a hash set's elements came in.
    lines.push(...elementLines('add', name, set.interval ? set.elements : [...set.elements].sort()));
  }
  for (const chain of next.chains.keys()) if (!kernel.chains.has(chain)) lines.push(`add chain ${T} ${chain}`);
  for (const [chain, rules] of next.chains) for (const rule of rules) lines.push(`add rule ${T} ${chain} ${rule}`);
  for (const chain of existing) if (!next.chains.has(chain)) lines.push(`delete chain ${T} ${chain}`);
  for (const [ifname, chain] of next.ingress) lines.push(mapElement('add', NFT_BASE.INGRESS_MAP, ifname, chain));
  for (const [ifname, chain] of next.egress) lines.push(mapElement('add', NFT_BASE.EGRESS_MAP, ifname, chain));
  for (const [map, family] of ADDRESS_MAPS) for (const [address, chain] of next.redirected?.[family] ?? NO_ADDRESSES) lines.push(addressElement('add', map, address, chain));
  // Turned off, or not ours: no rule names it any more (the chains were flushed above), so it can go.
  for (const name of [...kernel.flowtables?.keys() ?? []].sort()) {
    if (name !== NFT_BASE.FLOWTABLE || next.flowtable === undefined) lines.push(`delete flowtable ${T} ${name}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The script that turns the kernel's table from `previous` into `next`, touching only
 * what differs: map elements, chains (flushed and refilled), sets (elements added and
 * deleted; recreated when their type changes). Empty when nothing differs.
 * @throws {NftablesNameError} for an interface name that is not one.
 */
export function renderDelta(previous: NftTableModel, next: NftTableModel): string {
  const lines: string[] = [];
  const maps = [[NFT_BASE.INGRESS_MAP, previous.ingress, next.ingress], [NFT_BASE.EGRESS_MAP, previous.egress, next.egress]] as const;
  // 1. Map elements that go or change: nothing may jump to a chain about to go.
  for (const [map, before, after] of maps) {
    for (const [ifname, chain] of before) if (after.get(ifname) !== chain) lines.push(mapElement('delete', map, ifname));
  }
  for (const [map, family] of ADDRESS_MAPS) {
    const after = next.redirected?.[family] ?? NO_ADDRESSES;
    for (const [address, chain] of previous.redirected?.[family] ?? NO_ADDRESSES) if (after.get(address) !== chain) lines.push(addressElement('delete', map, address));
  }
  // 2. Chains that change or go are emptied first: their references to sets and chains go.
  const changed = [...next.chains].filter(([name, rules]) => previous.chains.has(name) && !sameLines(previous.chains.get(name), rules)).map(([name]) => name);
  // A set made again (its type or flags changed) cannot go while a rule refers to it: the
  // chains whose rules name it are refilled too, even when their text is the same.
  const remade = [...previous.sets].filter(([name, before]) => {
    const after = next.sets.get(name);
    return after !== undefined && !sameShape(before, after);
  }).map(([name]) => `@${name} `);
  if (remade.length > 0) {
    const already = new Set(changed);
    for (const [name, rules] of next.chains) {
      if (already.has(name) || !previous.chains.has(name)) continue;
      if (rules.some((rule) => remade.some((ref) => rule.includes(ref)))) changed.push(name);
    }
  }
  const removed = [...previous.chains.keys()].filter((name) => !next.chains.has(name));
  for (const chain of [...changed, ...removed]) lines.push(`flush chain ${T} ${chain}`);
  // 3. Sets.
  for (const [name, before] of previous.sets) {
    const after = next.sets.get(name);
    if (after === undefined || !sameShape(before, after)) lines.push(`delete set ${T} ${name}`);
  }
  for (const [name, after] of next.sets) {
    const before = previous.sets.get(name);
    if (before === after) continue;
    if (before === undefined || !sameShape(before, after)) {
      lines.push(setDeclaration(name, after), ...elementLines('add', name, after.elements));
      continue;
    }
    // The set says what changed since the version the kernel holds: only that is written.
    if (after.changes !== undefined && after.changes.base.deref() === before) {
      lines.push(...elementLines('delete', name, after.changes.removed));
      lines.push(...elementLines('add', name, after.changes.added));
      continue;
    }
    const had = new Set(before.elements);
    const has = new Set(after.elements);
    // Deletions first: a new element may overlap one that goes.
    lines.push(...elementLines('delete', name, before.elements.filter((e) => !has.has(e))));
    lines.push(...elementLines('add', name, after.elements.filter((e) => !had.has(e))));
  }
  // 4. New chains, then the rules of new and changed ones (a rule may jump to a new chain).
  const added = [...next.chains.keys()].filter((name) => !previous.chains.has(name));
  for (const chain of added) lines.push(`add chain ${T} ${chain}`);
  for (const chain of [...added, ...changed]) for (const rule of next.chains.get(chain) ?? []) lines.push(`add rule ${T} ${chain} ${rule}`);
  for (const chain of removed) lines.push(`delete chain ${T} ${chain}`);
  // 5. Map elements that are new or changed.
  for (const [map, before, after] of maps) {
    for (const [ifname, chain] of after) if (before.get(ifname) !== chain) lines.push(mapElement('add', map, ifname, chain));
  }
  if (previous.redirected === undefined && next.redirected !== undefined) lines.push(...addressMapDeclarations());
  for (const [map, family] of ADDRESS_MAPS) {
    const before = previous.redirected?.[family] ?? NO_ADDRESSES;
    for (const [address, chain] of next.redirected?.[family] ?? NO_ADDRESSES) if (before.get(address) !== chain) lines.push(addressElement('add', map, address, chain));
  }
  if (previous.redirected?.match !== next.redirected?.match) lines.push(...inputChainLines(next.redirected));
  // Turned off: the input chain no longer names them (refilled above), so they can go.
  if (previous.redirected !== undefined && next.redirected === undefined) lines.push(...ADDRESS_MAPS.map(([map]) => `delete map ${T} ${map}`));
  // 6. The flowtable's devices follow the attached endpoints; made or removed with the offload rule.
  lines.push(...flowtableDelta(previous.flowtable, next.flowtable));
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function flowtableDelta(before: ReadonlySet<string> | undefined, after: ReadonlySet<string> | undefined): string[] {
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [addFlowtable(after ?? []), ...forwardChainLines(true)];
  if (after === undefined) return [...forwardChainLines(false), `delete flowtable ${FLOWTABLE}`];
  const added = [...after].filter((d) => !before.has(d));
  return [...deleteFlowtableDevices([...before].filter((d) => !after.has(d))), ...(added.length === 0 ? [] : [addFlowtable(added)])];
}

/** The script that removes the table and everything in it. */
export function renderDeleteTable(): string {
  return `delete table ${T}\n`;
}
