// The agent's UI API, from the page: JSON over fetch (same origin, relative URLs) and the
// live flows over Server-Sent Events. Errors carry the agent's message. Each carries the
// token of the agent's start, which the URL `twill ui` opens has in its fragment
// (`#token=...`): the fetches as `Authorization: Bearer`, the stream (EventSource sets no
// header) as `?token=` on its own same-origin URL. Not a cookie: cookies ignore the port,
// so every dashboard on 127.0.0.1 (a lab's forwards, other local services) would share it.
import { type UiFlow } from './model/types.js';

// Where the token is kept for this tab, so a reload works once the address bar lost it.
const TOKEN_KEY = 'twill-ui-token';

let token: string | undefined;

/**
 * Takes the token out of the page's URL (`#token=...`, which a browser never sends to a
 * server nor in a Referer), keeps it for this tab (sessionStorage) and leaves the address
 * bar without it (the views use the fragment). Call once, before the first request.
 */
export function adoptToken(): void {
  const found = /^#token=([^&]*)$/u.exec(location.hash);
  try {
    if (found !== null) sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(found[1]!));
    token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    // Storage off (a locked-down browser): this load keeps it in memory only.
    token = found === null ? undefined : decodeURIComponent(found[1]!);
  }
  if (found !== null) history.replaceState(null, '', location.pathname + location.search);
}

/**
 * GETs a document from the agent (`path` relative to the page, like `api/ui/endpoints`), as text.
 * @throws {Error} for an answer that was not 2xx, with the agent's message when it sent one.
 */
export async function getText(path: string): Promise<string> {
  const response = await fetch(path, { headers: { accept: 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } });
  const text = await response.text();
  if (!response.ok) {
    // API.md's error body: {"error": {"code", "message"}}.
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const error = (body as { error?: { message?: unknown } } | undefined)?.error;
    throw new Error(typeof error?.message === 'string' ? error.message : `${response.status} ${response.statusText}`);
  }
  return text;
}

/** GETs a JSON document from the agent ({@link getText}, parsed; an empty body is undefined). */
export async function getJson<T>(path: string): Promise<T> {
  const text = await getText(path);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** What the live stream calls. */
export interface LiveHandlers {
  flows(flows: readonly UiFlow[]): void;
  lost(count: number): void;
  /** The connection state: `open`, `reconnecting`, or `closed` (the agent refused: too many viewers). */
  state(state: 'open' | 'reconnecting' | 'closed', detail?: string): void;
}

/** Follows the agent's flows (`api/ui/events`); the browser reconnects after a drop. Returns a close function. */
export function followFlows(handlers: LiveHandlers, path = 'api/ui/events'): () => void {
  const source = new EventSource(token === undefined ? path : `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`);
  source.addEventListener('open', () => handlers.state('open'));
  source.addEventListener('error', () => handlers.state(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
  source.addEventListener('flows', (event) => handlers.flows(JSON.parse((event as MessageEvent<string>).data) as UiFlow[]));
  source.addEventListener('lost', (event) => handlers.lost((JSON.parse((event as MessageEvent<string>).data) as { count: number }).count));
  return () => source.close();
}
