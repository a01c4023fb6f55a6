/** Branded file descriptors, so a map's fd is never passed where a program's is expected. */

declare const mapFdBrand: unique symbol;
declare const programFdBrand: unique symbol;
declare const linkFdBrand: unique symbol;
declare const btfFdBrand: unique symbol;

/** A file descriptor of a BPF map. */
export type MapFd = number & { readonly [mapFdBrand]: true };
/** A file descriptor of a loaded BPF program. */
export type ProgramFd = number & { readonly [programFdBrand]: true };
/** A file descriptor of a BPF link (5.7). */
export type LinkFd = number & { readonly [linkFdBrand]: true };
/** A file descriptor of loaded BTF (4.18). */
export type BtfFd = number & { readonly [btfFdBrand]: true };
