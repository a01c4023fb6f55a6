// The twill plugin process: the embedded SQLite datastore, the veth plumbing and
// cni-core's delegate helpers behind the handlers' ports, and runPluginMain around them.
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';

import { delegateAdd, delegateCheck, delegateDel, runPluginMain } from '@twill/cni-core';
import { type NetnsRef } from '@twill/cni-core/net';
import { SqliteStore, type Store } from '@twill/ipam';
import { pino } from 'pino';

import { databasePath, type TwillConfig } from '../config.js';
import { StoreEndpointRegistry } from '../endpoints.js';
import { DatastoreNotReadyError } from '../errors.js';
import { createTwillPluginHandlers } from '../handlers.js';
import { type Datastore, type TwillLogger, type TwillPluginPorts } from '../ports.js';
import { createVethPlumbing } from './veth-plumbing.js';

/**
 * Opens the embedded store `<dataDir>/twill.db` (the folder is created when missing).
 * @throws DatastoreNotReadyError (code 50) when it cannot be created or opened.
 */
export async function openTwillStore(config: Pick<TwillConfig, 'dataDir'>): Promise<Store> {
  const path = databasePath(config);
  try {
    await mkdir(config.dataDir, { recursive: true, mode: 0o755 });
    return SqliteStore.open({ path });
  } catch (error) {
    throw new DatastoreNotReadyError(path, error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** A datastore over an open store. */
export function datastoreOver(store: Store, location: string): Datastore {
  return { store, endpoints: new StoreEndpointRegistry(store), location };
}

/**
 * Loggers by level and file: pino JSON lines appended to `logFile` (synchronously, so a
 * short-lived plugin process loses nothing), or to stderr, which the runtime keeps.
 */
export function pinoLoggers(): (config: Pick<TwillConfig, 'logLevel' | 'logFile'>) => TwillLogger {
  const loggers = new Map<string, TwillLogger>();
  return (config) => {
    const key = `${config.logLevel} ${config.logFile ?? ''}`;
    let logger = loggers.get(key);
    if (logger === undefined) {
      const destination = pino.destination({ dest: config.logFile ?? 2, sync: true, append: true, mkdir: true });
      logger = pino({ name: 'twill', level: config.logLevel }, destination);
      loggers.set(key, logger);
    }
    return logger;
  };
}

/** Options of {@link nodeTwillPluginPorts}. */
export interface NodeTwillPluginPortsOptions {
  /** The node's namespace, where host ends and routes go (default: this process's). */
  readonly hostNetns?: NetnsRef;
  /** How datastores are opened (default: a fresh {@link openTwillStore} per call, closed after). */
  readonly openDatastore?: TwillPluginPorts['openDatastore'];
}

/** The ports of a real process: SQLite, rtnetlink, exec'd delegates, the host name, Date.now. */
export function nodeTwillPluginPorts(options: NodeTwillPluginPortsOptions = {}): TwillPluginPorts {
  return {
    plumbing: createVethPlumbing(options.hostNetns === undefined ? {} : { hostNetns: options.hostNetns }),
    openDatastore:
      options.openDatastore ??
      (async (config) => {
        const store = await openTwillStore(config);
        return { datastore: datastoreOver(store, databasePath(config)), release: () => store.close() };
      }),
    delegate: { add: delegateAdd, del: delegateDel, check: delegateCheck },
    hostname,
    now: Date.now,
    logger: pinoLoggers(),
    baseEnv: process.env,
  };
}

/**
 * Runs the twill plugin in this process (environment, stdin, stdout, exit code): what
 * the standalone `twill` executable does. Never throws.
 */
export async function runTwill(): Promise<void> {
  await runPluginMain(createTwillPluginHandlers(nodeTwillPluginPorts()));
}
