// `twill lab exec POD -- CMD...`: a command in a pod's network namespace.

import { spawn } from 'node:child_process';
import { constants } from 'node:os';

import { LAB_ERROR_CODE, LabError } from '../errors.js';
import { type Lab, type LabExecOptions, type LabExecResult, type LabPod } from '../ports.js';
import { readLabState } from './state-file.js';
import { upLab } from './status.js';

/** The pod `ref` names (`name` or `namespace/name`) in `lab`. @throws LabError `NO_SUCH_POD`, `AMBIGUOUS_POD`. */
export function findPod(lab: Lab, ref: string): LabPod {
  const slash = ref.indexOf('/');
  const matches = slash < 0 ? lab.pods.filter((p) => p.name === ref) : lab.pods.filter((p) => p.namespace === ref.slice(0, slash) && p.name === ref.slice(slash + 1));
  if (matches.length === 1) return matches[0] as LabPod;
  if (matches.length > 1) throw new LabError(LAB_ERROR_CODE.AMBIGUOUS_POD, `${ref}: pods of that name are in ${matches.map((p) => p.namespace).join(', ')}; say namespace/name`);
  const names = lab.pods.map((p) => `${p.namespace}/${p.name}`);
  throw new LabError(LAB_ERROR_CODE.NO_SUCH_POD, `${ref}: no such pod in the lab (pods: ${names.length === 0 ? 'none' : names.join(', ')})`);
}

/** See LabExec in ports.ts. */
export async function labExec(dir: string, ref: string, argv: readonly string[], options: LabExecOptions = {}): Promise<LabExecResult> {
  const pod = findPod(upLab(dir, await readLabState(dir)), ref);
  if (argv.length === 0) throw new LabError(LAB_ERROR_CODE.INVALID_SPEC, 'a command to run is required (twill lab exec POD -- CMD...)');
  const inherit = options.stdio === 'inherit';
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', pod.netns, ...argv], { stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new LabError(LAB_ERROR_CODE.MISSING_PREREQUISITE, `ip netns exec: cannot run (${error.message})`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const exitCode = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
      resolve({ exitCode, stdout, stderr });
    });
  });
}
