// The state file (`<dir>/lab.json`): what a lab made, written before each thing is made
// (namespaces, files) or right after (processes, whose PID is known only then), so
// `down` removes all of it even after `up` crashed half-way. Pure codec.

import { LAB_ERROR_CODE, LabError } from './errors.js';
import { type Lab, type LabSpec } from './ports.js';

/** The state file's format version. */
export const LAB_STATE_VERSION = 1;

/** A process the lab started: its PID and start time (so a reused PID is never killed). */
export interface LabProcessRecord {
  readonly pid: number;
  /** Field 22 of `/proc/<pid>/stat` (clock ticks after boot) when it was recorded. */
  readonly startTime: string;
  /** What it is, for messages (`twill-agent node-1`). */
  readonly what: string;
}

/** The state file's content. */
export interface LabState {
  readonly version: typeof LAB_STATE_VERSION;
  readonly id: string;
  readonly spec: LabSpec;
  /** `building` while up runs (or after it crashed), `up` when it finished. */
  readonly phase: 'building' | 'up';
  /** Whether `up` created the lab's folder (then `down` removes it when empty). */
  readonly createdDir: boolean;
  /** Files and folders directly in the lab's folder that `up` made. */
  readonly entries: readonly string[];
  /** Network namespaces, recorded before each is added. */
  readonly netns: readonly string[];
  readonly processes: readonly LabProcessRecord[];
  /** The lab, once up. */
  readonly lab?: Lab;
}

/** The state file's text. */
export function encodeLabState(state: LabState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

const bad = (path: string, what: string): never => {
  throw new LabError(LAB_ERROR_CODE.BAD_STATE, `${path}: ${what}; remove what it lists by hand (ip netns del, kill) and delete it`);
};

function strings(path: string, field: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) return bad(path, `${field}: must be a list of strings`);
  return value as string[];
}

/**
 * Reads a state file's text.
 * @param path - The file, for messages.
 * @throws LabError `BAD_STATE` naming the file and the field.
 */
export function decodeLabState(path: string, text: string): LabState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return bad(path, `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad(path, 'not a lab state object');
  const record = value as Record<string, unknown>;
  if (record['version'] !== LAB_STATE_VERSION) return bad(path, `version: expected ${LAB_STATE_VERSION} (got ${JSON.stringify(record['version'])})`);
  if (typeof record['id'] !== 'string' || !/^[0-9a-f]{4,16}$/.test(record['id'])) return bad(path, 'id: must be hex');
  if (record['phase'] !== 'building' && record['phase'] !== 'up') return bad(path, `phase: must be "building" or "up" (got ${JSON.stringify(record['phase'])})`);
  if (typeof record['spec'] !== 'object' || record['spec'] === null) return bad(path, 'spec: missing');
  const processes = record['processes'];
  if (!Array.isArray(processes)) return bad(path, 'processes: must be a list');
  processes.forEach((p: unknown, i) => {
    const r = p as Partial<LabProcessRecord> | null;
    if (r === null || typeof r !== 'object' || !Number.isSafeInteger(r.pid) || (r.pid ?? 0) <= 1 || typeof r.startTime !== 'string' || typeof r.what !== 'string') {
      bad(path, `processes[${i}]: must be {pid, startTime, what}`);
    }
  });
  const netns = strings(path, 'netns', record['netns']);
  netns.forEach((name, i) => {
    if (!name.startsWith('twl-') || name.includes('/')) bad(path, `netns[${i}]: ${JSON.stringify(name)} is not a lab namespace`);
  });
  const entries = strings(path, 'entries', record['entries']);
  entries.forEach((name, i) => {
    if (name === '' || name.includes('/') || name === '.' || name === '..') bad(path, `entries[${i}]: ${JSON.stringify(name)} is not a name in the lab's folder`);
  });
  return {
    version: LAB_STATE_VERSION,
    id: record['id'],
    spec: record['spec'] as LabSpec,
    phase: record['phase'],
    createdDir: record['createdDir'] === true,
    entries,
    netns,
    processes: processes as LabProcessRecord[],
    ...(record['lab'] === undefined ? {} : { lab: record['lab'] as Lab }),
  };
}
