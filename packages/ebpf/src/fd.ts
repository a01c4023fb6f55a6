/** Branded file descriptors, so a map's fd is never passed where a program's is expected. */

declare const mapFdBrand: unique symbol;
declare const programFdBrand: unique symbol;
declare const linkFdBrand: unique symbol;
declare const btfFdBrand: unique symbol;

/** A file descriptor of a BPF map. */
export type MapFd = number & {
  /** A type-only brand: a map fd is a plain number at run time. */
  readonly [mapFdBrand]: true;
};
/** A file descriptor of a loaded BPF program. */
export type ProgramFd = number & {
  /** A type-only brand: a program fd is a plain number at run time. */
  readonly [programFdBrand]: true;
};
/** A file descriptor of a BPF link (5.7). */
export type LinkFd = number & {
  /** A type-only brand: a link fd is a plain number at run time. */
  readonly [linkFdBrand]: true;
};
/** A file descriptor of loaded BTF (4.18). */
export type BtfFd = number & {
  /** A type-only brand: a BTF object fd is a plain number at run time. */
  readonly [btfFdBrand]: true;
};
