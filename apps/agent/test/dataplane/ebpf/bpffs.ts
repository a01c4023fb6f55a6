// Test helper: a private bpffs mount for the driver's pins (bpffs is not mounted at
// /sys/fs/bpf on the test machines, and a private instance keeps every test's pins
// apart from the host's and from other tests').
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmdirSync } from 'node:fs';

import { testName } from '@twill/sys/testing';

/** A mounted private bpffs; `pinRoot()` gives a fresh pin root inside it. */
export interface PrivateBpffs {
  readonly mountPoint: string;
  /** A pin root unique to this call (not created: the driver creates it). */
  pinRoot(): string;
  /** What is left in the mount, less the kernel's own preload entries. */
  leftovers(): string[];
  /** Unmounts and removes the mount point. */
  close(): void;
}

/** Mounts a private bpffs on a temporary folder. */
export function mountPrivateBpffs(): PrivateBpffs {
  const mountPoint = mkdtempSync('/tmp/twt-bpffs-');
  execFileSync('mount', ['-t', 'bpf', 'bpf', mountPoint]);
  return {
    mountPoint,
    pinRoot: () => `${mountPoint}/${testName()}`,
    // maps.debug and progs.debug are the kernel's own (bpf_preload puts them in every new mount).
    leftovers: () => readdirSync(mountPoint).filter((n) => n !== 'maps.debug' && n !== 'progs.debug'),
    close: () => {
      execFileSync('umount', [mountPoint]);
      if (existsSync(mountPoint)) rmdirSync(mountPoint);
    },
  };
}
