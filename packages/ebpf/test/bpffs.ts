// Test helper: a bpffs mount at /sys/fs/bpf for pinning tests, and unique pin paths.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

import { testName } from '@twill/sys/testing';

export const BPFFS = '/sys/fs/bpf';

function mounted(): boolean {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === BPFFS && line.split(' ')[2] === 'bpf');
}

/**
 * Mounts bpffs at /sys/fs/bpf when nothing is mounted there (as the agent does at start),
 * and gives a function that unmounts it again only if this call mounted it and it is empty.
 */
export function ensureBpffs(): () => void {
  if (mounted()) return () => undefined;
  execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS]);
  return () => {
    // maps.debug and progs.debug are the kernel's own (bpf_preload puts them in every new mount).
    const ours = readdirSync(BPFFS).filter((name) => name !== 'maps.debug' && name !== 'progs.debug');
    if (mounted() && ours.length === 0) execFileSync('umount', [BPFFS]);
  };
}

/** A pin path unique to this process: `/sys/fs/bpf/twt-<pid>-<n>`. */
export function pinPath(): string {
  return `${BPFFS}/${testName()}`;
}

/** This process's leftovers in bpffs (should be none after each test). */
export function leftovers(): string[] {
  const prefix = `twt-${process.pid.toString(36)}-`;
  return mounted() ? readdirSync(BPFFS).filter((name) => name.startsWith(prefix)) : [];
}
