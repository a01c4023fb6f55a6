/**
 * The link code's other contacts with the kernel: running a `bpf(2)` call with the thread
 * inside a network namespace (tcx and XDP resolve their ifindex in the caller's
 * namespace), opening a cgroup folder, and removing a pin from bpffs.
 */
import { closeSync, constants, openSync, unlinkSync } from 'node:fs';

import { type NetnsRef, runInNetns } from '@twill/sys';

/** Runs `fn` inside `netns` when given, else here. `fn` must be synchronous. */
export function inNetns<T>(netns: NetnsRef | undefined, fn: () => T): T {
  return netns === undefined ? fn() : runInNetns(netns, fn);
}

/**
 * Opens a cgroup v2 folder (such as `/sys/fs/cgroup/twill`) read-only, for
 * `BPF_LINK_CREATE`'s `target_fd`. The caller closes it.
 * @throws {Error} from `open(2)`: `ENOENT`, `ENOTDIR`.
 */
export function openCgroupFolder(path: string): number {
  return openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
}

/** Closes a descriptor this folder opened. */
export function closeDescriptor(fd: number): void {
  closeSync(fd);
}

/** Removes a pin (a file in bpffs); the object lives on while something else holds it. */
export function removePin(path: string): void {
  unlinkSync(path);
}
