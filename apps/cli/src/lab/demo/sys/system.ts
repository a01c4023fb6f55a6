// The demonstration's contact with the machine: a server per pod, run inside the pod's
// network namespace (`ip netns exec NS node pod-server.mjs ...`), which is also the pod's
// prober (asked over a Unix socket); the demonstration's files; the servers' PIDs for
// `lab down`.

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type DemoSystem, type PodProbe, type PodProbeResult, type ServerRecord } from '../system-port.js';

// The programs and policies live beside this file in src/. From dist/lab/demo/sys/ the
// same relative path leads back to them (src/ and dist/ mirror each other one level under
// the package), and tsc copies neither .mjs nor .yaml files into dist/.
const SRC_DEMO = new URL('../../../../src/lab/demo/', import.meta.url);
const program = (name: string): string => fileURLToPath(new URL(`sys/${name}`, SRC_DEMO));

/** The folder of the demonstration's policy files. */
export const DEMO_POLICIES_DIR = fileURLToPath(new URL('policies/', SRC_DEMO));

/** The pod server's program (pod-server.mjs). */
export const POD_SERVER_PROGRAM = program('pod-server.mjs');

/** The start time of a process (field 22 of /proc/PID/stat), so a recycled PID is not taken for it. */
async function startTimeOf(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
  } catch {
    return undefined;
  }
}

/**
 * Starts a pod server in `netns` and resolves with its record once it listens on `port`
 * and its prober on `controlSocket`. The server runs on after this process exits (its
 * own session; stdout closed after its first line; stderr appended to `logFile`).
 * @throws Error with the server's stderr when it exits or does not listen within `timeoutMs`.
 */
export function startPodServer(options: { netns: string; pod: string; role: string; port: number; controlSocket: string; logFile: string; timeoutMs?: number }): Promise<ServerRecord> {
  const { netns, pod, role, port, controlSocket, logFile } = options;
  return new Promise((resolve, reject) => {
    void Promise.all([mkdir(dirname(logFile), { recursive: true }), mkdir(dirname(controlSocket), { recursive: true })]).then(() => {
      const log = openSync(logFile, 'a');
      // `ip netns exec` execs the program, so the child's PID is the server's.
      const child = spawn('ip', ['netns', 'exec', netns, process.execPath, POD_SERVER_PROGRAM, role, String(port), pod, controlSocket], {
        detached: true,
        stdio: ['ignore', 'pipe', log],
      });
      closeSync(log);
      let out = '';
      let settled = false;
      const finish = (error: Error | undefined, record?: ServerRecord): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.stdout?.destroy();
        child.unref();
        if (error !== undefined) {
          if (child.exitCode === null) child.kill('SIGTERM');
          void readFile(logFile, 'utf8').catch(() => '').then((text) => {
            const said = text.trim().split('\n').slice(-3).join('; ');
            reject(new Error(`${error.message}${said === '' ? '' : `: ${said}`}`));
          });
        } else resolve(record as ServerRecord);
      };
      const timer = setTimeout(() => finish(new Error(`the ${role} server of ${pod} did not listen on ${port} within ${options.timeoutMs ?? 10_000} ms`)), options.timeoutMs ?? 10_000);
      child.once('error', (error) => finish(new Error(`cannot start the ${role} server of ${pod}: ${error.message}`)));
      child.once('exit', (code, signal) => finish(new Error(`the ${role} server of ${pod} exited (${signal ?? `code ${code}`}) before listening`)));
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        out += chunk;
        if (!out.includes('\n')) return;
        const pid = child.pid as number;
        child.removeAllListeners('exit');
        void startTimeOf(pid).then((startTime) => finish(undefined, { pod, role, port, netns, controlSocket, pid, ...(startTime === undefined ? {} : { startTime }) }));
      });
    }).catch((error: unknown) => reject(error instanceof Error ? error : new Error(String(error))));
  });
}

/**
 * Asks the server of a pod to run `probes` from inside its namespace, all at once.
 * @throws Error when its control socket does not answer with a result per probe.
 */
export function probeThroughServer(server: ServerRecord, probes: readonly PodProbe[], timeoutMs: number): Promise<PodProbeResult[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.controlSocket);
    let answer = '';
    const fail = (what: string): void => {
      socket.destroy();
      reject(new Error(`the prober of ${server.pod} (${server.controlSocket}) ${what}`));
    };
    // The server bounds every probe by timeoutMs; this bounds a server that hangs.
    socket.setTimeout(timeoutMs + 10_000, () => fail(`did not answer within ${timeoutMs + 10_000} ms`));
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ timeoutMs, probes })}\n`));
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', (error) => fail(`cannot be reached: ${error.message}`));
    socket.on('end', () => {
      try {
        const parsed = JSON.parse(answer) as { results?: PodProbeResult[]; error?: string };
        if (parsed.error !== undefined) return fail(`failed: ${parsed.error}`);
        if (!Array.isArray(parsed.results) || parsed.results.length !== probes.length) return fail(`answered ${parsed.results?.length ?? 'no'} results for ${probes.length} probes`);
        resolve(parsed.results);
      } catch {
        fail(`answered ${JSON.stringify(answer.slice(0, 120))}`);
      }
      return undefined;
    });
  });
}

/**
 * Stops the servers a record file lists (SIGTERM), each only when its PID still has the
 * recorded start time (a recycled PID is left alone). Missing file: nothing to do.
 * @returns what was stopped, in words (`process 4242 (api-server production/api-server)`).
 */
export async function stopServersOf(recordFile: string): Promise<string[]> {
  let records: ServerRecord[];
  try {
    records = (JSON.parse(await readFile(recordFile, 'utf8')) as { servers: ServerRecord[] }).servers;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const stopped: string[] = [];
  for (const record of records) {
    const now = await startTimeOf(record.pid);
    if (now === undefined || (record.startTime !== undefined && now !== record.startTime)) continue;
    try {
      process.kill(record.pid, 'SIGTERM');
      stopped.push(`process ${record.pid} (${record.role} ${record.pod})`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
  return stopped;
}

/**
 * Undoes the demonstration in a lab's folder: stops the servers `<demoDir>/servers.json`
 * lists, then removes `demoDir` (snapshot, logs, probe sockets). Idempotent.
 * @returns what was done, in words, as `labDown` reports it.
 */
export async function demoDown(demoDir: string): Promise<string[]> {
  const removed = await stopServersOf(join(demoDir, 'servers.json'));
  const existed = await stat(demoDir).then(() => true, () => false);
  await rm(demoDir, { recursive: true, force: true });
  return existed ? [...removed, `folder ${demoDir}`] : removed;
}

/** The machine's {@link DemoSystem}. */
export function nodeDemoSystem(): DemoSystem {
  return {
    policiesDir: DEMO_POLICIES_DIR,
    startServer: startPodServer,
    probe: probeThroughServer,
    async writeText(path, text) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
    },
    readText: (path) => readFile(path, 'utf8'),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => performance.now(),
  };
}
