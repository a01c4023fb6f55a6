// HTTP routing: resource paths (/api/v1/..., /apis/<group>/<version>/..., namespaced and
// cluster-scoped, all-namespaces collections, subresources) to the operations, the verbs
// RBAC would see recorded in the request log, and every failure answered with a Status.

import { type IncomingMessage, type ServerResponse } from 'node:http';

import { parse as parseYaml } from 'yaml';

import { apiGroupDocument, apiGroupList, apiResourceList, apiVersions } from './discovery.js';
import { buildFilter, listObjects } from './list.js';
import { type DeleteOptions, type Operations, type Part, type Target } from './operations.js';
import { applyJsonPatch, applyMergePatch } from './patch.js';
import { groupVersion, type KubeObject, type ResourceRegistry, typeKey } from './resources.js';
import { badRequest, internalError, KubernetesStatusError, methodNotAllowed, pathNotFound, unsupportedMediaType } from './status.js';
import { type WatchHub } from './watch.js';

/** One served resource request, as RBAC names it. */
export interface RequestRecord {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

interface ResourceRequest {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
  readonly watchPath: boolean;
}

/** Splits the path after /api/v1 or /apis/<g>/<v> into namespace, plural, name, subresource. */
function parseResourcePath(group: string, version: string, rest: string[]): ResourceRequest | undefined {
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  const base = { group, version, watchPath };
  // namespaces/<name>/status and /finalize are the Namespace's own subresources.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    if (rest.length > 5) return undefined;
    return { ...base, namespace: rest[1]!, plural: rest[2]!, ...(rest[3] === undefined ? {} : { name: rest[3] }), ...(rest[4] === undefined ? {} : { subresource: rest[4] }) };
  }
  if (rest.length === 0 || rest.length > 3) return undefined;
  return { ...base, plural: rest[0]!, ...(rest[1] === undefined ? {} : { name: rest[1] }), ...(rest[2] === undefined ? {} : { subresource: rest[2] }) };
}

function isWatch(params: URLSearchParams): boolean {
  const w = params.get('watch');
  return w === 'true' || w === '1';
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
}

function decodeObject(text: string, type: string): unknown {
  if (type === 'application/yaml') {
    try {
      return parseYaml(text) as unknown;
    } catch (error) {
      throw badRequest(`error converting YAML to JSON: ${(error as Error).message}`);
    }
  }
  if (type !== 'application/json' && type !== '') {
    throw unsupportedMediaType(['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
  }
}

/** The request handler of one test server. */
export class Router {
  constructor(
    private readonly ops: Operations,
    private readonly registry: ResourceRegistry,
    private readonly hub: WatchHub,
    private readonly log: RequestRecord[],
    private readonly serverAddress: () => string,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.#route(req, res).catch((error: unknown) => {
      const status = error instanceof KubernetesStatusError ? error : internalError(error instanceof Error ? error.message : String(error));
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, status.code, status.status);
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const segments = url.pathname.split('/').filter((s) => s !== '');
    const method = req.method ?? 'GET';
    if (segments.length === 1 && ['healthz', 'livez', 'readyz'].includes(segments[0]!)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    if (segments.length === 1 && segments[0] === 'version') {
      send(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0-twill-test', platform: 'linux/amd64' });
      return;
    }
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === 'api') {
      if (segments.length === 1) return this.#discovery(method, res, apiVersions(this.serverAddress()));
      group = '';
      version = segments[1]!;
      rest = segments.slice(2);
    } else if (segments[0] === 'apis') {
      if (segments.length === 1) return this.#discovery(method, res, apiGroupList(this.registry));
      group = segments[1]!;
      if (segments.length === 2) {
        const doc = apiGroupDocument(this.registry, group);
        if (doc === undefined) throw pathNotFound();
        return this.#discovery(method, res, doc);
      }
      version = segments[2]!;
      rest = segments.slice(3);
    } else {
      throw pathNotFound();
    }
    if (!this.registry.servesGroupVersion(group, version)) throw pathNotFound();
    if (rest.length === 0) return this.#discovery(method, res, apiResourceList(this.registry, group, version));
    const request = parseResourcePath(group, version, rest);
    if (request === undefined) throw pathNotFound();
    await this.#resource(req, res, url.searchParams, request);
  }

  #discovery(method: string, res: ServerResponse, doc: object): void {
    if (method !== 'GET') throw methodNotAllowed();
    send(res, 200, doc);
  }

  #record(verb: string, r: ResourceRequest): void {
    this.log.push({
      verb,
      group: r.group,
      resource: r.plural,
      ...(r.subresource === undefined ? {} : { subresource: r.subresource }),
      ...(r.namespace === undefined ? {} : { namespace: r.namespace }),
      ...(r.name === undefined ? {} : { name: r.name }),
    });
  }

  async #resource(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, r: ResourceRequest): Promise<void> {
    const method = req.method ?? 'GET';
    const watch = r.watchPath || (method === 'GET' && isWatch(params));
    const collection = r.name === undefined;
    const verb =
      method === 'GET' ? (watch ? 'watch' : collection ? 'list' : 'get')
        : method === 'POST' ? 'create'
          : method === 'PUT' ? 'update'
            : method === 'PATCH' ? 'patch'
              : method === 'DELETE' ? (collection ? 'deletecollection' : 'delete')
                : method.toLowerCase();
    this.#record(verb, r);
    const type = this.registry.byPath(r.group, r.version, r.plural);
    if (type === undefined) throw pathNotFound();
    // A namespaced path to a cluster-scoped type, or a named request without its namespace.
    if (r.namespace !== undefined && !type.namespaced) throw pathNotFound();
    if (type.namespaced && r.namespace === undefined && !collection) throw pathNotFound();
    if (r.subresource !== undefined && !(r.subresource === 'status' && type.statusSubresource)) throw pathNotFound();
    if (r.watchPath && method !== 'GET') throw methodNotAllowed();
    const target: Target = { type, version: r.version, ...(r.namespace === undefined ? {} : { namespace: r.namespace }) };
    if (method === 'GET') {
      if (watch) {
        // A watch on one object is the collection watch with a name field selector.
        if (!collection) {
          const selector = params.get('fieldSelector');
          params.set('fieldSelector', selector === null || selector === '' ? `metadata.name=${r.name!}` : `${selector},metadata.name=${r.name!}`);
        }
        this.hub.serve(target, params, req, res);
        return;
      }
      if (collection) return send(res, 200, listObjects(this.ops, target, params));
      return send(res, 200, this.ops.get(target, r.name!));
    }
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw methodNotAllowed();
    const dryRun = params.getAll('dryRun');
    const unsupported = dryRun.find((d) => d !== 'All');
    if (unsupported !== undefined) throw badRequest(`dryRun: Unsupported value: ${JSON.stringify(unsupported)}: supported values: "All"`);
    const text = await readBody(req);
    // From here on the write runs synchronously: no other request interleaves with it.
    const write = (): void => this.#write(method, res, params, target, r, text, mediaType(req));
    if (dryRun.length > 0) this.ops.dryRun(write);
    else write();
  }

  #write(method: string, res: ServerResponse, params: URLSearchParams, target: Target, r: ResourceRequest, text: string, contentType: string): void {
    const type = target.type;
    const part: Part = r.subresource === 'status' ? 'status' : 'main';
    if (r.name === undefined) {
      if (method === 'POST') {
        if (type.namespaced && r.namespace === undefined) throw methodNotAllowed();
        return send(res, 201, this.ops.create(target, decodeObject(text, contentType)));
      }
      if (method === 'DELETE') {
        const { filter } = buildFilter(type, r.namespace, params);
        const options = (text.trim() === '' ? {} : decodeObject(text, 'application/json')) as DeleteOptions;
        const deleted = this.ops.store
          .current(typeKey(type))
          .filter(([, o]) => filter(o))
          .map(([, o]) => this.ops.delete({ ...target, ...(type.namespaced ? { namespace: o.metadata.namespace! } : {}) }, o.metadata.name!, options));
        return send(res, 200, { kind: type.listKind, apiVersion: groupVersion(type.group, r.version), metadata: { resourceVersion: String(this.ops.store.revision) }, items: deleted });
      }
      throw methodNotAllowed();
    }
    const name = r.name;
    switch (method) {
      case 'PUT':
        return send(res, 200, this.ops.update(target, name, decodeObject(text, contentType), part));
      case 'PATCH':
        return send(res, 200, this.#patch(target, name, part, contentType, text));
      case 'DELETE': {
        if (part !== 'main') throw methodNotAllowed();
        const options = (text.trim() === '' ? {} : decodeObject(text, 'application/json')) as DeleteOptions;
        const deleted = this.ops.delete(target, name, options);
        // Marked for deletion (finalizers pending): 202 with the object.
        if (deleted.metadata.deletionTimestamp !== undefined && this.ops.store.get(typeKey(type), `${r.namespace === undefined ? '' : `${r.namespace}/`}${name}`) !== undefined) {
          return send(res, 202, deleted);
        }
        if (type.returnDeletedObject) return send(res, 200, deleted);
        return send(res, 200, {
          kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success',
          details: { name, ...(type.group === '' ? {} : { group: type.group }), kind: type.plural, uid: deleted.metadata.uid },
        });
      }
      default:
        throw methodNotAllowed();
    }
  }

  #patch(target: Target, name: string, part: Part, type: string, text: string): KubeObject {
    const accepted = ['application/json-patch+json', 'application/merge-patch+json', ...(target.type.builtIn ? ['application/strategic-merge-patch+json'] : []), 'application/apply-patch+yaml'];
    if (!accepted.includes(type) || type === 'application/apply-patch+yaml') throw unsupportedMediaType(accepted);
    let patch: unknown;
    try {
      patch = JSON.parse(text) as unknown;
    } catch (error) {
      throw badRequest(`error decoding patch: ${(error as Error).message}`);
    }
    const current = this.ops.get(target, name);
    const patched = type === 'application/json-patch+json' ? applyJsonPatch(current, patch) : applyMergePatch(current, patch);
    if (patched === null || typeof patched !== 'object' || Array.isArray(patched)) throw badRequest('the patched object is not a JSON object');
    const object = patched as KubeObject;
    // The patch's resourceVersion (if it set one) is a precondition; otherwise the current one is.
    return this.ops.update(target, name, object, part);
  }
}
