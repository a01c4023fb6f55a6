// The dashboard's shell: the view tabs (a WAI-ARIA tab list: Tab reaches it, arrow keys
// move between tabs, Enter or Space opens one; Alt+1..5 open a view from anywhere), the
// live connection's state, and the flows every view shares (one stream, one bounded store).
import { useEffect, useRef, useState } from 'preact/hooks';

import { followFlows, getText } from './api.js';
import { RENDER_MS } from './limits.js';
import { FlowStore } from './model/flow-store.js';
import { type UiEndpoint } from './model/types.js';
import { BgpView } from './views/bgp.js';
import { FlowsView } from './views/flows.js';
import { IpamView } from './views/ipam.js';
import { MapView } from './views/map.js';
import { PolicyView } from './views/policy.js';

/** The views, in tab order. */
export const VIEWS = [
  { id: 'map', title: 'Service map' },
  { id: 'flows', title: 'Flows' },
  { id: 'policy', title: 'Policy' },
  { id: 'bgp', title: 'BGP' },
  { id: 'ipam', title: 'IPAM' },
] as const;

type ViewId = (typeof VIEWS)[number]['id'];

/** How many flows the page keeps (older ones are forgotten). */
const FLOW_CAPACITY = 5000;

function initialView(): ViewId {
  const hash = location.hash.replace(/^#/u, '');
  return (VIEWS.find((v) => v.id === hash)?.id ?? 'map') as ViewId;
}

/** The dashboard. */
export function App() {
  const [view, setView] = useState<ViewId>(initialView);
  const [live, setLive] = useState('connecting');
  const [endpoints, setEndpoints] = useState<readonly UiEndpoint[]>([]);
  const [endpointError, setEndpointError] = useState<string | undefined>(undefined);
  const store = useRef(new FlowStore(FLOW_CAPACITY)).current;
  // Re-rendered at most every RENDER_MS, in an animation frame, however fast flows come.
  const [version, setVersion] = useState(0);
  const frame = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);

  useEffect(() => {
    const schedule = (): void => {
      if (frame.current !== undefined) return;
      frame.current = setTimeout(() => {
        requestAnimationFrame(() => {
          frame.current = undefined;
          setVersion(store.version);
        });
      }, RENDER_MS);
    };
    const close = followFlows({
      flows: (flows) => {
        store.add(flows);
        schedule();
      },
      lost: (count) => {
        store.addLost(count);
        schedule();
      },
      state: (state) => setLive(state),
    });
    return close;
  }, [store]);

  useEffect(() => {
    let stopped = false;
    // The map is laid out again only when the endpoints changed.
    let last = '';
    const load = (): void => {
      getText('api/ui/endpoints')
        .then((text) => {
          if (stopped) return;
          // The same answer as last time is not parsed again.
          if (text !== last) setEndpoints((JSON.parse(text) as { items: UiEndpoint[] }).items);
          last = text;
          setEndpointError(undefined);
        })
        .catch((error: unknown) => !stopped && setEndpointError(error instanceof Error ? error.message : String(error)));
    };
    load();
    // Pods come and go: the map's endpoints are read again every 5 s.
    const timer = setInterval(load, 5000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  const open = (id: ViewId, focus = false): void => {
    setView(id);
    history.replaceState(null, '', `#${id}`);
    if (focus) tabs.current[VIEWS.findIndex((v) => v.id === id)]?.focus();
  };

  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      if (!event.altKey || event.ctrlKey || event.metaKey) return;
      const index = Number(event.key) - 1;
      const target = VIEWS[index];
      if (target === undefined) return;
      event.preventDefault();
      open(target.id, true);
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  const onTabKey = (event: KeyboardEvent, index: number): void => {
    const move = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : event.key === 'Home' ? -index : event.key === 'End' ? VIEWS.length - 1 - index : 0;
    if (move === 0) return;
    event.preventDefault();
    const next = VIEWS[(index + move + VIEWS.length) % VIEWS.length]!;
    open(next.id, true);
  };

  return (
    <>
      <header>
        <h1>Twill</h1>
        <nav role="tablist" aria-label="Views">
          {VIEWS.map((v, i) => (
            <button
              key={v.id}
              ref={(el) => void (tabs.current[i] = el)}
              role="tab"
              id={`tab-${v.id}`}
              aria-selected={view === v.id}
              aria-controls={`panel-${v.id}`}
              tabIndex={view === v.id ? 0 : -1}
              title={`${v.title} (Alt+${i + 1})`}
              onClick={() => open(v.id)}
              onKeyDown={(event) => onTabKey(event, i)}
            >
              {v.title}
            </button>
          ))}
        </nav>
        <span class="status" role="status" aria-live="polite">
          live: {live} · {store.received} flows received{store.lost > 0 ? ` · ${store.lost} lost` : ''}
        </span>
      </header>
      <main>
        <div id={`panel-${view}`} role="tabpanel" aria-labelledby={`tab-${view}`}>
        {endpointError === undefined ? null : <p class="error" role="alert">Endpoints: {endpointError}</p>}
        {view === 'map' ? <MapView endpoints={endpoints} store={store} version={version} /> : null}
        {view === 'flows' ? <FlowsView store={store} version={version} /> : null}
        {view === 'policy' ? <PolicyView endpoints={endpoints} /> : null}
        {view === 'bgp' ? <BgpView /> : null}
        {view === 'ipam' ? <IpamView /> : null}
        </div>
      </main>
    </>
  );
}
