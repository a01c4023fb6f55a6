/** The possible CPUs, which size per-CPU map values. */
import { readFileSync } from 'node:fs';

import { parseCpuList } from '../cpu-list.js';

/** Where the kernel lists the possible CPUs (Documentation/ABI/testing/sysfs-devices-system-cpu). */
export const POSSIBLE_CPUS_PATH = '/sys/devices/system/cpu/possible';

let cached: number | undefined;

/**
 * How many CPUs are possible on this machine: per-CPU maps hold one value for each
 * (the kernel's `num_possible_cpus()`). Read once, then cached.
 */
export function possibleCpuCount(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): number {
  cached ??= parseCpuList(read(POSSIBLE_CPUS_PATH)).length;
  return cached;
}
