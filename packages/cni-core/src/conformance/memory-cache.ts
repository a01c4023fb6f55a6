// An in-memory ResultCache: the suite's default, so that checking a plugin leaves no
// cache files behind and never reads the host's /var/lib/cni.
import { cacheFileName } from '../invoke/cache-record.js';
import { type ResultCache } from '../invoke/types.js';

/** A {@link ResultCache} kept in memory (lost with the process). */
export function memoryResultCache(): ResultCache {
  const files = new Map<string, Uint8Array>();
  return {
    read: (key) => Promise.resolve(files.get(cacheFileName(key))),
    write(key, bytes) {
      files.set(cacheFileName(key), new Uint8Array(bytes));
      return Promise.resolve();
    },
    remove(key) {
      files.delete(cacheFileName(key));
      return Promise.resolve();
    },
    list: () =>
      Promise.resolve(
        [...files.keys()].sort().map((name) => ({ name, bytes: files.get(name) ?? new Uint8Array() })),
      ),
  };
}
