// What maps, programs and links have in common: a kernel object held by a file
// descriptor, which can be pinned in bpffs, described by BPF_OBJ_GET_INFO_BY_FD, and
// closed (once). Each kind supplies its info layout and how it is named in errors.
import { closeFd, objInfo, objPin } from './sys/syscall.js';

/** A BPF object held by the fd `F`, whose kernel info decodes to `I`. */
export abstract class BpfObject<F extends number, I> {
  #fd: F | undefined;

  constructor(fd: F) {
    this.#fd = fd;
  }

  /** How the object is named when it is used after {@link close}: `the map`, `program x`. */
  protected abstract get label(): string;
  /** The size of the kernel's info struct for this kind (`bpf_map_info`, ...). */
  protected abstract get infoSize(): number;
  /** Decodes the kernel's info struct. */
  protected abstract decodeInfo(bytes: Uint8Array): I;

  /**
   * The file descriptor, for `bpf(2)` calls and references from programs.
   * @throws {Error} after {@link close}.
   */
  get fd(): F {
    if (this.#fd === undefined) throw new Error(`${this.label} is closed`);
    return this.#fd;
  }

  /** Whether {@link close} has been called. */
  get closed(): boolean {
    return this.#fd === undefined;
  }

  /**
   * Pins the object at `path` in a bpffs mount, so it outlives this process (maps and
   * programs: Linux 4.4; links: 5.7).
   * @throws {BpfError} `EEXIST` when the path exists, `EPERM` outside bpffs, `ENOENT`
   *   when the parent folder is missing.
   */
  pin(path: string): void {
    objPin(this.fd, path);
  }

  /**
   * What the kernel reports about the object (`BPF_OBJ_GET_INFO_BY_FD`: maps and programs
   * Linux 4.13, links 5.8).
   * @throws {BpfError}
   */
  info(): I {
    const buffer = new Uint8Array(this.infoSize);
    const length = objInfo(this.fd, buffer);
    return this.decodeInfo(buffer.subarray(0, Math.min(length, this.infoSize)));
  }

  /**
   * Closes this process's file descriptor. The object lives on while it is pinned or
   * used (a map by a loaded program, a program by an attachment). Twice does nothing.
   */
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    closeFd(fd);
  }

  /** Closes it at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}
