/** Reading an object file from disk: the only I/O of the ELF reader. */
import { readFileSync } from 'node:fs';

import { decodeCollectionSpec } from '../decode.js';
import type { CollectionSpec } from '../spec.js';

/**
 * Reads a BPF object file (`clang -O2 -g -target bpf -c x.c -o x.o`) and decodes it
 * with {@link decodeCollectionSpec}.
 * @throws {ElfError} when the file is not a BPF object this package can read.
 * @throws {Error} from the file system (`ENOENT`, `EACCES`).
 */
export function readCollectionSpec(path: string): CollectionSpec {
  return decodeCollectionSpec(readFileSync(path));
}
