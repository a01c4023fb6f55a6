// What the twill-ipam handlers need from the outside world, in both modes.
import { type RetryPolicy } from '../store/retry.js';
import { type Store } from '../store/store.js';
import { type IpamStoreLocation } from './config.js';
import { type PoolAllocatorSource } from './pool-handlers.js';

/** What the handlers need from the outside world. */
export interface IpamPluginPorts {
  /**
   * Opens the store at `location` (the caller closes it).
   * @throws StoreFailureError (CNI code 5) when it cannot be opened.
   */
  openStore(location: IpamStoreLocation): Promise<Store>;
  /** Reads a resolv.conf (`ipam.resolvConf`) as text; rejects when it cannot. */
  readResolvConf(path: string): Promise<string>;
  /** How store conflicts are retried: the clock (`sleep`) and randomness live here. */
  readonly retry?: RetryPolicy;
  /** The host's name: pool mode's default `ipam.nodeName` (without it, `nodeName` must be set). */
  hostname?(): string;
  /** Warm pool allocators (serve mode); without it each call opens the store and builds one. */
  readonly poolAllocators?: PoolAllocatorSource;
}

/**
 * The key STATUS writes and deletes to prove the store is writable. A name that is no
 * address: host-local and the range allocator both ignore it, and the file store never
 * lists dot files.
 */
export const STATUS_PROBE_NAME = '.twill-ipam-status';
