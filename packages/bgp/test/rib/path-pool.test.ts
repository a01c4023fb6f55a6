// PathPool: one record per path and ADD-PATH identifiers in an array made when the first
// non-zero one arrives. Every field of every path reads back as written, through growth,
// the identifier array's creation, frees and reuse.
import { describe, expect, it } from 'vitest';

import { NO_PATH, PATH_FLAG, PathPool } from '../../src/rib/path.js';

interface Fields {
  peer: number;
  pathId: number;
  attrs: number;
  received: number;
  next: number;
  flags: number;
}

function read(pool: PathPool, p: number): Fields {
  return { peer: pool.peerOf(p), pathId: pool.pathIdOf(p), attrs: pool.attrsOf(p), received: pool.receivedOf(p), next: pool.nextOf(p), flags: pool.flagsOf(p) };
}

describe('PathPool', () => {
  it('reads back every field through growth, the first ADD-PATH identifier, frees and reuse', () => {
    const pool = new PathPool();
    const held = new Map<number, Fields>();
    const fields = (i: number): Fields => ({
      peer: i % 65_536,
      // No identifier for the first 3000 paths: the array is made at the first one.
      pathId: i < 3000 ? 0 : (i * 2_654_435_761) >>> 0,
      attrs: i * 3,
      received: i * 5 + 1,
      next: i % 7 === 0 ? NO_PATH : i - 1,
      flags: i & (PATH_FLAG.STALE | PATH_FLAG.BEST | PATH_FLAG.CHANGED | PATH_FLAG.GONE),
    });
    for (let i = 0; i < 5000; i += 1) {
      const f = fields(i);
      held.set(pool.add(f.peer, f.pathId, f.attrs, f.received, f.next, f.flags), f);
    }
    // Every third path freed, then as many added again into the freed indices.
    for (let p = 0; p < 5000; p += 3) {
      pool.free(p);
      held.delete(p);
    }
    for (let i = 5000; i < 6667; i += 1) {
      const f = fields(i);
      const p = pool.add(f.peer, f.pathId, f.attrs, f.received, f.next, f.flags);
      expect(held.has(p)).toBe(false);
      held.set(p, f);
    }
    expect(pool.capacity).toBeGreaterThanOrEqual(5000);
    const wrong = [...held].filter(([p, f]) => JSON.stringify(read(pool, p)) !== JSON.stringify(f));
    expect(wrong).toEqual([]);
  });

  it('sets and clears flags without touching the peer, and sets links and attribute slots', () => {
    const pool = new PathPool();
    const p = pool.add(65_535, 0, 10, 11, NO_PATH, PATH_FLAG.CHANGED);
    pool.mark(p, PATH_FLAG.BEST | PATH_FLAG.STALE);
    pool.unmark(p, PATH_FLAG.CHANGED);
    pool.setNext(p, 42);
    pool.setAttrs(p, 12, 13);
    expect(read(pool, p)).toEqual({ peer: 65_535, pathId: 0, attrs: 12, received: 13, next: 42, flags: PATH_FLAG.BEST | PATH_FLAG.STALE });
  });

  it('gives its identifier array back with its records, and reads 0 identifiers after', () => {
    const pool = new PathPool();
    pool.free(pool.add(1, 7, 0, 0, NO_PATH, 0));
    expect(pool.releaseStandby()).toBe(true);
    const p = pool.add(1, 0, 0, 0, NO_PATH, 0);
    expect(pool.pathIdOf(p)).toBe(0);
  });
});
