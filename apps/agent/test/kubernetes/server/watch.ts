// watch: newline-delimited JSON events over a chunked response, as the API server's watch
// cache serves them: from a resourceVersion every later event in order (410 Expired as an
// ERROR event when it is compacted), without one the current objects as ADDED first;
// selectors turn objects that stop or start matching into DELETED / ADDED; BOOKMARKs
// when asked; timeoutSeconds ends the stream.

import { type IncomingMessage, type ServerResponse } from 'node:http';

import { buildFilter, parseResourceVersion } from './list.js';
import { type Operations, type Target } from './operations.js';
import { groupVersion, type KubeObject, typeKey } from './resources.js';
import { badRequest, expired } from './status.js';
import { type StoredEvent } from './store.js';

interface OpenWatch {
  readonly typeKey: string;
  /** Ends the response cleanly (the chunked body terminates). */
  end(): void;
  /** Destroys the connection under the response (no chunked terminator). */
  reset(): void;
}

/** How dropWatches ends the streams: a clean end of the response, or a reset connection. */
export type DropMode = 'end' | 'reset';

function booleanParam(params: URLSearchParams, name: string): boolean {
  const value = params.get(name);
  if (value === null || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw badRequest(`${name}: Invalid value: ${JSON.stringify(value)}: must be a boolean`);
}

/** The open watch streams of one server. */
export class WatchHub {
  readonly #open = new Set<OpenWatch>();

  constructor(
    private readonly ops: Operations,
    private readonly bookmarkMs: number,
  ) {}

  /** How many streams are open. */
  get size(): number {
    return this.#open.size;
  }

  /** Serves one watch request until the client goes, the timeout passes or the server ends it. */
  serve(target: Target, params: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
    const { filter } = buildFilter(target.type, target.namespace, params);
    const rv = parseResourceVersion(params.get('resourceVersion'));
    const bookmarks = booleanParam(params, 'allowWatchBookmarks');
    const sendInitialEvents = booleanParam(params, 'sendInitialEvents');
    const timeoutParam = params.get('timeoutSeconds');
    const timeoutSeconds = timeoutParam === null || timeoutParam === '' ? 0 : Number(timeoutParam);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 0) throw badRequest(`invalid timeoutSeconds: ${JSON.stringify(timeoutParam)}`);
    if (sendInitialEvents && (params.get('resourceVersionMatch') !== 'NotOlderThan' || !bookmarks)) {
      throw badRequest('sendInitialEvents requires resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true');
    }
    const store = this.ops.store;
    const key = typeKey(target.type);
    const present = (object: KubeObject): KubeObject => this.ops.present(target.type, target.version, object);

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const send = (type: string, object: unknown): void => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };

    let timers: NodeJS.Timeout[] = [];
    let unsubscribe = (): void => {};
    const open: OpenWatch = {
      typeKey: key,
      end: () => {
        cleanup();
        if (!res.writableEnded) res.end();
      },
      reset: () => {
        cleanup();
        res.socket?.destroy();
      },
    };
    const cleanup = (): void => {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      timers = [];
      this.#open.delete(open);
    };
    req.on('close', cleanup);
    res.on('close', cleanup);

    const deliver = (event: StoredEvent): void => {
      if (event.typeKey !== key) return;
      const now = event.type !== 'DELETED' && filter(event.object);
      const before = event.prev !== undefined && filter(event.prev);
      if (now && !before) send('ADDED', present(event.object));
      else if (now && before) send('MODIFIED', present(event.object));
      else if (!now && before) {
        // Stopped matching (or deleted): the previous content at this event's revision.
        const last = { ...event.prev!, metadata: { ...event.prev!.metadata, resourceVersion: String(event.rv) } };
        send('DELETED', present(last));
      }
    };

    if (rv === undefined || rv === 0 || sendInitialEvents) {
      // "Get State and Start at Most Recent" / "Start at Any": the current objects first.
      for (const [, object] of store.current(key)) if (filter(object)) send('ADDED', present(object));
      if (sendInitialEvents) {
        send('BOOKMARK', { kind: target.type.kind, apiVersion: groupVersion(target.type.group, target.version), metadata: { resourceVersion: String(store.revision), annotations: { 'k8s.io/initial-events-end': 'true' } } });
      }
    } else {
      if (rv < store.compactedRevision) {
        send('ERROR', expired(`too old resource version: ${rv} (${store.compactedRevision})`).status);
        res.end();
        return;
      }
      for (const event of store.eventsAfter(rv)) deliver(event);
    }
    unsubscribe = store.subscribe(deliver);
    this.#open.add(open);
    if (bookmarks) {
      // The bookmark's revision is the store's: every event up to it has been sent already.
      const bookmark = (): void => {
        send('BOOKMARK', { kind: target.type.kind, apiVersion: groupVersion(target.type.group, target.version), metadata: { resourceVersion: String(store.revision) } });
      };
      timers.push(setInterval(bookmark, this.bookmarkMs));
    }
    if (timeoutSeconds > 0) timers.push(setTimeout(() => open.end(), timeoutSeconds * 1000));
  }

  /** Ends every open stream (as when the API server restarts). */
  dropAll(mode: DropMode = 'end'): void {
    for (const w of [...this.#open]) {
      if (mode === 'reset') w.reset();
      else w.end();
    }
  }

  /** Ends the streams on one type (its CRD deleted or a version no longer served). */
  endType(key: string): void {
    for (const w of [...this.#open]) if (w.typeKey === key) w.end();
  }
}
