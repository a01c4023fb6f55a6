// The agent's UI API, from the page: JSON over fetch (same origin, relative URLs) and the
// live flows over Server-Sent Events. Errors carry the agent's message.
import { type UiFlow } from './model/types.js';

/**
 * GETs a document from the agent (`path` relative to the page, like `api/ui/endpoints`), as text.
 * @throws {Error} for an answer that was not 2xx, with the agent's message when it sent one.
 */
export async function getText(path: string): Promise<string> {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
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
  const source = new EventSource(path);
  source.addEventListener('open', () => handlers.state('open'));
  source.addEventListener('error', () => handlers.state(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
  source.addEventListener('flows', (event) => handlers.flows(JSON.parse((event as MessageEvent<string>).data) as UiFlow[]));
  source.addEventListener('lost', (event) => handlers.lost((JSON.parse((event as MessageEvent<string>).data) as { count: number }).count));
  return () => source.close();
}
