// `twill lab status` for people: the nodes with their agent, L7 proxy and BGP sessions,
// the problems, the ToR, the pods. Pure: the status is read by sys/status.ts.

import { type L7StatusView } from '../client/index.js';
import { renderTable, type Style } from '../output.js';
import { type LabStatus } from './ports.js';

/** A node's L7 proxy in a table cell, and why it does not run (a line under the table). */
export interface L7StateText {
  /** `running (:15001)`, `not running`, `off`, `-` (not known). */
  readonly cell: string;
  /** Why it does not run and what that means for the traffic HTTP rules decide; absent when it runs or is not known. */
  readonly why?: string;
}

// Why the proxy does not run, in the agent's words: its error, else what the redirect misses.
function notRunningReason(view: Extract<L7StatusView, { enabled: true }>): string {
  if (view.error !== undefined) return view.error;
  const redirect = view.redirect;
  if (redirect?.lastError !== undefined) return `its redirect: ${redirect.lastError}`;
  if (redirect !== undefined && redirect.missing.length > 0) return `its redirect misses ${redirect.missing.join(', ')}`;
  return 'the agent gave no reason';
}

/** What `twill lab status` says of a node's L7 proxy (`undefined`: the agent did not say). */
export function l7StateText(view: L7StatusView | undefined, style: Style): L7StateText {
  if (view === undefined) return { cell: '-' };
  if (!view.enabled) return { cell: style.warn('off'), why: `L7 proxy off (${view.reason}): HTTP rules are not enforced` };
  if (view.running) return { cell: style.good(view.listening === undefined ? 'running' : `running (:${view.listening.port})`) };
  const effect = view.failClosed ? 'traffic an HTTP rule decides is denied (fail-closed)' : 'traffic an HTTP rule decides is admitted at L4, its HTTP rules unchecked';
  return { cell: style.bad('not running'), why: `L7 proxy not running: ${notRunningReason(view)}; ${effect}` };
}

/** The text of `twill lab status` (table output). */
export function labStatusText(status: LabStatus, style: Style): string {
  const state = (s: string): string => (s === 'Established' ? style.good(s) : style.warn(s));
  const l7 = status.nodes.map((n) => l7StateText(n.l7, style));
  const nodes = renderTable(
    [{ header: 'NODE' }, { header: 'ADDRESS' }, { header: 'BLOCK' }, { header: 'AGENT' }, { header: 'L7 PROXY' }, { header: 'BGP SESSIONS' }],
    status.nodes.map((n, i) => [
      n.node.name,
      n.node.address,
      n.node.block ?? '-',
      n.agentAlive ? style.good(`running (${n.node.agentPid})`) : style.bad('not running'),
      l7[i]?.cell ?? '-',
      n.bgpSessions.length === 0 ? (n.problem === undefined ? '-' : style.bad('unknown')) : n.bgpSessions.map((s) => `${s.peer} ${state(s.state)}`).join(', '),
    ]),
    style,
  );
  const problems = status.nodes.flatMap((n, i) => [
    ...(n.problem === undefined ? [] : [`${n.node.name}: ${n.problem}\n`]),
    ...(l7[i]?.why === undefined ? [] : [`${n.node.name}: ${l7[i]?.why ?? ''}\n`]),
  ]).join('');
  const tor =
    status.tor === undefined
      ? 'ToR: none (full mesh)\n'
      : `ToR ${status.lab.tor?.address ?? ''}: ${status.tor.alive ? style.good('bird running') : style.bad('bird not running')}${status.tor.sessions.map((s) => `, ${s.peer} ${state(s.state)}`).join('')}\n`;
  const pods = renderTable(
    [{ header: 'POD' }, { header: 'NODE' }, { header: 'ADDRESS' }, { header: 'LABELS' }],
    status.lab.pods.map((p) => [`${p.namespace}/${p.name}`, p.node, p.address, Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(',')]),
    style,
  );
  return `lab ${status.lab.id} in ${status.lab.dir}, up since ${status.lab.upAt} (${status.lab.spec.dataplane})\n\n${nodes}${problems}${tor}\n${pods}`;
}
