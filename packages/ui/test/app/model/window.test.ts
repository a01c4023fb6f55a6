import { describe, expect, it } from 'vitest';

import { rowWindow } from '../../../src/app/model/window.js';

describe('rowWindow (the flows table builds the rows in view)', () => {
  const at = (scrollTop: number, count = 100) => rowWindow({ count, rowHeight: 28, scrollTop, viewHeight: 280, overscan: 5 });

  it('builds the rows in view and a few more, padding for the others', () => {
    expect(at(0)).toEqual({ start: 0, end: 16, padTop: 0, padBottom: 84 * 28 });
    // Scrolled to row 50: rows 45 to 65.
    expect(at(50 * 28)).toEqual({ start: 45, end: 66, padTop: 45 * 28, padBottom: 34 * 28 });
    // The end: never past the last row.
    expect(at(99 * 28)).toEqual({ start: 94, end: 100, padTop: 94 * 28, padBottom: 0 });
  });

  it('builds every row of a short list, and none of an empty one', () => {
    expect(at(0, 3)).toEqual({ start: 0, end: 3, padTop: 0, padBottom: 0 });
    expect(at(0, 0)).toEqual({ start: 0, end: 0, padTop: 0, padBottom: 0 });
    // Scrolled beyond a list that became shorter (a filter): its end, nothing built past it.
    expect(at(5000, 10)).toEqual({ start: 10, end: 10, padTop: 280, padBottom: 0 });
    expect(at(-40)).toMatchObject({ start: 0 });
  });

  it('refuses a row height that is not positive', () => {
    expect(() => rowWindow({ count: 1, rowHeight: 0, scrollTop: 0, viewHeight: 1, overscan: 0 })).toThrow('rowHeight must be positive (got 0)');
  });
});
