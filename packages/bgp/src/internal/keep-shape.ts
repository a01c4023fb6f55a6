// Hidden classes of short-lived objects, kept across garbage collections.
//
// V8 gives the objects of a class a hidden class (a map) built by adding their fields
// one at a time. A map that no live object has is dropped at the next full GC, and with
// it the optimized code of every function that checked for it (`--trace-deopt`:
// "marking dependent code ... for deoptimization, reason: weak objects"). Objects that
// live only through one call or one flush (NLRI walkers, FIB batch entries, a flush's
// export state), and the attribute sets of a table that was withdrawn, have no instance
// left between two tables: a full GC there (an idle agent's memory reducer, a heap
// snapshot, `gc()`) sends the next table through the interpreter again while the code
// is optimized anew, about twice the CPU for 100k routes (bench/bgp-speaker-cpu.ts with
// BGP_GC=1). One instance of each such class, kept here for the life of the process,
// keeps its map and the code built on it.

const kept: unknown[] = [];

/** Keeps `sample` alive for good, so that its hidden class outlives the class's other instances; returns it. */
export function keepShape<T>(sample: T): T {
  kept.push(sample);
  return sample;
}

/**
 * The last few objects given to {@link RecentShapes.keep}, kept alive: for objects whose
 * hidden class follows from their keys (attribute objects: spreads of what an UPDATE
 * carried, and the attribute sets built on them), where no one sample stands for all.
 * The last of them to go when a table is withdrawn have the shapes the next table most
 * likely brings; keeping them costs a store per object, where finding each new shape
 * would cost a list of its keys.
 */
export class RecentShapes {
  private readonly ring: unknown[];
  private next = 0;

  constructor(size: number) {
    this.ring = new Array<unknown>(size).fill(undefined);
  }

  /** Keeps `sample` until `size` later samples have replaced it. */
  keep(sample: object): void {
    this.ring[this.next] = sample;
    this.next = this.next + 1 === this.ring.length ? 0 : this.next + 1;
  }
}
