// The lab's contact with the machine: commands run to completion (`ip`, `birdc`),
// processes by PID with their start times, atomic files. Every namespace operation goes
// through `ip netns` / `ip -n`, so nothing is done in the host's own network namespace.

import { execFile, spawn } from 'node:child_process';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';

import { LAB_ERROR_CODE, LabError } from '../errors.js';
import { type LabProcessRecord } from '../state.js';

/** How a command ended. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `file args` with `input` on stdin; never throws for a non-zero exit. */
export function runCommand(file: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      // A string code is the spawn's own failure (ENOENT, EACCES); a number is the exit code.
      if (error !== null && typeof (error as NodeJS.ErrnoException).code === 'string') {
        reject(new LabError(LAB_ERROR_CODE.MISSING_PREREQUISITE, `${file}: cannot run (${error.message})`, { cause: error }));
        return;
      }
      resolve({ code: child.exitCode ?? 128, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Runs a command that must succeed. @throws LabError `STEP_FAILED` with its stderr. */
export async function mustRun(what: string, file: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const result = await runCommand(file, args, options);
  if (result.code !== 0) {
    const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(0, 4).join('; ');
    throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `${what}: ${file} ${args.join(' ')} exited with ${result.code}${said === '' ? '' : `: ${said}`}`);
  }
  return result.stdout;
}

/** Field 22 of `/proc/<pid>/stat` (start time in clock ticks after boot); undefined when there is no such process. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after its end.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[22 - 3];
  } catch {
    return undefined;
  }
}

/** PF_EXITING in a task's flags (include/linux/sched.h): it is on its way out (killed, or returned from main). */
const PF_EXITING = 0x4;

/**
 * Whether the recorded process still runs: same PID and start time, and neither a zombie
 * (or dead) nor exiting. An exiting process (just sent SIGKILL, say) has already given
 * up its memory and command line but is not a zombie yet: it does not run any more.
 */
export async function processAlive(record: LabProcessRecord): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${record.pid}/stat`, 'utf8');
    // From field 3 (state) on; field 9 is the flags, field 22 the start time.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    return fields[22 - 3] === record.startTime && state !== 'Z' && state !== 'X' && (Number(fields[9 - 3]) & PF_EXITING) === 0;
  } catch {
    return false;
  }
}

/**
 * Stops a recorded process: SIGTERM, then SIGKILL after `graceMs`, only while the PID is
 * still the recorded process. Resolves when it is gone (or was never there).
 * @returns whether it was running.
 */
export async function stopProcess(record: LabProcessRecord, graceMs: number): Promise<boolean> {
  if (!(await processAlive(record))) return false;
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(record.pid, name);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (await processAlive(record)) {
    if (Date.now() > deadline) {
      signal('SIGKILL');
      await sleep(20);
      if (Date.now() > deadline + 5_000) break;
    } else {
      await sleep(20);
    }
  }
  return true;
}

/** The PIDs of processes in a named network namespace (`ip netns pids`); empty when it does not exist. */
export async function pidsInNetns(netns: string): Promise<number[]> {
  const result = await runCommand('ip', ['netns', 'pids', netns]);
  if (result.code !== 0) return [];
  return result.stdout.split('\n').filter((line) => /^\d+$/.test(line.trim())).map((line) => Number(line.trim()));
}

/** Sends SIGKILL to a PID (found inside one of the lab's namespaces). */
export function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The named network namespaces there are (`ip netns list`). */
export async function listNetns(): Promise<Set<string>> {
  const out = await mustRun('listing namespaces', 'ip', ['netns', 'list']);
  return new Set(out.split('\n').map((line) => line.split(' ')[0] ?? '').filter((name) => name !== ''));
}

/** Writes `text` to `path` through a temporary file renamed over it. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o644 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts a long-running process detached from this one (its own session, stdout and
 * stderr appended to `logPath`), so it outlives `twill lab up`. @returns its PID.
 */
export async function startDetached(file: string, args: readonly string[], logPath: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const log = await open(logPath, 'a', 0o644);
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(file, args, { detached: true, stdio: ['ignore', log.fd, log.fd], env });
      child.once('error', (error) => reject(new LabError(LAB_ERROR_CODE.MISSING_PREREQUISITE, `${file}: cannot start (${error.message})`, { cause: error })));
      child.once('spawn', () => {
        child.unref();
        resolve(child.pid as number);
      });
    });
  } finally {
    await log.close();
  }
}
