/** The file-system side of pinning for collections: the pin folder and removing pins. */
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';

/** What {@link loadCollection} needs of bpffs beyond `bpf(2)`; tests may substitute it. */
export interface PinFolder {
  /** Creates `path` (and parents) when missing; true when this call created it. */
  ensure(path: string): boolean;
  /** Removes a pinned object's path; missing is fine. */
  unpin(path: string): void;
  /** Removes a folder if it is empty. */
  removeIfEmpty(path: string): void;
  /**
   * Moves a pin to `to`, replacing what is pinned there in one step (`rename(2)`; bpffs
   * supports it), so the path never lacks a pin.
   */
  rename(from: string, to: string): void;
}

/** The real bpffs, through `node:fs`. */
export const bpffsFolder: PinFolder = {
  ensure(path) {
    if (existsSync(path)) return false;
    mkdirSync(path, { recursive: true });
    return true;
  },
  unpin(path) {
    rmSync(path, { force: true });
  },
  removeIfEmpty(path) {
    if (existsSync(path) && readdirSync(path).length === 0) rmdirSync(path);
  },
  rename(from, to) {
    renameSync(from, to);
  },
};
