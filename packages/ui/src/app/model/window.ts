// Which of a list's rows are in view: the flows table builds only those (plus a few on
// each side) and stands in for the others with padding of their height, so a draw costs
// the rows a person can see, not all of them. Rows have one fixed height. Pure.

/** The rows to build: `start` (inclusive) to `end` (exclusive), and the padding in pixels for the rows left out above and below. */
export interface RowWindow {
  readonly start: number;
  readonly end: number;
  readonly padTop: number;
  readonly padBottom: number;
}

/**
 * The window of `count` rows of `rowHeight` px seen through a view `viewHeight` px high
 * scrolled to `scrollTop` px, with `overscan` more rows on each side.
 * @throws RangeError for a row height that is not positive
 */
export function rowWindow(options: { readonly count: number; readonly rowHeight: number; readonly scrollTop: number; readonly viewHeight: number; readonly overscan: number }): RowWindow {
  const { count, rowHeight, overscan } = options;
  if (!(rowHeight > 0)) throw new RangeError(`rowHeight must be positive (got ${rowHeight})`);
  const top = Math.max(0, options.scrollTop);
  const first = Math.floor(top / rowHeight);
  const visible = Math.ceil(Math.max(0, options.viewHeight) / rowHeight) + 1;
  const start = Math.min(count, Math.max(0, first - overscan));
  const end = Math.min(count, first + visible + overscan);
  return { start, end: Math.max(start, end), padTop: start * rowHeight, padBottom: (count - Math.max(start, end)) * rowHeight };
}
