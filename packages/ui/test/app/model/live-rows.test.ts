import { describe, expect, it } from 'vitest';

import { FlowStore } from '../../../src/app/model/flow-store.js';
import { LiveRows } from '../../../src/app/model/live-rows.js';
import { type UiFlow } from '../../../src/app/model/types.js';
import { flow } from './fixtures.js';

const ids = (rows: readonly UiFlow[]) => rows.map((f) => f.id);

describe('LiveRows (the flows table while following live)', () => {
  it('shows the newest flows the filter accepts, as a fresh scan of the store would, after every batch', () => {
    const store = new FlowStore(50);
    const denied = (f: UiFlow) => f.verdict === 'DROPPED';
    const rows = new LiveRows(3, denied);
    let n = 0;
    for (let batch = 0; batch < 40; batch++) {
      store.add(Array.from({ length: batch % 7 }, () => flow({ id: `f${++n}`, verdict: n % 3 === 0 ? 'DROPPED' : 'FORWARDED' })));
      expect(ids(rows.update(store)), `after batch ${batch}`).toEqual(ids(store.newest(3, denied)));
    }
    expect(ids(rows.update(store))).toEqual(['f114', 'f111', 'f108']);
  });

  it('drops rows whose flows the store forgot, though no new flow matched', () => {
    const store = new FlowStore(4);
    const rare = (f: UiFlow) => f.id === 'rare';
    const rows = new LiveRows(10, rare);
    store.add([flow({ id: 'rare' }), flow()]);
    expect(ids(rows.update(store))).toEqual(['rare']);
    store.add([flow(), flow(), flow()]);
    expect(ids(rows.update(store))).toEqual([]);
  });

  it('answers the same array while nothing it shows changed (the table is not drawn again)', () => {
    const store = new FlowStore(10);
    const rows = new LiveRows(2, (f) => f.verdict === 'DROPPED');
    store.add([flow({ verdict: 'DROPPED' })]);
    const first = rows.update(store);
    store.add([flow(), flow()]);
    expect(rows.update(store)).toBe(first);
    expect(rows.update(store)).toBe(first);
  });

  it('reads only the flows added since the last update', () => {
    const store = new FlowStore(5000);
    store.add(Array.from({ length: 5000 }, () => flow()));
    let reads = 0;
    const rows = new LiveRows(100, () => (reads++, false));
    rows.update(store);
    expect(reads).toBe(5000);
    store.add(Array.from({ length: 40 }, () => flow()));
    reads = 0;
    rows.update(store);
    expect(reads).toBe(40);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new LiveRows(0, () => true)).toThrow('limit must be a positive integer (got 0)');
  });
});
