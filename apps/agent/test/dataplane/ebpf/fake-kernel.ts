// A kernel port held in memory for the driver's unit tests: maps as JS maps, links as
// records with the id of the program they run, and a log of the calls whose order matters.

import { type BpfMap } from '@twill/ebpf';

import { decodePolicyEntry, type IpKey, type L7Value, type PolicyKey, type PolicyValue } from '../../../src/dataplane/ebpf/layout.js';
import { type EbpfKernelPort, type MapAdoption, type PinnedLink, type TcxHook, type UpgradeLink, type UpgradeResult } from '../../../src/dataplane/ebpf/sys/kernel.js';
import { FakeRing } from './fake-ring.js';

/** A map in memory, keyed by the JSON of its key, with the calls the driver makes. */
export class FakeMap<K, V> {
  readonly data = new Map<string, [K, V]>();
  writes = 0;
  *entries(): Generator<[K, V]> {
    yield* this.data.values();
  }
  updateBatch(entries: readonly (readonly [K, V])[]): number {
    for (const [k, v] of entries) this.data.set(JSON.stringify(k), [k, v]);
    this.writes += entries.length;
    return entries.length;
  }
  deleteBatch(keys: readonly K[]): number {
    for (const k of keys) this.data.delete(JSON.stringify(k));
    this.writes += keys.length;
    return keys.length;
  }
}

export class FakeKernel implements EbpfKernelPort {
  readonly policyMap = new FakeMap<PolicyKey, PolicyValue>();
  readonly ipcacheMap = new FakeMap<IpKey, number>();
  readonly policy = this.policyMap as unknown as BpfMap<PolicyKey, PolicyValue>;
  readonly ipcache = this.ipcacheMap as unknown as BpfMap<IpKey, number>;
  readonly links = new Map<string, PinnedLink>();
  readonly log: string[] = [];
  readonly ifindexes = new Map([['vb', 12], ['va', 11], ['vc', 13]]);

  ifindex(name: string): number {
    return this.ifindexes.get(name) ?? 99;
  }
  pinnedLinks(): PinnedLink[] {
    return [...this.links.values()];
  }
  attach(hostInterface: string, ifindex: number, hook: TcxHook): void {
    // The order of writes matters: entries first, then the link.
    this.log.push(`attach ${hostInterface} ${hook} with ${this.entriesOf(ifindex)} entries`);
    this.links.set(`${hostInterface}/${hook}`, { hostInterface, hook, ifindex, programId: this.programId(hook) });
  }
  /** What the load did with each map; a test sets it before the driver starts. */
  maps: MapAdoption[] = [];
  /** This load's programs: a test bumps it to play a new agent version. */
  generation = 1;
  programId(hook: TcxHook): number {
    return this.generation * 10 + (hook === 'ingress' ? 1 : 2);
  }
  /** Links the kernel refuses to move (BPF_LINK_UPDATE), as `interface.hook`: completeUpgrade replaces them. */
  readonly stuck = new Set<string>();
  /** Links that can be neither moved nor replaced, as `interface.hook`. */
  readonly unmovable = new Set<string>();
  /** Whether completeUpgrade has put the new maps' pins in place. */
  committed = false;
  completeUpgrade(links: readonly UpgradeLink[]): UpgradeResult {
    this.log.push(`upgrade ${links.map((l) => `${l.hostInterface}.${l.hook}`).join(' ')} with ${this.policyMap.data.size} entries`);
    const updated: string[] = [];
    const replaced: string[] = [];
    const stuck: string[] = [];
    const failures: string[] = [];
    for (const { hostInterface, hook, ifindex } of links) {
      const name = `${hostInterface}.${hook}`;
      const link = this.links.get(`${hostInterface}/${hook}`);
      if (link === undefined || this.unmovable.has(name)) {
        stuck.push(name);
        failures.push(`tcx ${hook} link on ${hostInterface} keeps its old program: stuck`);
        continue;
      }
      this.links.set(`${hostInterface}/${hook}`, { ...link, ifindex, programId: this.programId(hook) });
      updated.push(name);
      if (this.stuck.has(name)) replaced.push(name);
    }
    const copied = Object.fromEntries(this.maps.filter((m) => m.state === 'copied').map((m) => [m.name, { copied: 3, dropped: 0 }]));
    this.committed = stuck.length === 0;
    return { updated, replaced, stuck, committed: this.committed, copied, failures };
  }
  detach(hostInterface: string, hook: TcxHook): void {
    this.log.push(`detach ${hostInterface} ${hook}`);
    this.links.delete(`${hostInterface}/${hook}`);
  }
  /** The last tw_l7 value written. */
  l7Marks: L7Value | undefined;
  setL7Marks(value: L7Value): void {
    this.l7Marks = value;
  }

  flowEvents: boolean | undefined;
  setFlowEvents(on: boolean): void {
    this.flowEvents = on;
  }
  ring: FakeRing | undefined;
  openFlowRing(): FakeRing {
    this.ring = new FakeRing();
    return this.ring;
  }
  pins(): string[] {
    return [];
  }
  removeAll(): void {
    this.links.clear();
    this.policyMap.data.clear();
    this.ipcacheMap.data.clear();
  }
  close(): void {}
  entriesOf(ifindex: number): number {
    return [...this.policyMap.entries()].filter(([k, v]) => decodePolicyEntry(k, v).ifindex === ifindex).length;
  }
}
