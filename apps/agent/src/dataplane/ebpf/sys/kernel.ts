// Everything of the eBPF driver that touches the kernel or bpffs: loading the object
// (maps pinned by name under the pin root, reused across restarts, replaced beside their
// pins when another version's layout is in the way), tcx links pinned under
// `<pinRoot>/links/<hook>/<interface>` (bpffs refuses dots in names), moving adopted
// links to this load's programs, and removing it all.

import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, unlinkSync } from 'node:fs';

import {
  attachTcx,
  copyMapEntries,
  interfaceIndex,
  type CopyMapEntriesResult,
  loadCollection,
  openPinnedLink,
  openPinnedPerCpuMap,
  pinPathForStaging,
  readCollectionSpec,
  u32,
  u64,
  type BpfMap,
  type Collection,
  type CollectionSpec,
  type Link,
} from '@twill/ebpf';

import { EBPF_DATAPLANE_ERROR_CODE, EbpfDataplaneError } from '../errors.js';
import { mapFlowRing, watchFlowRing, type FlowRingMemory } from './flow-ring.js';
import { CONFIG_FLOW_EVENTS, CONFIG_VALUE, L7_VALUE, type L7Value, IP_KEY, IP_VALUE, POLICY_KEY, POLICY_VALUE, type IpKey, type PolicyKey, type PolicyValue } from '../layout.js';

/** The tcx hooks: packets from the pod (its egress) and to the pod (its ingress). */
export type TcxHook = 'ingress' | 'egress';

/** The program of each hook, as named in policy.bpf.c. */
const PROGRAMS: Readonly<Record<TcxHook, string>> = { ingress: 'tw_from_pod', egress: 'tw_to_pod' };
const HOOKS: readonly TcxHook[] = ['ingress', 'egress'];

/** A pinned link as bpffs and the kernel describe it. */
export interface PinnedLink {
  readonly hostInterface: string;
  readonly hook: TcxHook;
  /** The interface it is attached to; undefined when the interface went away (defunct link). */
  readonly ifindex: number | undefined;
  /** The id of the program it runs; undefined when the link could not be read. */
  readonly programId?: number | undefined;
}

/**
 * What becomes of a replaced map's entries: `refilled` by the driver from the policy
 * model (tw_policy, tw_ipcache), `copied` from the old map (only the capacity or flags
 * changed), `emptied` (the type, a size or the BTF layout of the key or value changed:
 * the entries cannot be read as the new one's), `discarded` (nothing worth keeping: the event ring, the
 * lost counters, the config the driver writes at start).
 */
export type ReplacedMapState = 'refilled' | 'copied' | 'emptied' | 'discarded';

/** What loading the object did with one of its pinned maps. */
export interface MapAdoption {
  readonly name: string;
  /** `reused`: the pinned map, with its entries; `created`: none was pinned; `replaced`: the pinned one did not match the object. */
  readonly outcome: 'reused' | 'created' | 'replaced';
  /** Replaced maps: how the pinned map differed, in words. */
  readonly differences?: string;
  /** Replaced maps: what becomes of the entries. */
  readonly state?: ReplacedMapState;
}

/** What {@link EbpfKernelPort.completeUpgrade} did. */
export interface UpgradeResult {
  /** Links now running this load's programs, as `interface.hook` (moved in place, or replaced). */
  readonly updated: readonly string[];
  /** Of `updated`, the links that could not be moved and were replaced by a new link (attached, then the old one detached). */
  readonly replaced: readonly string[];
  /**
   * Links still running the old program (neither moved nor replaced). While any is,
   * the replaced maps stay staged (`committed` false): call again once they are re-attached.
   */
  readonly stuck: readonly string[];
  /** Whether the replacing maps' pins were moved over the old ones. */
  readonly committed: boolean;
  /** Entries copied from old maps to their replacements, by map name (`dropped`: no room). */
  readonly copied: Readonly<Record<string, { readonly copied: number; readonly dropped: number }>>;
  /** What failed, in words (a link left on its old program, a pin not moved). */
  readonly failures: readonly string[];
}

/** A pinned link for {@link EbpfKernelPort.completeUpgrade} to move. */
export interface UpgradeLink {
  readonly hostInterface: string;
  readonly hook: TcxHook;
  /** The interface the link is attached to, for a replacement link. */
  readonly ifindex: number;
}

/** Replaced maps whose entries the driver writes again from the policy model. */
const REFILLED = new Set(['tw_policy', 'tw_ipcache']);
/** Replaced maps with nothing worth keeping; any other map's entries are copied when the layout allows. */
const DISCARDED = new Set(['tw_events', 'tw_lost', 'tw_config', 'tw_l7']);

/** The tw_events ring buffer, mapped, and the programs' count of verdicts it had no room for. */
export interface FlowRingPort {
  readonly memory: FlowRingMemory;
  /** Calls `onReady` on each event loop turn while the ring holds records, or with the error when watching fails. */
  watch(onReady: (error?: unknown) => void): { close(): void };
  /** tw_lost summed over the CPUs: verdicts not written since the map was created. */
  lost(): number;
  /** Unmaps the ring and closes the counter (stop watching first). */
  close(): void;
}

/** What the driver asks of the kernel (tests of the driver's logic may substitute it). */
export interface EbpfKernelPort {
  readonly policy: BpfMap<PolicyKey, PolicyValue>;
  readonly ipcache: BpfMap<IpKey, number>;
  /** The interface's index in the driver's namespace. */
  ifindex(hostInterface: string): number;
  /** The links pinned under the pin root. */
  pinnedLinks(): PinnedLink[];
  /** Attaches a hook's program to the interface and pins the link. */
  attach(hostInterface: string, ifindex: number, hook: TcxHook): void;
  /** Detaches and unpins a link. */
  detach(hostInterface: string, hook: TcxHook): void;
  /** What the load did with each pinned map of the object. */
  readonly maps: readonly MapAdoption[];
  /** The id of this load's program for a hook. */
  programId(hook: TcxHook): number;
  /**
   * Ends an upgrade, in this order: copies the entries of replaced maps that keep
   * theirs (once, on the first call), moves each given pinned link to this load's
   * program in one step (the old program keeps its old maps up to that moment) or, when
   * the kernel refuses the move, attaches a new link with this load's program and then
   * detaches the old one, merges what the old programs changed meanwhile (unless the new
   * ones wrote that entry since), then, unless a link is left on an old program, moves
   * the replacing maps' pins over the old ones, which are freed once no program uses
   * them. Failures are reported, not thrown; call again (with the links re-attached) to
   * commit what a stuck link held back. Known window: between a link's move and the
   * merge (one merge after all links), a reply of a connection the old program opened
   * after the first copy finds no tw_ct entry and is decided by policy.
   */
  completeUpgrade(links: readonly UpgradeLink[]): UpgradeResult;
  /** Tells the programs (tw_config) whether to write verdicts to tw_events. */
  setFlowEvents(on: boolean): void;
  /** Writes the L7 proxy's marks (tw_l7) that `proxy` policy entries admit; running programs use them from the next packet. */
  setL7Marks(value: L7Value): void;
  /** Maps tw_events and opens tw_lost. @throws {EbpfDataplaneError} `load-failed` when the object has neither. */
  openFlowRing(): FlowRingPort;
  /** Names left under the pin root (maps, `links/...`). */
  pins(): string[];
  /** Detaches every pinned link and removes every pin and the pin root. */
  removeAll(): void;
  close(): void;
}

/** Where the kernel objects are. */
export interface EbpfKernelOptions {
  readonly objectPath: string;
  readonly pinRoot: string;
  readonly netns?: string;
  /** The object already read (a variant, in tests); read from `objectPath` when absent. */
  readonly spec?: CollectionSpec;
}

/**
 * Loads the object and gives the port over it. Pinned maps that match the object are
 * reused; those that do not (another version pinned them) are created anew beside
 * their pins, for the driver's first full apply to fill and {@link EbpfKernelPort.completeUpgrade} to put in place.
 */
export function openEbpfKernel(options: EbpfKernelOptions): EbpfKernelPort {
  if (options.spec === undefined && !existsSync(options.objectPath)) {
    throw new EbpfDataplaneError(EBPF_DATAPLANE_ERROR_CODE.NO_OBJECT, `no eBPF object at ${options.objectPath}: run \`npm run build:bpf\` in apps/agent`);
  }
  let collection: Collection;
  try {
    collection = loadCollection(options.spec ?? readCollectionSpec(options.objectPath), { pinPath: options.pinRoot, onIncompatiblePin: 'replace' });
  } catch (error) {
    throw new EbpfDataplaneError(EBPF_DATAPLANE_ERROR_CODE.LOAD_FAILED, `loading ${options.objectPath} with maps pinned in ${options.pinRoot}: ${(error as Error).message}`, { cause: error });
  }
  return new EbpfKernel(collection, options);
}

class EbpfKernel implements EbpfKernelPort {
  readonly policy: BpfMap<PolicyKey, PolicyValue>;
  readonly ipcache: BpfMap<IpKey, number>;
  readonly #collection: Collection;
  readonly #options: EbpfKernelOptions;
  readonly #links: string;
  readonly maps: readonly MapAdoption[];
  /** What the first copy of each copied map wrote, for the merge after the links move. */
  readonly #firstCopies = new Map<string, CopyMapEntriesResult>();
  #copiedOnce = false;

  constructor(collection: Collection, options: EbpfKernelOptions) {
    this.#collection = collection;
    this.#options = options;
    this.#links = `${options.pinRoot}/links`;
    this.policy = collection.map('tw_policy', { key: POLICY_KEY, value: POLICY_VALUE });
    this.ipcache = collection.map('tw_ipcache', { key: IP_KEY, value: IP_VALUE });
    const replaced = new Map(collection.replacedPins.map((r) => [r.name, r]));
    this.maps = Object.keys(collection.pins).sort().map((name): MapAdoption => {
      const r = replaced.get(name);
      if (r === undefined) return { name, outcome: collection.reusedMaps.includes(name) ? 'reused' : 'created' };
      return { name, outcome: 'replaced', differences: r.differences, state: replacedState(name, r.fields) };
    });
  }

  programId(hook: TcxHook): number {
    return this.#collection.program(PROGRAMS[hook]).info().id;
  }

  completeUpgrade(links: readonly UpgradeLink[]): UpgradeResult {
    const failures: string[] = [];
    const copied: Record<string, { copied: number; dropped: number }> = {};
    // An adopted staged map (a load died before its commit) holds the current entries already.
    const copying = this.#collection.replacedPins.filter((r) => !r.stagedReused && this.maps.find((m) => m.name === r.name)?.state === 'copied');
    const copy = (pass: 'before' | 'after'): void => {
      for (const r of copying) {
        const target = this.#collection.maps[r.name];
        const since = this.#firstCopies.get(r.name);
        if (target === undefined || (pass === 'after' && since === undefined)) continue;
        try {
          const result = copyMapEntries(r.previous, target, pass === 'before' ? {} : { mode: 'merge', since });
          if (pass === 'before') this.#firstCopies.set(r.name, result);
          const sum = copied[r.name] ?? { copied: 0, dropped: 0 };
          copied[r.name] = { copied: sum.copied + result.copied, dropped: sum.dropped + result.dropped };
        } catch (error) {
          failures.push(`copying ${r.name} to its replacement: ${(error as Error).message}`);
        }
      }
    };
    // A second call (after stuck links were re-attached) only merges and commits.
    if (!this.#copiedOnce) copy('before');
    this.#copiedOnce = true;
    const updated: string[] = [];
    const replaced: string[] = [];
    const stuck: string[] = [];
    for (const { hostInterface, hook, ifindex } of links) {
      const name = `${hostInterface}.${hook}`;
      try {
        this.#moveLink(hostInterface, hook);
        updated.push(name);
      } catch (error) {
        // A link left on the old program would enforce the old maps' policy forever.
        try {
          this.#replaceLink(hostInterface, hook, ifindex);
          updated.push(name);
          replaced.push(name);
        } catch (again) {
          stuck.push(name);
          failures.push(`tcx ${hook} link on ${hostInterface} keeps its old program: ${(error as Error).message}; a new link could not be attached either: ${(again as Error).message}`);
        }
      }
    }
    // What the old programs wrote between the first copy and their replacement (a
    // connection that completed its handshake meanwhile); what the new ones wrote since wins.
    copy('after');
    if (stuck.length > 0) {
      failures.push(`the replacing maps stay staged while ${stuck.join(', ')} run${stuck.length === 1 ? 's' : ''} the old program`);
      return { updated, replaced, stuck, committed: false, copied, failures };
    }
    let committed = true;
    try {
      this.#collection.commitReplacedPins();
    } catch (error) {
      committed = false;
      failures.push((error as Error).message);
    }
    return { updated, replaced, stuck, committed, copied, failures };
  }

  // BPF_LINK_UPDATE: the pinned link runs this load's program from the next packet on.
  #moveLink(hostInterface: string, hook: TcxHook): void {
    const link = openPinnedLink(`${this.#links}/${hook}/${hostInterface}`);
    try {
      link.update(this.#collection.program(PROGRAMS[hook]));
    } finally {
      link.close();
    }
  }

  // A new link with this load's program (pinned beside the old one, then renamed over
  // it), and only then the old one detached: the interface is never without a program.
  #replaceLink(hostInterface: string, hook: TcxHook, ifindex: number): void {
    const path = `${this.#links}/${hook}/${hostInterface}`;
    const staged = pinPathForStaging(path);
    const link = attachTcx({ program: this.#collection.program(PROGRAMS[hook]), interface: ifindex, direction: hook, ...(this.#options.netns === undefined ? {} : { netns: this.#options.netns }) });
    try {
      if (existsSync(staged)) unlinkSync(staged);
      link.pin(staged);
      try {
        const old = openPinnedLink(path);
        try {
          old.detach();
        } finally {
          old.close();
        }
      } catch {
        // A defunct link (its interface is gone) has nothing left to detach.
      }
      renameSync(staged, path);
    } catch (error) {
      if (existsSync(staged)) unlinkSync(staged);
      throw error;
    } finally {
      link.close();
    }
  }

  ifindex(hostInterface: string): number {
    return interfaceIndex(hostInterface, this.#options.netns);
  }

  pinnedLinks(): PinnedLink[] {
    return HOOKS.flatMap((hook) => {
      const folder = `${this.#links}/${hook}`;
      if (!existsSync(folder)) return [];
      return readdirSync(folder).map((hostInterface) => {
        let link: Link | undefined;
        try {
          link = openPinnedLink(`${folder}/${hostInterface}`);
          const info = link.info();
          return { hostInterface, hook, ifindex: info.ifindex || undefined, programId: info.programId };
        } catch {
          return { hostInterface, hook, ifindex: undefined };
        } finally {
          link?.close();
        }
      });
    });
  }

  attach(hostInterface: string, ifindex: number, hook: TcxHook): void {
    mkdirSync(`${this.#links}/${hook}`, { recursive: true });
    const path = `${this.#links}/${hook}/${hostInterface}`;
    if (existsSync(path)) this.detach(hostInterface, hook);
    let link: Link | undefined;
    try {
      link = attachTcx({ program: this.#collection.program(PROGRAMS[hook]), interface: ifindex, direction: hook, ...(this.#options.netns === undefined ? {} : { netns: this.#options.netns }) });
      link.pin(path);
    } catch (error) {
      throw new EbpfDataplaneError(EBPF_DATAPLANE_ERROR_CODE.ATTACH_FAILED, `attaching tcx ${hook} to ${hostInterface} (ifindex ${ifindex}): ${(error as Error).message}`, { cause: error });
    } finally {
      // The pin holds the attachment now (or, on failure, closing detaches it).
      link?.close();
    }
  }

  detach(hostInterface: string, hook: TcxHook): void {
    const path = `${this.#links}/${hook}/${hostInterface}`;
    if (!existsSync(path)) return;
    try {
      const link = openPinnedLink(path);
      try {
        link.detach();
      } catch {
        // A defunct link (its interface is gone) has nothing left to detach.
      } finally {
        link.close();
      }
    } finally {
      unlinkSync(path);
    }
  }

  setFlowEvents(on: boolean): void {
    const config = this.#collection.map('tw_config', { key: u32, value: CONFIG_VALUE });
    config.update(0, { flags: on ? CONFIG_FLOW_EVENTS : 0 });
  }

  setL7Marks(value: L7Value): void {
    if (this.#collection.maps.tw_l7 === undefined) {
      // An object older than tw_l7 has no `proxy` verdict either: nothing to configure.
      if (value.count === 0) return;
      throw new EbpfDataplaneError(EBPF_DATAPLANE_ERROR_CODE.LOAD_FAILED, `the object ${this.#options.objectPath} has no tw_l7 map for the L7 proxy's marks: run \`npm run build:bpf\` in apps/agent`);
    }
    const l7 = this.#collection.map('tw_l7', { key: u32, value: L7_VALUE });
    l7.update(0, value);
  }

  openFlowRing(): FlowRingPort {
    const events = this.#collection.maps.tw_events;
    const lostPin = this.#collection.pins.tw_lost;
    if (events === undefined || lostPin === undefined) throw new EbpfDataplaneError(EBPF_DATAPLANE_ERROR_CODE.LOAD_FAILED, 'the object has no tw_events or no pinned tw_lost map');
    const counter = openPinnedPerCpuMap(lostPin, { key: u32, value: u64 });
    let memory: ReturnType<typeof mapFlowRing>;
    try {
      memory = mapFlowRing(events.fd, events.info().maxEntries);
    } catch (error) {
      counter.close();
      throw error;
    }
    const fd = events.fd;
    return {
      memory,
      watch: (onReady) => watchFlowRing(fd, onReady),
      lost: () => {
        let sum = 0n;
        for (const count of counter.lookup(0) ?? []) sum += count;
        return Number(sum);
      },
      close: () => {
        memory.unmap();
        counter.close();
      },
    };
  }

  pins(): string[] {
    if (!existsSync(this.#options.pinRoot)) return [];
    const links = HOOKS.flatMap((hook) => (existsSync(`${this.#links}/${hook}`) ? readdirSync(`${this.#links}/${hook}`).map((n) => `links/${hook}/${n}`) : []));
    return [...readdirSync(this.#options.pinRoot).filter((n) => n !== 'links'), ...links].sort();
  }

  removeAll(): void {
    for (const link of this.pinnedLinks()) this.detach(link.hostInterface, link.hook);
    // Also removes the staged pins of replacing maps not put in place.
    this.#collection.close();
    for (const hook of HOOKS) if (existsSync(`${this.#links}/${hook}`)) rmdirSync(`${this.#links}/${hook}`);
    if (existsSync(this.#links)) rmdirSync(this.#links);
    // Only this object's maps: the pin root may hold other programs' pins.
    for (const path of Object.values(this.#collection.pins)) if (existsSync(path)) unlinkSync(path);
    if (existsSync(this.#options.pinRoot) && readdirSync(this.#options.pinRoot).length === 0) rmdirSync(this.#options.pinRoot);
  }

  close(): void {
    this.#collection.close();
  }
}

/** Differences that leave the entries' bytes meaning the same: a copy keeps them. */
const COPYABLE_DIFFERENCES = new Set(['max entries', 'flags']);

/** What becomes of a replaced map's entries (see {@link ReplacedMapState}), from the fields that differ. */
function replacedState(name: string, fields: readonly string[]): ReplacedMapState {
  if (REFILLED.has(name)) return 'refilled';
  if (DISCARDED.has(name)) return 'discarded';
  return fields.every((f) => COPYABLE_DIFFERENCES.has(f)) ? 'copied' : 'emptied';
}
