// list: selectors, the resourceVersion / resourceVersionMatch semantics of the API concepts
// ("Semantics for get and list"), and limit/continue pagination over a consistent snapshot.

import { type Operations, type Target } from './operations.js';
import { groupVersion, type KubeObject, type ResourceType, typeKey } from './resources.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { badRequest, expired, expiredContinue, tooLargeResourceVersion } from './status.js';

/** Whether an object is in a list or watch: its namespace and the label and field selectors. */
export type ObjectFilter = (object: KubeObject) => boolean;

/** The filter of a list or watch request; an unparsable or unsupported selector is 400. */
export function buildFilter(type: ResourceType, namespace: string | undefined, params: URLSearchParams): { filter: ObjectFilter; selective: boolean } {
  const labels = parseLabelSelector(params.get('labelSelector') ?? '');
  const fields = parseFieldSelector(params.get('fieldSelector') ?? '');
  const readers: Record<string, (o: KubeObject) => string> = {
    'metadata.name': (o) => o.metadata.name ?? '',
    ...(type.namespaced ? { 'metadata.namespace': (o: KubeObject) => o.metadata.namespace ?? '' } : {}),
    ...type.fieldSelectors,
  };
  for (const f of fields) {
    if (readers[f.field] === undefined) throw badRequest(`field label not supported: ${f.field}`);
  }
  const filter: ObjectFilter = (o) =>
    (namespace === undefined || o.metadata.namespace === namespace) &&
    matchesLabels(labels, o.metadata.labels) &&
    matchesFields(fields, (field) => readers[field]!(o));
  return { filter, selective: labels.length > 0 || fields.length > 0 };
}

/** Parses a resourceVersion parameter: undefined for "" (most recent), a number otherwise. */
export function parseResourceVersion(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw badRequest(`invalid resource version: ${JSON.stringify(value)}`);
  return Number(value);
}

interface ContinueToken {
  readonly v: string;
  readonly rv: number;
  readonly start: string;
}

/** `rv` -1 continues from the latest state (the token a 410 offers, as etcd3's store does). */
function encodeContinue(rv: number, lastKey: string): string {
  const token: ContinueToken = { v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(value: string): ContinueToken {
  try {
    const token = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as ContinueToken;
    if (token.v !== 'meta.k8s.io/v1' || !Number.isInteger(token.rv) || token.rv < -1 || typeof token.start !== 'string') throw new Error('bad');
    return token;
  } catch {
    throw badRequest(`continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)`);
  }
}

const continueTooOld =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** GET on a collection: the `<Kind>List` the API server answers with. */
export function listObjects(ops: Operations, target: Target, params: URLSearchParams): Record<string, unknown> {
  const t = target.type;
  const store = ops.store;
  const { filter, selective } = buildFilter(t, target.namespace, params);
  const limitParam = params.get('limit');
  const limit = limitParam === null || limitParam === '' ? 0 : Number(limitParam);
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${JSON.stringify(limitParam)}`);
  const rvParam = params.get('resourceVersion');
  const match = params.get('resourceVersionMatch') ?? '';
  const cont = params.get('continue') ?? '';
  let snapshotRv = store.revision;
  let start = '';
  if (cont !== '') {
    if (rvParam !== null && rvParam !== '') throw badRequest('specifying resource version is not allowed when using continue');
    const token = decodeContinue(cont);
    start = token.start;
    if (token.rv === -1) {
      snapshotRv = store.revision;
    } else {
      if (token.rv < store.compactedRevision) {
        throw expiredContinue(continueTooOld, Buffer.from(JSON.stringify({ ...token, rv: -1 })).toString('base64url'));
      }
      snapshotRv = token.rv;
    }
  } else {
    const rv = parseResourceVersion(rvParam);
    if (match !== '' && match !== 'Exact' && match !== 'NotOlderThan') {
      throw badRequest(`resourceVersionMatch: Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan"`);
    }
    if (match !== '' && rv === undefined) throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
    // "0" is "any": the server answers from its cache, the most recent state here.
    if (rv !== undefined && rv !== 0) {
      if (rv > store.revision) throw tooLargeResourceVersion(rv, store.revision);
      // Exact when asked, and (legacy) when paginating with a resourceVersion.
      if (match === 'Exact' || (match === '' && limit > 0)) {
        if (rv < store.compactedRevision) throw expired(`too old resource version: ${rv} (${store.compactedRevision})`);
        snapshotRv = rv;
      }
    }
  }
  const all = snapshotRv === store.revision ? store.current(typeKey(t)) : store.snapshot(typeKey(t), snapshotRv);
  const items: KubeObject[] = [];
  let next: string | undefined;
  let remaining = 0;
  for (let i = 0; i < all.length; i++) {
    const [key, object] = all[i]!;
    if (start !== '' && key < start) continue;
    if (!filter(object)) continue;
    if (limit > 0 && items.length === limit) {
      next = encodeContinue(snapshotRv, all[i - 1]![0]);
      remaining = all.length - i;
      break;
    }
    items.push(object);
  }
  // Typed (built-in) lists carry no apiVersion/kind on their items; unstructured ones do.
  const presented = items.map((o) => {
    const out = ops.present(t, target.version, o);
    if (t.builtIn) {
      const { apiVersion: _a, kind: _k, ...rest } = out;
      return rest;
    }
    return out;
  });
  return {
    kind: t.listKind,
    apiVersion: groupVersion(t.group, target.version),
    metadata: {
      resourceVersion: String(snapshotRv),
      ...(next === undefined ? {} : { continue: next, ...(selective ? {} : { remainingItemCount: remaining }) }),
    },
    items: presented,
  };
}
