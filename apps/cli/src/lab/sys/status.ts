// `twill lab status`: the lab as recorded, and what runs now: each agent's process, its
// BGP sessions and its L7 proxy (from its API), the ToR's sessions (from birdc).

import { LAB_ERROR_CODE, LabError } from '../errors.js';
import { type Lab, type LabNodeStatus, type LabStatus } from '../ports.js';
import { parseBirdProtocols } from '../plan.js';
import { type LabState } from '../state.js';
import { bgpSessions, l7Status } from './agent-api.js';
import { processAlive, runCommand } from './host.js';
import { readLabState } from './state-file.js';

/** The lab of a state file, or NOT_UP when `up` did not finish. */
export function upLab(dir: string, state: LabState | undefined): Lab {
  if (state === undefined) throw new LabError(LAB_ERROR_CODE.NOT_UP, `no lab is up in ${dir} (twill lab up starts one)`);
  if (state.phase !== 'up' || state.lab === undefined) {
    throw new LabError(LAB_ERROR_CODE.NOT_UP, `the lab in ${dir} did not finish coming up (it crashed or is still starting): twill lab down removes what it made`);
  }
  return state.lab;
}

/** See LabStatusOf in ports.ts. */
export async function labStatus(dir: string): Promise<LabStatus | undefined> {
  const state = await readLabState(dir);
  if (state === undefined) return undefined;
  const lab = upLab(dir, state);
  const nodes = await Promise.all(
    lab.nodes.map(async (node): Promise<LabNodeStatus> => {
      const record = state.processes.find((p) => p.pid === node.agentPid);
      const agentAlive = record !== undefined && (await processAlive(record));
      if (!agentAlive) return { node, agentAlive, bgpSessions: [], problem: `twill-agent (PID ${node.agentPid}) is not running; see ${node.logFile}` };
      try {
        const [sessions, l7] = await Promise.all([bgpSessions(node.apiSocket), l7Status(node.apiSocket)]);
        return { node, agentAlive, bgpSessions: sessions, ...(l7 === undefined ? {} : { l7 }) };
      } catch (error) {
        return { node, agentAlive, bgpSessions: [], problem: `agent not answering on ${node.apiSocket}: ${error instanceof Error ? error.message : String(error)}` };
      }
    }),
  );
  if (lab.tor === undefined) return { lab, nodes };
  const tor = lab.tor;
  const record = state.processes.find((p) => p.pid === tor.pid);
  const alive = record !== undefined && (await processAlive(record));
  const byName = new Map(lab.nodes.map((n) => [n.name.replaceAll('-', '_'), n.address]));
  const out = alive ? await runCommand('birdc', ['-s', tor.controlSocket, 'show', 'protocols']) : undefined;
  const sessions = out === undefined || out.code !== 0 ? [] : parseBirdProtocols(out.stdout).map((row) => ({ peer: byName.get(row.name) ?? row.name, state: row.info === '' ? row.state : row.info }));
  return { lab, nodes, tor: { alive, sessions } };
}
