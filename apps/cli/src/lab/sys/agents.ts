// Starting a node's twill-agent (from the agent app's sources, with tsx) in the node's
// namespace, installing the plugin with `twill-agent install-cni`, and waiting until an
// agent serves its sockets.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { LAB_ERROR_CODE, LabError } from '../errors.js';
import { type LabPlan, type NodePlan } from '../plan.js';
import { type LabProcessRecord } from '../state.js';
import { answers } from './agent-api.js';
import { processAlive, sleep, startDetached } from './host.js';

/** The twill-agent executable: `TWILL_AGENT_BIN`, else the agent app beside this one (apps/agent/bin). */
export function agentBin(env: NodeJS.ProcessEnv = process.env): string {
  const given = env['TWILL_AGENT_BIN'];
  // src/lab/sys and dist/lab/sys are both four levels under apps/.
  const bin = given !== undefined && given !== '' ? given : fileURLToPath(new URL('../../../../agent/bin/twill-agent.js', import.meta.url));
  if (!existsSync(bin)) throw new LabError(LAB_ERROR_CODE.MISSING_PREREQUISITE, `twill-agent not found at ${bin} (set TWILL_AGENT_BIN to apps/agent/bin/twill-agent.js)`);
  return bin;
}

/**
 * `node` and its arguments running twill-agent: its build (`apps/agent/dist`, what `npm run
 * lab` builds: a third of the start-up CPU) when `TWILL_AGENT_FROM=build`, else its
 * TypeScript sources through tsx (tests: nothing to build, nothing stale).
 */
export function agentArgv(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env['TWILL_AGENT_FROM'] === 'build') {
    const built = fileURLToPath(new URL('../../../../agent/dist/agent/sys/cli.js', import.meta.url));
    if (!existsSync(built)) throw new LabError(LAB_ERROR_CODE.MISSING_PREREQUISITE, `TWILL_AGENT_FROM=build but ${built} does not exist (build it: npx nx run @twill/agent:build)`);
    return [process.execPath, agentBin(env)];
  }
  let tsx: string;
  try {
    tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  } catch (error) {
    throw new LabError(LAB_ERROR_CODE.MISSING_PREREQUISITE, 'tsx cannot be resolved: run npm ci in the repository first', { cause: error });
  }
  return [process.execPath, '--conditions=@twill/source', '--import', tsx, agentBin(env)];
}

/**
 * `twill-agent install-cni` with the first node's configuration: the forwarder and the
 * standalone plugin into `<dir>/bin`, that node's conflist into its folder. `started`
 * gets its PID first (the state file records it: a `down` after a crash stops it).
 * @returns the conflist's text.
 */
export async function installCni(node: NodePlan, started: (pid: number) => Promise<void>): Promise<string> {
  const [file, ...args] = agentArgv();
  const child = spawn(file as string, [...args, 'install-cni', '--config', node.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', (error) => reject(new LabError(LAB_ERROR_CODE.MISSING_PREREQUISITE, `installing the plugin: cannot run ${file as string} (${error.message})`, { cause: error })));
    child.once('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
  if (child.pid !== undefined) await started(child.pid);
  const code = await exited;
  if (code !== 0) throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `installing the plugin: twill-agent install-cni exited with ${code}: ${(err.trim() || out.trim()).split('\n').slice(0, 4).join('; ')}`);
  const conflist = (JSON.parse(out) as { conflist?: string }).conflist;
  if (conflist === undefined) throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `installing the plugin: install-cni did not say where the conflist went: ${out.trim()}`);
  return readFile(conflist, 'utf8');
}

/**
 * Starts the node's agent inside its namespace (`ip netns exec` execs into it, so the
 * PID is the agent's). With eBPF it first mounts a bpffs of its own at /sys/fs/bpf in the
 * private mount namespace `ip netns exec` makes: the agents' pins never meet, and nothing
 * is pinned in the host's bpffs.
 */
export async function startAgent(plan: LabPlan, node: NodePlan): Promise<number> {
  await mkdir(node.dir, { recursive: true });
  const argv = [...agentArgv(), 'run', '--config', node.configFile];
  const inNetns = plan.spec.dataplane === 'ebpf' ? ['sh', '-c', 'mount -t bpf bpf /sys/fs/bpf && exec "$@"', 'twill-agent', ...argv] : argv;
  return startDetached('ip', ['netns', 'exec', node.netns, ...inNetns], node.logFile);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The last lines of a log, for an error message. */
export async function logTail(path: string, lines = 6): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Waits until the agent serves its CNI socket and answers on its API socket (it opens the
 * CNI socket last, after its controllers started).
 * @throws LabError `STEP_FAILED` with the log's tail when it exits or takes over `timeoutMs`.
 */
export async function waitForAgent(node: NodePlan, record: LabProcessRecord, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await processAlive(record))) {
      throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `twill-agent on ${node.name} exited while starting; its log (${node.logFile}) ends:\n${await logTail(node.logFile)}`);
    }
    if ((await exists(node.agentSocket)) && (await answers(node.apiSocket))) return;
    if (Date.now() > deadline) {
      throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `twill-agent on ${node.name} did not serve ${node.agentSocket} and ${node.apiSocket} within ${timeoutMs / 1000} s; its log ends:\n${await logTail(node.logFile)}`);
    }
    await sleep(50);
  }
}
