// Test helper: a private bpffs instance for pinning tests, and unique pin paths in it.
//
// Each mount of bpffs is its own instance, so every test process mounts one on a
// temporary folder instead of sharing /sys/fs/bpf: no test can unmount another's pins,
// and the host's /sys/fs/bpf is never touched.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmdirSync } from 'node:fs';

import { testName } from '@twill/sys/testing';

let root: string | undefined;
let users = 0;

/** The private bpffs mount point; {@link ensureBpffs} must have been called. */
export function bpffsRoot(): string {
  if (root === undefined) throw new Error('ensureBpffs() first');
  return root;
}

/**
 * Mounts a private bpffs on a temporary folder (once per process) and gives a function
 * that unmounts and removes it when the last user is done.
 */
export function ensureBpffs(): () => void {
  if (root === undefined) {
    const dir = mkdtempSync('/tmp/twt-bpffs-');
    execFileSync('mount', ['-t', 'bpf', 'bpf', dir]);
    root = dir;
  }
  users += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    users -= 1;
    if (users > 0 || root === undefined) return;
    execFileSync('umount', [root]);
    rmdirSync(root);
    root = undefined;
  };
}

/** A pin path unique to this process, in the private bpffs. */
export function pinPath(): string {
  return `${bpffsRoot()}/${testName()}`;
}

/** Pins left in the private bpffs (should be none after each test). */
export function leftovers(): string[] {
  // maps.debug and progs.debug are the kernel's own (bpf_preload puts them in every new mount).
  return root === undefined ? [] : readdirSync(root).filter((name) => name !== 'maps.debug' && name !== 'progs.debug');
}
