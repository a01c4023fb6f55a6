/** Reading back BTF the kernel holds (a map's key and value types), decoded. */
import { type Btf, decodeBtf } from '../elf/btf-types.js';
import { btfGetFdById, btfRaw, closeFd } from '../internal/sys/syscall.js';

/**
 * The BTF object with kernel id `id` (a map's `btfId`), decoded. Needs Linux 4.18 and
 * CAP_SYS_ADMIN (or CAP_BPF).
 * @throws {BpfError} `ENOENT` for an unknown id. @throws {ElfError} for BTF this package cannot read.
 */
export function readLoadedBtf(id: number): Btf {
  const fd = btfGetFdById(id);
  try {
    return decodeBtf(btfRaw(fd));
  } finally {
    closeFd(fd);
  }
}
