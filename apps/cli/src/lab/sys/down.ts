// `twill lab down`: everything the state file says the lab made goes, in an order that
// leaves nothing behind: the recorded processes (SIGTERM, then SIGKILL), any other process
// still inside a lab namespace (pod servers, a plugin in flight), the namespaces (their
// links, bridge, routes and nft tables go with them; each agent's bpffs lived in its own
// mount namespace and went with the agent), then the lab's files and the state file last.

import { readdir, rm, rmdir } from 'node:fs/promises';
import { posix } from 'node:path';

import { demoDown, demoFiles } from '../demo/index.js';
import { LAB_STATE_FILE } from '../plan.js';
import { type LabDownReport } from '../ports.js';
import { killPid, listNetns, pidsInNetns, runCommand, sleep, stopProcess } from './host.js';
import { readLabState } from './state-file.js';

/** How long an agent gets to stop after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 3_000;

/** See LabDown in ports.ts. */
export async function labDown(dir: string): Promise<LabDownReport> {
  const state = await readLabState(dir);
  if (state === undefined) return { wasUp: false, removed: [], problems: [] };
  const removed: string[] = [];
  const problems: string[] = [];

  await Promise.all(
    state.processes.map(async (record) => {
      if (await stopProcess(record, STOP_GRACE_MS)) removed.push(`process ${record.pid} (${record.what})`);
    }),
  );

  // The demonstration's pod servers by their PIDs, and its folder (they would also go with their namespaces).
  try {
    removed.push(...(await demoDown(demoFiles(dir).dir)));
  } catch (error) {
    problems.push(`the demonstration's servers: ${error instanceof Error ? error.message : String(error)}`);
  }

  const existing = await listNetns();
  const namespaces = state.netns.filter((name) => existing.has(name));
  // Whatever still runs inside the lab's namespaces was started in them: the pods' servers, a command of `lab exec`.
  for (let round = 0; round < 3; round++) {
    const pids = (await Promise.all(namespaces.map((name) => pidsInNetns(name)))).flat();
    if (pids.length === 0) break;
    for (const pid of pids) killPid(pid);
    if (round === 0) removed.push(...pids.map((pid) => `process ${pid} (in a lab namespace)`));
    await sleep(50);
  }
  if (namespaces.length > 0) {
    const result = await runCommand('ip', ['-force', '-batch', '-'], { input: namespaces.map((name) => `netns del ${name}\n`).join('') });
    const left = await listNetns();
    for (const name of namespaces) {
      if (left.has(name)) problems.push(`namespace ${name}: ${result.stderr.trim() || 'still there after ip netns del'}`);
      else removed.push(`namespace ${name}`);
    }
  }

  for (const entry of state.entries.filter((e) => e !== LAB_STATE_FILE)) {
    const path = posix.join(dir, entry);
    try {
      await rm(path, { recursive: true, force: true });
    } catch (error) {
      problems.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (problems.length === 0) {
    // A state write cut short by a crash leaves its temporary file (`lab.json.<pid>.tmp`) beside it.
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith(`${LAB_STATE_FILE}.`) && name.endsWith('.tmp')) await rm(posix.join(dir, name), { force: true });
    }
    await rm(posix.join(dir, LAB_STATE_FILE), { force: true });
    removed.push(`files in ${dir}`);
    if (state.createdDir) {
      try {
        if ((await readdir(dir)).length === 0) await rmdir(dir);
      } catch {
        // someone else's file in it, or already gone: the folder stays
      }
    }
  }
  return { wasUp: true, removed, problems };
}
