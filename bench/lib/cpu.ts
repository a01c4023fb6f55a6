// CPU time from /proc, for benchmarks that report CPU per unit of work beside wall
// time (a loaded machine stretches wall time; the CPU a unit of work costs moves less).
// proc(5): /proc/PID/stat fields 14-17 are utime, stime, cutime, cstime; the first
// line of /proc/stat is the whole machine's time per state. Both count clock ticks
// (USER_HZ, 100 per second on Linux).
import { readFileSync } from 'node:fs';

/** Milliseconds per USER_HZ tick: Linux reports 100 ticks per second to user space. */
const TICK_MS = 10;

/** The fields of /proc/PID/stat after the command name (which may hold spaces). */
function statFields(pid: number | 'self'): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
  if (fields.length < 15) throw new Error(`/proc/${pid}/stat: expected at least 17 fields, got ${JSON.stringify(text)}`);
  return fields;
}

/**
 * CPU time (user + system) a process used so far, in milliseconds; with `children`,
 * that of its children that have ended and been waited for instead.
 * @throws {Error} when the process is gone (ENOENT) or the file is not what proc(5) says.
 */
export function processCpuMs(pid: number | 'self', options: { readonly children?: boolean } = {}): number {
  const fields = statFields(pid);
  // After the command: state is field 3, so utime (14) is at index 11, cutime (16) at 13.
  const at = options.children === true ? 13 : 11;
  return (Number(fields[at]) + Number(fields[at + 1])) * TICK_MS;
}

/** The whole machine's CPU time per state since boot (all CPUs summed), in milliseconds. */
export interface MachineCpu {
  readonly user: number;
  readonly nice: number;
  readonly system: number;
  readonly idle: number;
  readonly iowait: number;
  readonly irq: number;
  readonly softirq: number;
  readonly steal: number;
}

const MACHINE_FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/**
 * Reads the `cpu` line of /proc/stat.
 * @throws {Error} when the line is missing or has fewer than 8 numbers.
 */
export function machineCpu(): MachineCpu {
  return parseMachineCpu(readFileSync('/proc/stat', 'utf8'));
}

/** Parses the text of /proc/stat (pure, for {@link machineCpu}). @throws {Error} as `machineCpu`. */
export function parseMachineCpu(text: string): MachineCpu {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  const numbers = line?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  if (numbers.length < MACHINE_FIELDS.length || numbers.some((n) => !Number.isFinite(n))) {
    throw new Error(`/proc/stat: expected a "cpu" line of at least ${MACHINE_FIELDS.length} numbers, got ${JSON.stringify(line ?? text.slice(0, 80))}`);
  }
  return Object.fromEntries(MACHINE_FIELDS.map((name, i) => [name, (numbers[i] ?? 0) * TICK_MS])) as unknown as MachineCpu;
}

/** `after - before`, state by state. */
export function machineCpuSince(before: MachineCpu, after: MachineCpu = machineCpu()): MachineCpu {
  return Object.fromEntries(MACHINE_FIELDS.map((name) => [name, after[name] - before[name]])) as unknown as MachineCpu;
}

/** A process's CPU time so far split by mode, in milliseconds. */
export interface ProcessCpuSplit {
  /** User mode (utime): the process's own code. */
  readonly user: number;
  /** Kernel mode (stime): its system calls, and softirq work the kernel charges to it (the network path of what it sends). */
  readonly system: number;
}

/**
 * {@link processCpuMs} split into user and system time.
 * @throws {Error} as `processCpuMs`.
 */
export function processCpuSplitMs(pid: number | 'self'): ProcessCpuSplit {
  const fields = statFields(pid);
  return { user: Number(fields[11]) * TICK_MS, system: Number(fields[12]) * TICK_MS };
}
