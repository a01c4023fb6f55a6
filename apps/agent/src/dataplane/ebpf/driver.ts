// The eBPF dataplane: the policy engine's diffs become incremental updates of pinned
// maps read by tcx programs on each endpoint's host-side veth.
//
// What the kernel holds is the truth: the driver reads the pinned policy and ipcache
// maps and links when it starts (after a restart they are still enforcing), and every
// apply writes only the difference between what an attached endpoint should have and
// what the map holds for it. Order of writes: new and changed policy entries, then the
// ipcache, then deletions, then links; so a packet never meets a peer class the policy
// map does not know yet, and a new endpoint's links come after its entries. An endpoint
// without entries is dropped by the program (fail-closed).
//
// An upgrade (the pins and links came from another version) never leaves an endpoint
// unenforced: the kernel port loads maps whose pinned layout changed anew beside their
// pins, while the old links keep running the old programs with the old maps. The first
// full apply fills the new maps (this driver read them empty, so it writes everything),
// then the port moves each adopted link to this load's program in one step and the new
// maps' pins over the old ones (sys/kernel.ts, completeUpgrade).

import {
  BpfMapCompiler,
  bpfEntryKey,
  diffBpfEntries,
  type BpfPolicyEntry,
  type L7Mark,
} from '@twill/policy-engine';

import {
  type ApplyReport,
  type Dataplane,
  type DataplaneChange,
  type DataplaneFlowHandler,
  type DataplaneFlowReader,
  type DataplaneStatus,
} from '../port.js';
import { EbpfFlowReader, monotonicOffsetMs } from './flow-reader.js';
import { decodeIpKey, decodePolicyEntry, encodeIpKey, encodeL7Value, encodePolicyEntry, type IpKey, type PolicyKey, type PolicyValue } from './layout.js';
import { type EbpfKernelPort, type MapAdoption, type TcxHook, type UpgradeLink } from './sys/kernel.js';

const HOOKS: readonly TcxHook[] = ['ingress', 'egress'];

interface Attached {
  readonly hostInterface: string;
  readonly ifindex: number;
}

/** A map of the object as this start found it, and what the upgrade did with its entries. */
export interface EbpfMapUpgrade extends MapAdoption {
  /** Entries copied from the old map (state `copied`), once the upgrade is done. */
  readonly copied?: number;
  /** Entries the new map had no room for. */
  readonly dropped?: number;
}

/** What this start did with another version's maps and programs; see {@link EbpfDataplane.status}. */
export interface EbpfUpgradeStatus {
  /**
   * Whether the links and the new maps' pins are in place. The first full apply does it;
   * a link the kernel would neither move nor replace holds the pins back until a later
   * apply has attached it anew.
   */
  readonly done: boolean;
  /** Every pinned map of the object: reused, created, or replaced (and how its entries fared). */
  readonly maps: readonly EbpfMapUpgrade[];
  /** Adopted links moved to this agent's programs, as `interface.hook`. */
  readonly programsUpdated: readonly string[];
  /** What failed, in words: a link left on its old program, a pin not moved. */
  readonly failures: readonly string[];
  /** What happened, one line each, for a log. */
  readonly notes: readonly string[];
}

/** The eBPF driver's status: the port's, and `upgrade` when this start found another version's maps or programs. */
export interface EbpfDataplaneStatus extends DataplaneStatus {
  readonly upgrade?: EbpfUpgradeStatus;
}

/** What the driver is built from. */
export interface EbpfDataplaneParts {
  readonly kernel: EbpfKernelPort;
  /** A monotonic clock in milliseconds, for the apply report. */
  readonly now: () => number;
  /** Wall-clock ms minus CLOCK_MONOTONIC ms, for flow event times (default: from Date.now and process.hrtime). */
  readonly monotonicOffsetMs?: () => number;
  /**
   * The firewall marks of the L7 proxy's traffic (see `createEbpfDataplane`): an Allow
   * with L7 rules then admits into the pod only packets carrying one of them. Absent:
   * such an Allow is a plain allow.
   */
  readonly l7Mark?: L7Mark;
}

/** The eBPF {@link Dataplane}; make it with `createEbpfDataplane`. */
export class EbpfDataplane implements Dataplane {
  readonly driver = 'ebpf' as const;
  readonly #kernel: EbpfKernelPort;
  readonly #now: () => number;
  readonly #compiler: BpfMapCompiler;
  readonly #attached = new Map<string, Attached>();
  /** The policy map's entries per endpoint ifindex, by entry key: read at start, kept in step. */
  readonly #programmed = new Map<number, Map<string, BpfPolicyEntry>>();
  /** The ipcache map: prefix → peer class. */
  readonly #ipcache = new Map<string, number>();
  /** Pinned links: `interface.hook` → the ifindex they are attached to. */
  readonly #links = new Map<string, number | undefined>();
  /** Pinned links: `interface.hook` → the id of the program they run. */
  readonly #linkPrograms = new Map<string, number | undefined>();
  /** Links (`interface.hook`) an upgrade left on an old program, for the next apply to attach anew. */
  readonly #relink = new Set<string>();
  /** This load's program ids. */
  readonly #programIds: Readonly<Record<TcxHook, number>>;
  #upgrade: EbpfUpgradeStatus | undefined;
  #adopting = true;
  /** Attached endpoints' keys by ifindex, for flow events. */
  readonly #endpoints = new Map<number, string>();
  readonly #monotonicOffsetMs: () => number;
  #reader: EbpfFlowReader | undefined;

  /** @throws {RangeError} for a bad `l7Mark` (naming the field), before any kernel write. */
  constructor(parts: EbpfDataplaneParts) {
    const l7 = encodeL7Value(parts.l7Mark);
    this.#compiler = new BpfMapCompiler({ l7Proxy: parts.l7Mark !== undefined });
    this.#kernel = parts.kernel;
    this.#now = parts.now;
    this.#monotonicOffsetMs = parts.monotonicOffsetMs ?? monotonicOffsetMs;
    // The programs write verdicts only while a reader is open; the pinned flag outlives a
    // process that died with one open.
    parts.kernel.setFlowEvents(false);
    // Written at every start, into the pinned map the running programs read: a changed
    // mark takes effect without a reload, and none is left from a run that had one.
    parts.kernel.setL7Marks(l7);
    for (const [key, value] of parts.kernel.policy.entries()) {
      const { ifindex, entry } = decodePolicyEntry(key, value);
      const entries = this.#programmed.get(ifindex) ?? new Map<string, BpfPolicyEntry>();
      entries.set(bpfEntryKey(entry), entry);
      this.#programmed.set(ifindex, entries);
    }
    for (const [key, value] of parts.kernel.ipcache.entries()) this.#ipcache.set(decodeIpKey(key), value);
    this.#programIds = { ingress: parts.kernel.programId('ingress'), egress: parts.kernel.programId('egress') };
    let stale = 0;
    for (const link of parts.kernel.pinnedLinks()) {
      this.#links.set(`${link.hostInterface}.${link.hook}`, link.ifindex);
      this.#linkPrograms.set(`${link.hostInterface}.${link.hook}`, link.programId);
      if (link.programId !== this.#programIds[link.hook]) stale += 1;
    }
    const maps = parts.kernel.maps;
    if (stale > 0 || maps.some((m) => m.outcome === 'replaced')) {
      this.#upgrade = { done: false, maps, programsUpdated: [], failures: [], notes: upgradeNotes(maps, [], false) };
    }
  }

  /** Applies one change; see the module comment for the order of writes. */
  async apply(change: DataplaneChange): Promise<ApplyReport> {
    const started = this.#now();
    let operations = 0;
    const diff = this.#compiler.apply(change.policy);
    const touched = new Set<string>([...diff.endpoints.map((e) => e.key), ...diff.removedEndpoints]);

    for (const key of change.detach ?? []) {
      const attached = this.#attached.get(key);
      if (attached === undefined) continue;
      operations += this.#forget(attached);
      this.#attached.delete(key);
      if (this.#endpoints.get(attached.ifindex) === key) this.#endpoints.delete(attached.ifindex);
    }
    const fresh: Attached[] = [];
    for (const a of change.attach ?? []) {
      const attached = { hostInterface: a.hostInterface, ifindex: a.ifindex ?? this.#kernel.ifindex(a.hostInterface) };
      const old = this.#attached.get(a.key);
      if (old !== undefined && (old.ifindex !== attached.ifindex || old.hostInterface !== attached.hostInterface)) {
        operations += this.#forget(old);
        if (this.#endpoints.get(old.ifindex) === a.key) this.#endpoints.delete(old.ifindex);
      }
      this.#attached.set(a.key, attached);
      this.#endpoints.set(attached.ifindex, a.key);
      fresh.push(attached);
      touched.add(a.key);
    }

    const sets: [PolicyKey, PolicyValue][] = [];
    const deletes: PolicyKey[] = [];
    let endpoints = 0;
    // Once in step (not adopting), an endpoint attached before this change holds exactly
    // the compiler's previous entries, so the compiler's own step is the map's: no second
    // comparison of all of the endpoint's entries.
    const steps = new Map(this.#adopting ? [] : diff.endpoints.map((e) => [e.key, e]));
    const freshKeys = new Set((change.attach ?? []).map((a) => a.key));
    for (const key of touched) {
      const attached = this.#attached.get(key);
      if (attached === undefined) continue;
      const current = this.#programmed.get(attached.ifindex) ?? new Map<string, BpfPolicyEntry>();
      const known = freshKeys.has(key) ? undefined : steps.get(key);
      // Rules not known (yet, or any more): no entries, which the program drops.
      const step = known ?? diffBpfEntries([...current.values()], this.#compiler.entries(key) ?? []);
      for (const entry of step.set) {
        sets.push(encodePolicyEntry(attached.ifindex, entry));
        current.set(bpfEntryKey(entry), entry);
      }
      for (const entry of step.removed) {
        deletes.push(encodePolicyEntry(attached.ifindex, entry)[0]);
        current.delete(bpfEntryKey(entry));
      }
      this.#programmed.set(attached.ifindex, current);
      if (step.set.length > 0 || step.removed.length > 0) endpoints += 1;
    }
    // After a restart, the first apply with attachments is the full state: what no
    // attached endpoint claims goes.
    const prune = this.#adopting && (change.attach?.length ?? 0) > 0;
    if (prune) {
      const claimed = new Set([...this.#attached.values()].map((a) => a.ifindex));
      for (const [ifindex, entries] of this.#programmed) {
        if (claimed.has(ifindex)) continue;
        for (const entry of entries.values()) deletes.push(encodePolicyEntry(ifindex, entry)[0]);
        this.#programmed.delete(ifindex);
      }
    }
    if (sets.length > 0) this.#kernel.policy.updateBatch(sets);
    operations += sets.length + this.#applyIpcache(diff.ipcache);
    if (deletes.length > 0) this.#kernel.policy.deleteBatch(deletes);
    operations += deletes.length;

    // Links an upgrade could neither move nor replace are attached anew with the others.
    const relink = [...this.#attached.values()].filter((a) => !fresh.includes(a) && HOOKS.some((h) => this.#relink.has(`${a.hostInterface}.${h}`)));
    for (const attached of [...fresh, ...relink]) {
      for (const hook of HOOKS) {
        const name = `${attached.hostInterface}.${hook}`;
        if (this.#links.has(name) && this.#links.get(name) === attached.ifindex) continue;
        this.#kernel.attach(attached.hostInterface, attached.ifindex, hook);
        this.#links.set(name, attached.ifindex);
        this.#linkPrograms.set(name, this.#programIds[hook]);
        this.#relink.delete(name);
        operations += 1;
      }
    }
    // The new maps are full now: the adopted links move to this load's programs, then the
    // pins; a later apply that re-attached what was stuck puts the pins in place.
    if ((prune && this.#upgrade !== undefined) || (relink.length > 0 && this.#upgrade?.done === false)) operations += this.#completeUpgrade();
    if (prune) {
      const claimed = new Set([...this.#attached.values()].flatMap((a) => HOOKS.map((h) => `${a.hostInterface}.${h}`)));
      for (const name of [...this.#links.keys()]) {
        if (claimed.has(name)) continue;
        const dot = name.lastIndexOf('.');
        this.#kernel.detach(name.slice(0, dot), name.slice(dot + 1) as TcxHook);
        this.#links.delete(name);
        this.#linkPrograms.delete(name);
        operations += 1;
      }
    }
    if (prune) this.#adopting = false;
    return { endpoints: endpoints + (change.detach?.length ?? 0), operations, durationMs: this.#now() - started };
  }

  // The ipcache: incremental from the diff once in step; the first time, against what the map holds.
  #applyIpcache(step: { readonly set: readonly { prefix: string; class: number }[]; readonly removed: readonly string[] }): number {
    let set = step.set;
    let removed = step.removed;
    if (this.#adopting) {
      const desired = new Map(this.#compiler.ipcache().map((e) => [e.prefix, e.class]));
      set = [...desired].filter(([prefix, c]) => this.#ipcache.get(prefix) !== c).map(([prefix, c]) => ({ prefix, class: c }));
      removed = [...this.#ipcache.keys()].filter((prefix) => !desired.has(prefix));
    }
    if (set.length > 0) this.#kernel.ipcache.updateBatch(set.map((e): [IpKey, number] => [encodeIpKey(e.prefix), e.class]));
    for (const e of set) this.#ipcache.set(e.prefix, e.class);
    if (removed.length > 0) this.#kernel.ipcache.deleteBatch(removed.map(encodeIpKey));
    for (const prefix of removed) this.#ipcache.delete(prefix);
    return set.length + removed.length;
  }

  // Moves the attached endpoints' adopted links to this load's programs and the replacing
  // maps' pins into place; the number of links moved.
  #completeUpgrade(): number {
    const links: UpgradeLink[] = [];
    for (const a of this.#attached.values()) {
      for (const hook of HOOKS) {
        const name = `${a.hostInterface}.${hook}`;
        if (this.#links.get(name) === a.ifindex && this.#linkPrograms.get(name) !== this.#programIds[hook]) links.push({ hostInterface: a.hostInterface, hook, ifindex: a.ifindex });
      }
    }
    const result = this.#kernel.completeUpgrade(links);
    for (const name of result.updated) {
      const hook = name.slice(name.lastIndexOf('.') + 1) as TcxHook;
      this.#linkPrograms.set(name, this.#programIds[hook]);
    }
    // A link still on the old program enforces the old maps, which this agent no longer
    // writes: the next apply attaches it anew (and then puts the new maps' pins in place).
    for (const name of result.stuck) {
      this.#links.delete(name);
      this.#linkPrograms.delete(name);
      this.#relink.add(name);
    }
    const previous = this.#upgrade;
    const maps = (previous?.maps ?? []).map((m): EbpfMapUpgrade => {
      const copied = result.copied[m.name];
      return copied === undefined ? m : { ...m, copied: (m.copied ?? 0) + copied.copied, dropped: (m.dropped ?? 0) + copied.dropped };
    });
    const programsUpdated = [...(previous?.programsUpdated ?? []), ...result.updated];
    const failures = [...(previous?.failures ?? []), ...result.failures];
    const notes = upgradeNotes(maps, programsUpdated, result.committed);
    for (const name of result.replaced) notes.push(`${name}: the link could not be moved to this agent's program and was replaced by a new link`);
    this.#upgrade = { done: result.committed, maps, programsUpdated, failures, notes };
    return result.updated.length;
  }

  // Detaches an endpoint's links and deletes its entries; the number of kernel operations.
  #forget(attached: Attached): number {
    let operations = 0;
    for (const hook of HOOKS) {
      const name = `${attached.hostInterface}.${hook}`;
      if (!this.#links.has(name)) continue;
      this.#kernel.detach(attached.hostInterface, hook);
      this.#links.delete(name);
      this.#linkPrograms.delete(name);
      operations += 1;
    }
    const entries = [...(this.#programmed.get(attached.ifindex)?.values() ?? [])];
    if (entries.length > 0) this.#kernel.policy.deleteBatch(entries.map((e) => encodePolicyEntry(attached.ifindex, e)[0]));
    this.#programmed.delete(attached.ifindex);
    return operations + entries.length;
  }

  /**
   * Starts reading the programs' verdicts (see the port): maps tw_events, turns the
   * programs' event writing on (tw_config) and delivers each wake-up's events as one
   * batch (at most 4096; more come on the next event loop turn), decoded from the ring's
   * bytes, with the endpoint of the attached ifindex, the compiler's rule (reason
   * `policy`) and the kernel's time on the wall clock. After each batch the programs'
   * lost count (tw_lost, per CPU) is read and an increase reported as
   * `handler.lost(n, 'ebpf-ringbuf')`. `close()` turns the writing off and unmaps.
   * @throws {Error} while another reader is open.
   * @throws {EbpfDataplaneError} `load-failed` when the object has no tw_events or tw_lost.
   */
  readFlows(handler: DataplaneFlowHandler): DataplaneFlowReader {
    if (this.#reader !== undefined) throw new Error('the eBPF dataplane has a flow reader open already: close it first');
    const ring = this.#kernel.openFlowRing();
    try {
      const reader: EbpfFlowReader = new EbpfFlowReader({
        ring,
        handler,
        endpoints: this.#endpoints,
        rule: (id) => this.#compiler.rule(id),
        setFlowEvents: (on) => this.#kernel.setFlowEvents(on),
        monotonicOffsetMs: this.#monotonicOffsetMs,
        onClose: () => {
          if (this.#reader === reader) this.#reader = undefined;
        },
      });
      this.#reader = reader;
      return reader;
    } catch (error) {
      ring.close();
      throw error;
    }
  }

  /** What a rule id in a flow event stands for, in words. */
  describeRule(id: number): string {
    return this.#compiler.describeRule(id);
  }

  /**
   * Reads the links and the policy map back from the kernel and compares them with what
   * should be: a missing link, one running another program than this agent's, entries
   * missing or extra are drift. `upgrade` says what this start did with another
   * version's maps and programs (absent when it found none).
   */
  async status(): Promise<EbpfDataplaneStatus> {
    const drift: string[] = [];
    const kernelEntries = new Map<number, Map<string, BpfPolicyEntry>>();
    for (const [key, value] of this.#kernel.policy.entries()) {
      const { ifindex, entry } = decodePolicyEntry(key, value);
      const entries = kernelEntries.get(ifindex) ?? new Map<string, BpfPolicyEntry>();
      entries.set(bpfEntryKey(entry), entry);
      kernelEntries.set(ifindex, entries);
    }
    const pinned = this.#kernel.pinnedLinks();
    const links = new Map(pinned.map((l) => [`${l.hostInterface}.${l.hook}`, l.ifindex]));
    const programs = new Map(pinned.map((l) => [`${l.hostInterface}.${l.hook}`, l.programId]));
    const endpoints = [...this.#attached].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, a]) => {
      let programmed = true;
      for (const hook of HOOKS) {
        const ifindex = links.get(`${a.hostInterface}.${hook}`);
        const program = programs.get(`${a.hostInterface}.${hook}`);
        if (ifindex !== a.ifindex) {
          programmed = false;
          drift.push(`${key}: no tcx ${hook} link on ${a.hostInterface} (ifindex ${a.ifindex})${ifindex === undefined ? '' : `, one on ifindex ${ifindex}`}`);
        } else if (program !== undefined && program !== this.#programIds[hook]) {
          programmed = false;
          drift.push(`${key}: the tcx ${hook} link on ${a.hostInterface} runs program ${program}, not this agent's ${this.#programIds[hook]}`);
        }
      }
      const desired = this.#compiler.entries(key);
      const step = diffBpfEntries([...(kernelEntries.get(a.ifindex)?.values() ?? [])], desired ?? []);
      if (desired === undefined) programmed = false;
      if (step.set.length > 0 || step.removed.length > 0) {
        programmed = false;
        drift.push(`${key}: ${step.set.length} policy entries missing or different, ${step.removed.length} extra`);
      }
      return { key, hostInterface: a.hostInterface, programmed };
    });
    const claimed = new Set([...this.#attached.values()].flatMap((a) => HOOKS.map((h) => `${a.hostInterface}.${h}`)));
    for (const name of links.keys()) {
      if (claimed.has(name)) continue;
      const dot = name.lastIndexOf('.');
      drift.push(`a tcx ${name.slice(dot + 1)} link on ${name.slice(0, dot)} is pinned, but no attached endpoint has that interface`);
    }
    const owners = new Set([...this.#attached.values()].map((a) => a.ifindex));
    for (const [ifindex, entries] of kernelEntries) if (!owners.has(ifindex)) drift.push(`${entries.size} policy entries for ifindex ${ifindex}, which no attached endpoint has`);
    return { driver: 'ebpf', endpoints, drift, ...(this.#upgrade === undefined ? {} : { upgrade: this.#upgrade }) };
  }

  /** Detaches every link and removes every pinned map and link, and the pin root when empty. */
  async cleanup(): Promise<void> {
    this.#reader?.close();
    this.#kernel.removeAll();
    this.#attached.clear();
    this.#endpoints.clear();
    this.#programmed.clear();
    this.#ipcache.clear();
    this.#links.clear();
    this.#linkPrograms.clear();
    this.#relink.clear();
  }
}

/** The upgrade in words, one line per replaced map and one for the links. */
function upgradeNotes(maps: readonly EbpfMapUpgrade[], updated: readonly string[], done: boolean): string[] {
  const notes = maps.filter((m) => m.outcome === 'replaced').map((m) => {
    const what = `${m.name}: the pinned map did not match this agent's object (${m.differences ?? 'unknown'}) and is replaced`;
    switch (m.state) {
      case 'refilled':
        return `${what}; refilled from the policy model${done ? '' : ' (pending)'}`;
      case 'copied':
        return `${what}; ${done ? `${m.copied ?? 0} entries copied${m.dropped ? `, ${m.dropped} had no room` : ''}` : 'its entries will be copied'}`;
      case 'emptied':
        return `${what} empty: its layout changed, so connections opened before the upgrade are decided by policy again packet by packet (replies that policy does not allow are dropped until the connection is reopened)`;
      default:
        return `${what}; its entries are not kept`;
    }
  });
  if (done) notes.push(`${updated.length} tcx links moved to this agent's programs`);
  else if (updated.length > 0) notes.push(`pending: ${updated.length} tcx links moved to this agent's programs; the new maps' pins wait until the next apply has attached the links left on the old programs anew`);
  else notes.push('pending: the first full apply fills the new maps, then moves the links to this agent\'s programs and the new maps\' pins into place');
  return notes;
}
