/** Whether the batch commands (5.6) work for a map type: some types never got them. */
import { BpfCommand, MapFlag } from '../internal/sys/commands.js';
import { possibleCpuCount } from '../internal/sys/possible-cpus.js';
import { closeFd, mapBatch, mapCreate } from '../internal/sys/syscall.js';
import { MapType } from '../map/map-type.js';
import { cachedProbe } from './cache.js';
import { probeCall } from './probe-util.js';

/** A batch operation. */
export type BatchOp = 'lookup' | 'update' | 'delete';

const commands = {
  lookup: BpfCommand.MAP_LOOKUP_BATCH,
  update: BpfCommand.MAP_UPDATE_BATCH,
  delete: BpfCommand.MAP_DELETE_BATCH,
} as const;

/** Tries `op` on a one-element batch of a fresh map of `type`. */
function probeBatch(type: number, op: BatchOp): boolean {
  const keySize = type === MapType.LpmTrie ? 8 : 4;
  const flags = type === MapType.LpmTrie ? MapFlag.NO_PREALLOC : 0;
  let fd;
  try {
    fd = mapCreate({ mapType: type, keySize, valueSize: 8, maxEntries: 2, flags });
  } catch {
    return false;
  }
  try {
    const keys = new Uint8Array(keySize);
    const values = new Uint8Array(8 * possibleCpuCount()); // room for a per-CPU value
    if (type === MapType.LpmTrie) keys[0] = 8;
    // Deleting a key that is not there proves the command exists (it stops at ENOENT),
    // and a lookup batch over an empty map ends with ENOENT, which mapBatch reports as `end`.
    return probeCall(() => {
      try {
        mapBatch(commands[op], { mapFd: fd, keys, values, count: 1, outBatch: new Uint8Array(8) });
      } catch (error) {
        if (op === 'delete' && error instanceof Error && 'errno' in error && error.errno === 'ENOENT') return;
        throw error;
      }
    });
  } finally {
    closeFd(fd);
  }
}

/**
 * Whether `BPF_MAP_<op>_BATCH` works on maps of `type` (cached). Hash, LRU and per-CPU
 * hash maps have all three since 5.6; arrays have lookup and update (delete is refused,
 * as single deletes are); LPM tries got them later; program arrays, map-in-map and
 * special-purpose types have none.
 */
export function haveBatchOp(type: number, op: BatchOp): boolean {
  return cachedProbe(`batch:${type}:${op}`, () => probeBatch(type, op));
}
