// libcni's on-disk result cache: one file per attachment under `<dir>/results`, the
// folder 0700 and the files 0600 as libcni makes them. Writes are atomic (a temporary
// file renamed into place), so a crash never leaves half a record. They are synchronous:
// three small calls cost ~0.1 ms, while their async forms cost over 1 ms per ADD in
// thread-pool round trips (measured in bench/cni-invoke.bench.ts).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { CNI_ERROR, CniError } from '../../errors.js';
import { cacheFileName } from '../cache-record.js';
import { type CacheKey, type ResultCache } from '../types.js';

/** libcni's default cache folder. */
export const DEFAULT_CNI_CACHE_DIR = '/var/lib/cni';

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

function ioError(what: string, error: unknown): CniError {
  return new CniError(CNI_ERROR.IO_FAILURE, what, (error as Error).message, { cause: error });
}

/** The {@link ResultCache} in libcni's format under `dir` (default `/var/lib/cni`). */
export function fileResultCache(dir: string = DEFAULT_CNI_CACHE_DIR): ResultCache {
  const results = join(dir, 'results');
  const pathOf = (key: CacheKey): string => {
    const name = cacheFileName(key);
    if (name.includes('/') || name.includes('\0')) throw new CniError(CNI_ERROR.INVALID_ENVIRONMENT, `invalid cache key ${JSON.stringify(name)}`);
    return join(results, name);
  };
  return {
    async read(key) {
      try {
        return new Uint8Array(await readFile(pathOf(key)));
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw ioError(`cannot read cached result ${pathOf(key)}`, error);
      }
    },
    async write(key, bytes) {
      const file = pathOf(key);
      const tmp = `${file}.tmp-${process.pid}`;
      try {
        mkdirSync(results, { recursive: true, mode: 0o700 });
        writeFileSync(tmp, bytes, { mode: 0o600 });
        renameSync(tmp, file);
      } catch (error) {
        rmSync(tmp, { force: true });
        throw ioError(`cannot write cached result ${file}`, error);
      }
    },
    async remove(key) {
      await rm(pathOf(key), { force: true });
    },
    async list() {
      let names: string[];
      try {
        names = (await readdir(results)).filter((n) => !n.includes('.tmp-')).sort();
      } catch (error) {
        if (isMissing(error)) return [];
        throw ioError(`cannot list ${results}`, error);
      }
      const out: { name: string; bytes: Uint8Array }[] = [];
      for (const name of names) {
        try {
          out.push({ name, bytes: new Uint8Array(await readFile(join(results, name))) });
        } catch {
          // removed meanwhile, or unreadable: libcni skips it too
        }
      }
      return out;
    },
  };
}
