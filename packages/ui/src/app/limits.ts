// How much the dashboard draws and how often: what keeps the page responsive with a
// thousand pods and thousands of flows a minute. The benchmark reports against these.

/** The live views are drawn again at most this often (ms): a person reads no faster, the page stays responsive. */
export const RENDER_MS = 250;

/** Rows the flows table shows at most. */
export const ROWS = 100;

/** Edges the service map draws at most (denied ones first, then the most recent). */
export const MAX_DRAWN_EDGES = 600;

/** The flows table's row height (px): rows are one line, so only those in view are built (see model/window.ts). */
export const ROW_HEIGHT_PX = 28;

/** Rows built beyond each edge of the flows table's view, so a scroll shows no gap before the next draw. */
export const OVERSCAN_ROWS = 5;
