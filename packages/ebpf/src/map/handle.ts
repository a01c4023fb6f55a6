/** What every map has: its fd, pinning, info and close. */
import type { MapFd } from '../fd.js';
import { type MapInfo, MAP_INFO_SIZE, decodeMapInfo } from '../internal/sys/info.js';
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
}
