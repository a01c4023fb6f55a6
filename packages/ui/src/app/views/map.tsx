// The service map: namespace boxes, apps, pods (circles), and an edge for each pair that
// flows were observed between, red while any kept flow on it was denied, green otherwise.
// The pods' layer is drawn again only when the endpoints change; edges follow the flows.
import { Component } from 'preact';
import { useMemo, useState } from 'preact/hooks';

import { edgeVerdict, type FlowStore } from '../model/flow-store.js';
import { MAX_DRAWN_EDGES } from '../limits.js';
import { layoutMap, LAYOUT, type MapLayout } from '../model/layout.js';
import { type UiEndpoint } from '../model/types.js';

interface Props {
  readonly endpoints: readonly UiEndpoint[];
  readonly store: FlowStore;
  readonly version: number;
}

// The namespace boxes and pods: the expensive part, kept while the layout is the same.
class PodLayer extends Component<{ layout: MapLayout }> {
  override shouldComponentUpdate(next: { layout: MapLayout }): boolean {
    return next.layout !== this.props.layout;
  }

  override render() {
    const { layout } = this.props;
    return (
      <g>
        {layout.groups.map((g) => (
          <g class="ns" key={`ns:${g.namespace}`} data-namespace={g.namespace}>
            <rect x={g.x} y={g.y} width={g.width} height={g.height} rx={6} />
            <text class="ns-title" x={g.x + LAYOUT.padding} y={g.y + 15}>
              {g.namespace === '' ? 'external' : g.namespace}
            </text>
            {g.apps.map((a) => (
              <text key={a.app} x={a.x} y={a.y}>
                {a.app} ({a.pods})
              </text>
            ))}
          </g>
        ))}
        {layout.nodes.map((n) => (
          <circle class="pod" key={n.key} cx={n.x} cy={n.y} r={LAYOUT.radius} data-pod={n.key}>
            <title>{n.label}</title>
          </circle>
        ))}
      </g>
    );
  }
}

/** The service map view. */
export function MapView({ endpoints, store, version }: Props) {
  const layout = useMemo(() => layoutMap(endpoints), [endpoints]);
  const [deniedOnly, setDeniedOnly] = useState(false);
  const edges = useMemo(() => store.edges(), [store, version]);
  const shown = useMemo(() => {
    const candidates = deniedOnly ? edges.filter((e) => e.denied > 0) : edges;
    if (candidates.length <= MAX_DRAWN_EDGES) return candidates;
    return [...candidates].sort((a, b) => Number(b.denied > 0) - Number(a.denied > 0) || b.lastMs - a.lastMs).slice(0, MAX_DRAWN_EDGES);
  }, [edges, deniedOnly]);
  const denied = edges.filter((e) => e.denied > 0).length;
  return (
    <section aria-label="Service map">
      <div class="toolbar">
        <label style="flex-direction: row; gap: 6px; align-items: center">
          <input type="checkbox" checked={deniedOnly} onChange={(e) => setDeniedOnly((e.currentTarget as HTMLInputElement).checked)} />
          Show denied edges only
        </label>
        <span class="legend" aria-label="Legend">
          <span class="allow">— allowed</span>
          <span class="deny">— denied</span>
        </span>
        <span role="status">
          {endpoints.length} pods, {edges.length} edges ({denied} with denied flows){shown.length < (deniedOnly ? denied : edges.length) ? `; drawing ${shown.length}: denied first, then the newest` : ''}
        </span>
      </div>
      <div class="map">
        <svg role="img" aria-label={`Service map of ${endpoints.length} pods`} width={layout.width} height={layout.height} viewBox={`0 0 ${layout.width} ${layout.height}`}>
          <PodLayer layout={layout} />
          <g>
            {shown.map((edge) => {
              const a = layout.positions.get(edge.from);
              const b = layout.positions.get(edge.to);
              if (a === undefined || b === undefined) return null;
              const verdict = edgeVerdict(edge);
              return (
                <line
                  key={edge.key}
                  class={`edge edge-${verdict}`}
                  data-from={edge.from}
                  data-to={edge.to}
                  data-verdict={verdict}
                  x1={a.x}
                  y1={a.y}
                  x2={b.x}
                  y2={b.y}
                  stroke-width={Math.min(6, 1.5 + Math.log2(1 + edge.forwarded + edge.denied) / 2)}
                >
                  <title>{`${edge.from} → ${edge.to}: ${edge.forwarded} allowed, ${edge.denied} denied`}</title>
                </line>
              );
            })}
          </g>
        </svg>
      </div>
    </section>
  );
}
