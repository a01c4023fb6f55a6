// The Kubernetes API test server: a strict, in-memory kube-apiserver for the parts Twill
// uses, served over plain HTTP on 127.0.0.1 and driven by the real @kubernetes/client-node.
// The pieces live in ./server/: the store and its revisions (store.ts), the operations
// (operations.ts), list and watch (list.ts, watch.ts), selectors, CRDs and their schemas,
// patches, discovery and the HTTP routing (router.ts).
//
// Where it differs from a real API server (on purpose, to stay small):
// - no authentication or authorization (the request log records what RBAC would check);
// - strategic merge patch is applied as a JSON merge patch (lists replaced, not merged by
//   key); server-side apply (application/apply-patch+yaml) is 415;
// - a CRD is Established in the same write that creates it; a deleted CRD's resources and a
//   deleted namespace's objects go at once (no Terminating phase, no finalizer on the CRD);
// - pods have no graceful deletion; no admission, no defaulting of built-in specs,
//   no CEL rules (x-kubernetes-validations) on custom resources, no conversion webhooks
//   (a custom resource served at several versions only changes its apiVersion);
// - dropWatches() ends each watch response cleanly, as a restarting API server's graceful
//   shutdown does; dropWatches('reset') destroys the connections instead.

import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';

import * as k8s from '@kubernetes/client-node';
import { stringify as toYaml } from 'yaml';

import { type DeleteOptions, Operations } from './server/operations.js';
import { type KubeObject, ResourceRegistry } from './server/resources.js';
import { type RequestRecord, Router } from './server/router.js';
import { ObjectStore } from './server/store.js';
import { WatchHub } from './server/watch.js';

import { KubernetesStatusError } from './server/status.js';

export { KubernetesStatusError };
export type { Status } from './server/status.js';
export type { KubeObject, RequestRecord };

/** Options of startKubernetesTestServer. */
export interface StartKubernetesTestServerOptions {
  /** Milliseconds between BOOKMARK events on watches that asked for them (default 1000). */
  readonly bookmarkMs?: number;
}

/** A running test server. */
export interface KubernetesTestServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** A client-node KubeConfig for it (cluster/user/context "twill-test"). */
  kubeConfig(): k8s.KubeConfig;
  /** The same as kubeconfig YAML text (for files and child processes). */
  kubeconfigYaml(): string;
  /**
   * Every resource request served, in order, for RBAC checks: the verb as RBAC names it
   * (get, list, watch, create, update, patch, delete, deletecollection), group ('' core),
   * resource (plural), subresource?, namespace?, name?. Discovery requests are not recorded.
   */
  readonly requests: readonly RequestRecord[];
  /**
   * Direct writes, as another client would write them (validated, bumping the
   * resourceVersion, emitting watch events). Unlike the HTTP main endpoint they write
   * `status` too, as the status subresource would. They throw KubernetesStatusError.
   */
  create(object: object): Promise<KubeObject>;
  /** Needs metadata.resourceVersion (409 when stale) unless absent (unconditional). */
  update(object: object): Promise<KubeObject>;
  remove(apiVersion: string, kind: string, name: string, namespace?: string): Promise<void>;
  read(apiVersion: string, kind: string, name: string, namespace?: string): KubeObject | undefined;
  /** Forgets watch history: a watch or list resuming from an older resourceVersion gets 410 Gone. */
  compact(): void;
  /**
   * Ends every open watch stream now, as when the API server restarts: by default the
   * response ends (what a graceful shutdown does: client-node's Watch calls done(null) and
   * an informer re-watches from its resourceVersion); `'reset'` destroys the connection
   * instead (a crash: client-node's Watch calls done with an error, and an informer stops
   * with an 'error' until it is started again).
   */
  dropWatches(mode?: 'end' | 'reset'): void;
  close(): Promise<void>;
}

const contextName = 'twill-test';

function asObject(object: object): KubeObject {
  const o = object as Partial<KubeObject>;
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') {
    throw new TypeError('a Kubernetes object needs apiVersion and kind');
  }
  return { ...o, metadata: o.metadata ?? {} } as KubeObject;
}

/** Starts a test server on 127.0.0.1 (a free port). */
export async function startKubernetesTestServer(options: StartKubernetesTestServerOptions = {}): Promise<KubernetesTestServer> {
  const store = new ObjectStore();
  const registry = new ResourceRegistry();
  // The operations end the watches on a type whose CRD goes; the hub needs the operations.
  const hubRef: { hub?: WatchHub } = {};
  const ops = new Operations(store, registry, (key) => hubRef.hub?.endType(key));
  const hub = new WatchHub(ops, options.bookmarkMs ?? 1000);
  hubRef.hub = hub;
  const requests: RequestRecord[] = [];
  let address = '127.0.0.1:0';
  const router = new Router(ops, registry, hub, requests, () => address);
  const server: Server = createServer((req, res) => router.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  address = `127.0.0.1:${port}`;
  const url = `http://${address}`;
  const watches = hub;

  const targetOf = (object: KubeObject) => ops.targetOf(object.apiVersion, object.kind, object.metadata.namespace);
  return {
    url,
    requests,
    kubeConfig() {
      const kc = new k8s.KubeConfig();
      kc.loadFromOptions({
        // client-node refuses a plain-http server unless TLS verification is marked skipped.
        clusters: [{ name: contextName, server: url, skipTLSVerify: true }],
        users: [{ name: contextName }],
        contexts: [{ name: contextName, cluster: contextName, user: contextName }],
        currentContext: contextName,
      });
      return kc;
    },
    kubeconfigYaml() {
      return toYaml({
        apiVersion: 'v1',
        kind: 'Config',
        // client-node refuses a plain-http server unless TLS verification is marked skipped.
        clusters: [{ name: contextName, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: contextName, user: {} }],
        contexts: [{ name: contextName, context: { cluster: contextName, user: contextName } }],
        'current-context': contextName,
      });
    },
    async create(object) {
      const o = asObject(object);
      return ops.create(targetOf(o), o, 'all');
    },
    async update(object) {
      const o = asObject(object);
      return ops.update(targetOf(o), o.metadata.name ?? '', o, 'all');
    },
    async remove(apiVersion, kind, name, namespace) {
      const options: DeleteOptions = {};
      ops.delete(ops.targetOf(apiVersion, kind, namespace), name, options);
    },
    read(apiVersion, kind, name, namespace) {
      const target = ops.targetOf(apiVersion, kind, namespace);
      try {
        return ops.get(target, name);
      } catch (error) {
        if (error instanceof KubernetesStatusError && error.code === 404) return undefined;
        throw error;
      }
    },
    compact() {
      store.compact();
    },
    dropWatches(mode = 'end') {
      watches.dropAll(mode);
    },
    async close() {
      watches.dropAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
