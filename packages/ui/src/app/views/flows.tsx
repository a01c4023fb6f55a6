// The flows view: `twill observe`'s filters over the flows the page keeps, newest first,
// following live (or paused: the table stays while flows keep coming in).
import { useMemo, useState } from 'preact/hooks';

import { ROWS } from '../limits.js';
import { compileFlowFilter, FLOW_PROTOCOLS, FLOW_VERDICTS, NO_FILTER, type FlowFilterInput } from '../model/filters.js';
import { type FlowStore } from '../model/flow-store.js';
import { type UiFlow } from '../model/types.js';

interface Props {
  readonly store: FlowStore;
  readonly version: number;
}

const port = (p: number | undefined): string => (p === undefined ? '' : `:${p}`);

/** The flows view. */
export function FlowsView({ store, version }: Props) {
  const [filter, setFilter] = useState<FlowFilterInput>(NO_FILTER);
  const [paused, setPaused] = useState<UiFlow[] | undefined>(undefined);
  const compiled = useMemo(() => compileFlowFilter(filter), [filter]);
  const rows = useMemo(() => paused ?? (compiled.ok ? store.newest(ROWS, compiled.matches) : []), [compiled, store, version, paused]);
  const set = (field: keyof FlowFilterInput) => (event: Event) => {
    setPaused(undefined);
    setFilter({ ...filter, [field]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  };
  return (
    <section aria-label="Flows">
      <form class="toolbar" role="search" aria-label="Flow filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Verdict
          <select value={filter.verdict} onChange={set('verdict')}>
            <option value="">any</option>
            {FLOW_VERDICTS.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label>
          From pod
          <input type="text" placeholder="namespace/pod" value={filter.fromPod} onInput={set('fromPod')} />
        </label>
        <label>
          To pod
          <input type="text" placeholder="namespace/pod" value={filter.toPod} onInput={set('toPod')} />
        </label>
        <label>
          Port
          <input type="text" inputMode="numeric" size={6} value={filter.port} onInput={set('port')} />
        </label>
        <label>
          Protocol
          <select value={filter.protocol} onChange={set('protocol')}>
            <option value="">any</option>
            {FLOW_PROTOCOLS.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
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
      <table class="fixed" aria-label="Flows, newest first">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">From</th>
            <th scope="col">To</th>
            <th scope="col">Protocol</th>
            <th scope="col">Verdict</th>
            <th scope="col">Decided by</th>
          </tr>
        </thead>
        <tbody>
          {/* Keyed by position: new flows change the rows' text in place instead of moving every row. */}
          {rows.map((f, i) => (
            <tr key={i} data-flow={f.id}>
              <td>{new Date(f.timeMs).toISOString().slice(11, 23)}</td>
              <td>{`${f.from.label}${port(f.sourcePort)}`}</td>
              <td>{`${f.to.label}${port(f.destinationPort)}`}</td>
              <td>{f.protocol}</td>
              <td class={`verdict-${f.verdict}`}>
                {f.verdict}
                {f.reply ? ' (reply)' : ''}
                {f.dropReason === undefined ? '' : ` ${f.dropReason}`}
              </td>
              <td class="wrap">{f.decidedBy ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p role="status">
        {rows.length} shown of {store.size} kept{paused === undefined ? ', following live' : ', paused'}
      </p>
    </section>
  );
}
