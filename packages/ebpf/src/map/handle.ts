/** What every map has: its fd, pinning, info and close. */
import type { MapFd } from '../fd.js';
import { type MapInfo, MAP_INFO_SIZE, decodeMapInfo } from '../internal/sys/info.js';
import { closeFd, objInfo, objPin } from '../internal/sys/syscall.js';

/** The kernel's view of a map; see {@link MapHandle.info}. */
export type { MapInfo };

/** A map's file descriptor with the operations every map type has. */
export class MapHandle {
  #fd: MapFd | undefined;

  constructor(fd: MapFd) {
    this.#fd = fd;
  }

  /**
   * The map's file descriptor, for `BPF_PSEUDO_MAP_FD` references and `bpf(2)` calls.
   * @throws {Error} after {@link close}.
   */
  get fd(): MapFd {
    if (this.#fd === undefined) throw new Error('the map is closed');
    return this.#fd;
  }

  /** Whether {@link close} has been called. */
  get closed(): boolean {
    return this.#fd === undefined;
  }

  /**
   * Pins the map at `path` in a bpffs mount (such as `/sys/fs/bpf/twill/policy`), so it
   * outlives this process; open it again with {@link openPinnedMap}. Needs Linux 4.4.
   * @throws {BpfError} `EEXIST` when the path exists, `EPERM` outside bpffs, `ENOENT`
   *   when the parent folder is missing.
   */
  pin(path: string): void {
    objPin(this.fd, path);
  }

  /**
   * What the kernel reports about the map: id, type, sizes, flags, name. Needs Linux 4.13.
   * @throws {BpfError}
   */
  info(): MapInfo {
    const buffer = new Uint8Array(MAP_INFO_SIZE);
    const length = objInfo(this.fd, buffer);
    return decodeMapInfo(buffer.subarray(0, Math.min(length, MAP_INFO_SIZE)));
  }

  /**
   * Closes this process's file descriptor. The map itself lives on while pinned or used
   * by a loaded program. Calling it twice does nothing.
   */
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    closeFd(fd);
  }

  /** Closes the map (`using` declarations). */
  [Symbol.dispose](): void {
    this.close();
  }
}
