/** Loading raw BTF into the kernel (4.18), for maps and programs that carry type info. */
import type { BtfFd } from '../fd.js';
import { btfLoad, closeFd } from '../internal/sys/syscall.js';

/** Loaded BTF: its fd goes into map creation and program loads. */
export class Btf {
  #fd: BtfFd | undefined;

  constructor(fd: BtfFd) {
    this.#fd = fd;
  }

  /** The BTF object's fd. @throws {Error} after {@link close}. */
  get fd(): BtfFd {
    if (this.#fd === undefined) throw new Error('the BTF object is closed');
    return this.#fd;
  }

  /** Closes the fd. Twice does nothing. */
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    closeFd(fd);
  }
}

/**
 * Loads raw BTF (the `.BTF` section of an object: header, types, strings). On failure
 * it loads again with a log so the error says why. Needs Linux 4.18.
 * @throws {BpfError} `EINVAL` with the BTF verifier's log.
 */
export function loadBtf(raw: Uint8Array, options: { logSize?: number } = {}): Btf {
  try {
    return new Btf(btfLoad({ btf: raw }));
  } catch {
    return new Btf(btfLoad({ btf: raw, logLevel: 1, logBuffer: new Uint8Array(options.logSize ?? 64 << 10) }));
  }
}
