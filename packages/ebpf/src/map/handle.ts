/** What every map has: its fd, pinning, info and close. */
import { BpfError, UnsupportedFeatureError } from '../errors.js';
import type { MapFd } from '../fd.js';
import { type MapInfo, MAP_INFO_SIZE, decodeMapInfo } from '../internal/sys/info.js';
import { mapFreeze } from '../internal/sys/syscall.js';
import { BpfObject } from '../internal/bpf-object.js';

/** The kernel's view of a map; see {@link MapHandle.info}. */
export type { MapInfo };

/** A map's file descriptor with the operations every map type has. */
export class MapHandle extends BpfObject<MapFd, MapInfo> {
  protected get label(): string {
    return 'the map';
  }

  protected get infoSize(): number {
    return MAP_INFO_SIZE;
  }

  protected decodeInfo(bytes: Uint8Array): MapInfo {
    return decodeMapInfo(bytes);
  }

  /**
   * Freezes the map (`BPF_MAP_FREEZE`): from now on no process can write it through
   * `bpf(2)` (updates and deletes fail with `EPERM`), for as long as the map lives.
   * Programs still read it; a map created `BPF_F_RDONLY_PROG` and frozen is constant, so
   * the verifier reads its values at load and prunes the branches they rule out.
   * `bpftool map show` says `frozen`. Needs Linux 5.2.
   * @throws {BpfError} `EBUSY` while a writable mmap of the map exists.
   * @throws {UnsupportedFeatureError} before Linux 5.2.
   */
  freeze(): void {
    try {
      mapFreeze(this.fd);
    } catch (error) {
      // Before 5.2 the command is unknown, which bpf(2) answers with EINVAL.
      if (error instanceof BpfError && error.errno === 'EINVAL') throw new UnsupportedFeatureError('freezing maps (BPF_MAP_FREEZE)', '5.2', { cause: error });
      throw error;
    }
  }
}
