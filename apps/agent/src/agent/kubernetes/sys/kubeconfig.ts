// Where the agent finds its cluster: a kubeconfig file (the `--kubeconfig` flag, or the
// KUBECONFIG environment variable), else the pod's service account (in-cluster), as
// kubectl and client-go look.
import { existsSync, readFileSync } from 'node:fs';

import * as k8s from '@kubernetes/client-node';

import { RESOURCE_ERROR_CODE, ResourceDatastoreError } from '../../datastore/errors.js';

/** The service account's files inside a pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Options of {@link loadKubeConfig}. */
export interface LoadKubeConfigOptions {
  /** A kubeconfig file; when absent, `env.KUBECONFIG`, else the in-cluster service account. */
  readonly kubeconfig?: string;
  /** The environment to read KUBECONFIG, KUBERNETES_SERVICE_HOST/PORT from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The service account directory (default {@link SERVICE_ACCOUNT_DIR}); for tests. */
  readonly serviceAccountDir?: string;
}

function unavailable(message: string, cause?: unknown): ResourceDatastoreError {
  return new ResourceDatastoreError(RESOURCE_ERROR_CODE.UNAVAILABLE, message, cause === undefined ? undefined : { cause });
}

/**
 * Loads the KubeConfig the agent talks to its cluster with.
 * @throws ResourceDatastoreError (`unavailable`) naming the file that cannot be read, or
 *   saying that there is neither a kubeconfig nor a service account.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): k8s.KubeConfig {
  const env = options.env ?? process.env;
  const kubeConfig = new k8s.KubeConfig();
  const file = options.kubeconfig ?? (env['KUBECONFIG'] === undefined || env['KUBECONFIG'] === '' ? undefined : env['KUBECONFIG'].split(':')[0]);
  if (file !== undefined) {
    try {
      kubeConfig.loadFromFile(file);
    } catch (error) {
      throw unavailable(`cannot load the kubeconfig ${file}: ${(error as Error).message}`, error);
    }
    if (kubeConfig.getCurrentCluster() === null) throw unavailable(`the kubeconfig ${file} has no current context with a cluster`);
    return kubeConfig;
  }
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env['KUBERNETES_SERVICE_HOST'];
  if (host === undefined || host === '' || !existsSync(`${dir}/token`)) {
    throw unavailable(`no kubeconfig given (--kubeconfig or KUBECONFIG) and not in a pod (no KUBERNETES_SERVICE_HOST or no ${dir}/token)`);
  }
  kubeConfig.loadFromCluster(dir === SERVICE_ACCOUNT_DIR ? '' : dir.slice(0, -SERVICE_ACCOUNT_DIR.length));
  return kubeConfig;
}

/** The namespace the agent's pod runs in (the service account's `namespace` file), or `undefined` outside a pod. */
export function inClusterNamespace(serviceAccountDir: string = SERVICE_ACCOUNT_DIR): string | undefined {
  try {
    const text = readFileSync(`${serviceAccountDir}/namespace`, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}
