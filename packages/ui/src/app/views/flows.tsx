// The flows view: `twill observe`'s filters over the flows the page keeps, newest first,
// following live (or paused: the table stays while flows keep coming in). L7 flows show
// their request: `GET /api/v1/users → 200 (1.2 ms)`.
import { Component } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

import { OVERSCAN_ROWS, ROW_HEIGHT_PX, ROWS } from '../limits.js';
import { compileFlowFilter, FLOW_PROTOCOLS, FLOW_VERDICTS, HTTP_METHODS, isDenied, NO_FILTER, type FlowFilterInput } from '../model/filters.js';
import { type FlowStore } from '../model/flow-store.js';
import { describeRequest } from '../model/http.js';
import { LiveRows } from '../model/live-rows.js';
import { type UiFlow } from '../model/types.js';
import { rowWindow } from '../model/window.js';

interface Props {
  readonly store: FlowStore;
  /** The store's version: a new one draws the rows the new flows make. */
  readonly version: number;
}

const ROW_STYLE = { height: `${ROW_HEIGHT_PX}px` };

const port = (p: number | undefined): string => (p === undefined ? '' : `:${p}`);

// One row: drawn again only when its position holds another flow (a flow never changes).
class FlowRow extends Component<{ flow: UiFlow; index: number }> {
  override shouldComponentUpdate(next: { flow: UiFlow; index: number }): boolean {
    return next.flow !== this.props.flow || next.index !== this.props.index;
  }

  override render() {
    const f = this.props.flow;
    const request = describeRequest(f);
    return (
      <tr data-flow={f.id} aria-rowindex={this.props.index} style={ROW_STYLE}>
        <td>{new Date(f.timeMs).toISOString().slice(11, 23)}</td>
        <td title={f.from.label}>{`${f.from.label}${port(f.sourcePort)}`}</td>
        <td title={f.to.label}>{`${f.to.label}${port(f.destinationPort)}`}</td>
        <td>{f.l7?.http?.protocol ?? f.protocol}</td>
        <td title={request === undefined ? undefined : `${request.request} → ${request.outcome}`}>
          {request === undefined ? null : (
            <>
              {`${request.request} → `}
              <span class={isDenied(f.verdict) ? `verdict-${f.verdict}` : undefined}>{request.outcome}</span>
            </>
          )}
        </td>
        <td class={`verdict-${f.verdict}`} title={f.dropReason}>
          {f.verdict}
          {f.reply ? ' (reply)' : ''}
          {f.dropReason === undefined ? '' : ` ${f.dropReason}`}
        </td>
        <td title={f.decidedBy}>{f.decidedBy ?? ''}</td>
      </tr>
    );
  }
}

/** The flows view. */
export function FlowsView({ store }: Props) {
  const [filter, setFilter] = useState<FlowFilterInput>(NO_FILTER);
  const [paused, setPaused] = useState<readonly UiFlow[] | undefined>(undefined);
  const compiled = useMemo(() => compileFlowFilter(filter), [filter]);
  // A new filter starts a new scan; after that each draw reads only the flows added since.
  const live = useMemo(() => (compiled.ok ? new LiveRows(ROWS, compiled.matches) : undefined), [compiled]);
  const latest = useRef<readonly UiFlow[]>([]);
  if (paused === undefined) latest.current = live?.update(store) ?? [];
  const rows = paused ?? latest.current;
  // Only the rows in view are built (one line each; a cell's full text is its tooltip).
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 800 });
  useEffect(() => {
    const measure = (): void => setView((v) => ({ ...v, height: scroller.current?.clientHeight ?? v.height }));
    measure();
    addEventListener('resize', measure);
    return () => removeEventListener('resize', measure);
  }, []);
  const shown = rowWindow({ count: rows.length, rowHeight: ROW_HEIGHT_PX, scrollTop: view.top, viewHeight: view.height, overscan: OVERSCAN_ROWS });
  const set = (field: keyof FlowFilterInput) => (event: Event) => {
    setPaused(undefined);
    setFilter({ ...filter, [field]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  };
  const text = (field: keyof FlowFilterInput, label: string, more: { placeholder?: string; size?: number; inputMode?: 'numeric' } = {}) => (
    <label>
      {label}
      <input type="text" value={filter[field]} onInput={set(field)} {...more} />
    </label>
  );
  const choice = (field: keyof FlowFilterInput, label: string, options: readonly string[]) => (
    <label>
      {label}
      <select value={filter[field]} onChange={set(field)}>
        <option value="">any</option>
        {options.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <section aria-label="Flows">
      <form class="toolbar" role="search" aria-label="Flow filters" onSubmit={(e) => e.preventDefault()}>
        {choice('verdict', 'Verdict', FLOW_VERDICTS)}
        {text('fromPod', 'From pod', { placeholder: 'namespace/pod' })}
        {text('toPod', 'To pod', { placeholder: 'namespace/pod' })}
        {text('port', 'Port', { inputMode: 'numeric', size: 6 })}
        {choice('protocol', 'Protocol', FLOW_PROTOCOLS)}
        {choice('httpMethod', 'HTTP method', HTTP_METHODS)}
        {text('httpPath', 'HTTP path', { placeholder: 'regex: ^/api/', size: 14 })}
        {text('httpStatus', 'HTTP status', { placeholder: '404, 4+, 40+', size: 8 })}
        <button type="button" aria-pressed={paused !== undefined} onClick={() => setPaused(paused === undefined ? rows : undefined)}>
          {paused === undefined ? 'Pause' : 'Follow live'}
        </button>
        <button type="button" onClick={() => setFilter(NO_FILTER)}>
          Clear filters
        </button>
      </form>
      {compiled.ok ? null : (
        <p class="error" role="alert">
          {compiled.message}
        </p>
      )}
      <div class="flow-rows" ref={scroller} onScroll={(e) => setView({ top: (e.currentTarget as HTMLDivElement).scrollTop, height: (e.currentTarget as HTMLDivElement).clientHeight })}>
      <table class="flows" aria-label="Flows, newest first" aria-rowcount={rows.length + 1}>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">From</th>
            <th scope="col">To</th>
            <th scope="col">Protocol</th>
            <th scope="col">Request</th>
            <th scope="col">Verdict</th>
            <th scope="col">Decided by</th>
          </tr>
        </thead>
        <tbody style={{ paddingTop: `${shown.padTop}px`, paddingBottom: `${shown.padBottom}px` }}>
          {/* Keyed by position: new flows change the rows' text in place (measured cheaper than
              building the new rows' elements and dropping the oldest ones at every draw). */}
          {rows.slice(shown.start, shown.end).map((f, i) => (
            // The header is row 1.
            <FlowRow key={i} flow={f} index={shown.start + i + 2} />
          ))}
        </tbody>
      </table>
      </div>
      <p role="status">
        {rows.length} shown of {store.size} kept{paused === undefined ? ', following live' : ', paused'}
      </p>
    </section>
  );
}
