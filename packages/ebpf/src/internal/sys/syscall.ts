/**
 * The only file that calls `bpf(2)`: typed wrappers over `@twill/sys`'s raw call, each
 * turning a failure into a {@link BpfError}. Everything else in the package calls these.
 */
import { closeSync } from 'node:fs';

import { SysError, addressOf, bpf } from '@twill/sys';

import { BpfError } from '../../errors.js';
import type { BtfFd, LinkFd, MapFd, ProgramFd } from '../../fd.js';
import type { EncodedAttr } from './attr.js';
import { type MapBatchAttr, type MapCreateAttr, batchCount, encodeMapBatch, encodeMapCreate, writeMapElem } from './attr-map.js';
import { elemScratch } from './elem-scratch.js';
import { type LinkCreateAttr, type LinkUpdateAttr, encodeBtfInfo, encodeGetFdById, encodeLinkCreate, encodeLinkDetach, encodeLinkUpdate, encodeMapFreeze, encodeObj, encodeObjInfo } from './attr-obj.js';
import {
  type BtfLoadAttr,
  type ProgLoadAttr,
  type ProgTestRunAttr,
  type ProgTestRunResult,
  decodeProgTestRun,
  encodeBtfLoad,
  encodeProgLoad,
  encodeProgTestRun,
  logTrueSize,
} from './attr-prog.js';
import { BpfCommand, ENOTSUPP, commandName } from './commands.js';

/** The errno name of a failed call; libuv has no name for the kernel-internal ENOTSUPP. */
function errnoName(error: SysError): string {
  return error.errno === ENOTSUPP ? 'ENOTSUPP' : error.code;
}

/**
 * Holds the buffers behind an attribute's pointers until the call has returned: the
 * assignment after the call is a side effect the engine cannot drop.
 */
export let lastKeptBuffers: readonly ArrayBufferView[] = [];

/**
 * Runs one command. `log`, when given, is read into the error as the verifier log.
 * @throws {BpfError}
 */
function call(cmd: number, encoded: EncodedAttr, what = '', log?: Uint8Array): number {
  try {
    return bpf(cmd, encoded.attr);
  } catch (error) {
    if (!(error instanceof SysError)) throw error;
    const operation = what ? `${commandName(cmd)} ${what}` : commandName(cmd);
    throw new BpfError(errnoName(error), operation, log ? logText(log) : undefined, { cause: error });
  } finally {
    lastKeptBuffers = encoded.keep;
  }
}

/** The text of a NUL-terminated log buffer. */
export function logText(log: Uint8Array): string {
  const end = log.indexOf(0);
  return new TextDecoder().decode(end < 0 ? log : log.subarray(0, end));
}

/** Closes a BPF object's file descriptor. */
export function closeFd(fd: number): void {
  closeSync(fd);
}

/** `BPF_MAP_CREATE`. @throws {BpfError} */
export function mapCreate(a: MapCreateAttr): MapFd {
  return call(BpfCommand.MAP_CREATE, encodeMapCreate(a, addressOf), a.name) as MapFd;
}

/** The scratch buffer is kept alive by its module: nothing else to hold across a call. */
const NOTHING_KEPT: readonly ArrayBufferView[] = [];

/**
 * One element command through the reused scratch buffer: `key` and an input `value` are
 * copied in, an output `value` (lookup, next key) copied out. False on `ENOENT`.
 */
function elemCall(cmd: number, mapFd: number, key: Uint8Array | undefined, value: Uint8Array | undefined, flags: bigint, valueIsOutput: boolean): boolean {
  const keySize = key?.byteLength ?? 0;
  const valueSize = value?.byteLength ?? 0;
  const s = elemScratch(keySize, valueSize);
  if (key) s.bytes.set(key, s.keyOffset);
  if (value && !valueIsOutput) s.bytes.set(value, s.valueOffset);
  writeMapElem(s.attr, {
    mapFd,
    key: keySize > 0 ? s.keyAddress : 0n,
    value: valueSize > 0 ? s.valueAddress : 0n,
    flags,
  });
  try {
    call(cmd, { attr: s.attr, keep: NOTHING_KEPT });
  } catch (error) {
    if (error instanceof BpfError && error.isNotFound) return false;
    throw error;
  }
  if (value && valueIsOutput) value.set(s.bytes.subarray(s.valueOffset, s.valueOffset + valueSize));
  return true;
}

/** `BPF_MAP_LOOKUP_ELEM`: fills `value`; false when the key is missing. @throws {BpfError} */
export function mapLookup(mapFd: MapFd, key: Uint8Array, value: Uint8Array): boolean {
  return elemCall(BpfCommand.MAP_LOOKUP_ELEM, mapFd, key, value, 0n, true);
}

/** `BPF_MAP_UPDATE_ELEM` with `BPF_ANY`, `BPF_NOEXIST` or `BPF_EXIST`. @throws {BpfError} */
export function mapUpdate(mapFd: MapFd, key: Uint8Array, value: Uint8Array, flags: bigint): void {
  const s = elemScratch(key.byteLength, value.byteLength);
  s.bytes.set(key, s.keyOffset);
  s.bytes.set(value, s.valueOffset);
  writeMapElem(s.attr, { mapFd, key: key.byteLength > 0 ? s.keyAddress : 0n, value: s.valueAddress, flags });
  call(BpfCommand.MAP_UPDATE_ELEM, { attr: s.attr, keep: NOTHING_KEPT });
}

/** `BPF_MAP_DELETE_ELEM`: false when the key was missing. @throws {BpfError} */
export function mapDelete(mapFd: MapFd, key: Uint8Array): boolean {
  return elemCall(BpfCommand.MAP_DELETE_ELEM, mapFd, key, undefined, 0n, false);
}

/**
 * `BPF_MAP_GET_NEXT_KEY`: writes the key after `key` (the first key when `key` is
 * absent, 4.12) into `next`; false after the last key. @throws {BpfError}
 */
export function mapGetNextKey(mapFd: MapFd, key: Uint8Array | undefined, next: Uint8Array): boolean {
  return elemCall(BpfCommand.MAP_GET_NEXT_KEY, mapFd, key, next, 0n, true);
}

/** What a batch command did. */
export interface BatchResult {
  /** Elements processed. */
  count: number;
  /** Lookup batches: the kernel said there is nothing after this batch (`ENOENT`). */
  end: boolean;
}

/**
 * One of the four batch commands (5.6). Lookup batches end with `ENOENT`, possibly
 * with elements in the last batch; that is reported as `end`, not thrown.
 * @throws {BpfError}
 */
export function mapBatch(cmd: number, a: MapBatchAttr): BatchResult {
  const encoded = encodeMapBatch(a, addressOf);
  try {
    call(cmd, encoded);
    return { count: batchCount(encoded.attr), end: false };
  } catch (error) {
    const lookup = cmd === BpfCommand.MAP_LOOKUP_BATCH || cmd === BpfCommand.MAP_LOOKUP_AND_DELETE_BATCH;
    if (lookup && error instanceof BpfError && error.isNotFound) return { count: batchCount(encoded.attr), end: true };
    throw error;
  }
}

/**
 * `BPF_MAP_FREEZE` (5.2): the map becomes read-only from the syscall side for good;
 * programs still read it, and write it unless it was created `BPF_F_RDONLY_PROG`.
 * @throws {BpfError} `EBUSY` while a writable mmap of it exists.
 */
export function mapFreeze(mapFd: MapFd): void {
  call(BpfCommand.MAP_FREEZE, encodeMapFreeze({ mapFd }, addressOf));
}

/**
 * `BPF_PROG_LOAD`. On failure the error carries the log written into `a.logBuffer`,
 * and `logTrueSize` the size the verifier needed (6.4+; 0 before).
 * @throws {BpfError}
 */
export function progLoad(a: ProgLoadAttr): ProgramFd {
  const encoded = encodeProgLoad(a, addressOf);
  try {
    return call(BpfCommand.PROG_LOAD, encoded, a.name, a.logLevel ? a.logBuffer : undefined) as ProgramFd;
  } catch (error) {
    if (error instanceof BpfError) lastLogTrueSize = logTrueSize(encoded.attr);
    throw error;
  }
}

let lastLogTrueSize = 0;

/** The log size the verifier asked for in the last failed {@link progLoad} (6.4+; else 0). */
export function lastProgLoadLogTrueSize(): number {
  return lastLogTrueSize;
}

/** `BPF_PROG_TEST_RUN` (4.12). @throws {BpfError} */
export function progTestRun(a: ProgTestRunAttr): ProgTestRunResult {
  const encoded = encodeProgTestRun(a, addressOf);
  call(BpfCommand.PROG_TEST_RUN, encoded);
  return decodeProgTestRun(encoded.attr);
}

/** `BPF_OBJ_PIN` (4.4): pins `fd` at a path in a bpffs mount. @throws {BpfError} */
export function objPin(fd: number, path: string): void {
  call(BpfCommand.OBJ_PIN, encodeObj({ path, bpfFd: fd }, addressOf), path);
}

/** `BPF_OBJ_GET` (4.4): opens a pinned object, a new fd. @throws {BpfError} */
export function objGet(path: string, fileFlags = 0): number {
  return call(BpfCommand.OBJ_GET, encodeObj({ path, fileFlags }, addressOf), path);
}

/** `BPF_OBJ_GET_INFO_BY_FD` (4.13): fills `info`, gives the bytes the kernel wrote. @throws {BpfError} */
export function objInfo(fd: number, info: Uint8Array): number {
  const encoded = encodeObjInfo({ bpfFd: fd, info }, addressOf);
  call(BpfCommand.OBJ_GET_INFO_BY_FD, encoded);
  return encoded.attr.getUint32(4, true);
}

/** `BPF_LINK_CREATE` (5.7). @throws {BpfError} */
export function linkCreate(a: LinkCreateAttr): LinkFd {
  return call(BpfCommand.LINK_CREATE, encodeLinkCreate(a, addressOf)) as LinkFd;
}

/** `BPF_LINK_UPDATE` (5.7): the link runs the new program from now on. @throws {BpfError} */
export function linkUpdate(a: LinkUpdateAttr): void {
  call(BpfCommand.LINK_UPDATE, encodeLinkUpdate(a, addressOf));
}

/** `BPF_LINK_DETACH` (5.9). @throws {BpfError} */
export function linkDetach(linkFd: LinkFd): void {
  call(BpfCommand.LINK_DETACH, encodeLinkDetach({ linkFd }, addressOf));
}

/** `BPF_BTF_GET_FD_BY_ID` (4.18): a new fd on a loaded BTF object. @throws {BpfError} `ENOENT` for an unknown id. */
export function btfGetFdById(id: number): BtfFd {
  return call(BpfCommand.BTF_GET_FD_BY_ID, encodeGetFdById({ id }, addressOf), `btf ${id}`) as BtfFd;
}

/** The raw bytes of a loaded BTF object (`BPF_OBJ_GET_INFO_BY_FD`, twice: size, then bytes; 4.18). @throws {BpfError} */
export function btfRaw(btfFd: BtfFd): Uint8Array {
  const sized = encodeBtfInfo({ btfFd, raw: new Uint8Array(0) }, addressOf);
  call(BpfCommand.OBJ_GET_INFO_BY_FD, sized);
  const raw = new Uint8Array(sized.info.getUint32(8, true));
  if (raw.byteLength > 0) call(BpfCommand.OBJ_GET_INFO_BY_FD, encodeBtfInfo({ btfFd, raw }, addressOf));
  return raw;
}

/** `BPF_BTF_LOAD` (4.18); on failure the error carries the BTF log. @throws {BpfError} */
export function btfLoad(a: BtfLoadAttr): BtfFd {
  return call(BpfCommand.BTF_LOAD, encodeBtfLoad(a, addressOf), '', a.logLevel ? a.logBuffer : undefined) as BtfFd;
}
