// `twill status`: the agent's health, datastore, dataplane, policy, routes, endpoints
// and BGP peers in one screen (or the /v1/status document with -o json|yaml). Exit 1
// when the agent is not ready.

import { agentClientFor, type AgentSocketOptions, type AgentStatus, type BgpStatus, type FlowsStatusView } from '../client/index.js';
import { renderPeerTable } from '../bgp/render.js';
import { type CommandContext } from '../context.js';
import { FailedError } from '../errors.js';
import { renderJson, renderTable, renderYaml, type OutputFormat, type Style } from '../output.js';
import { ageText, NONE } from './columns.js';

/** The options of `status`, as parsed. */
export interface StatusOptions extends AgentSocketOptions {
  readonly output: OutputFormat;
}

/** Runs `status`; 0 when the agent is ready, 1 when it is not. */
export async function runStatus(ctx: CommandContext, options: StatusOptions): Promise<number> {
  const client = agentClientFor(ctx, options);
  const status = await client.status();
  const { stdout } = ctx.io;
  if (options.output === 'json' || options.output === 'yaml') {
    stdout.write(options.output === 'json' ? renderJson(status) : renderYaml(status));
    return status.ready ? 0 : 1;
  }
  stdout.write(renderStatus(status, { style: ctx.style, now: Date.now(), wide: options.output === 'wide' }));
  if (!status.ready) {
    ctx.io.stderr.write(`${new FailedError(ctx.command, '', `the agent at ${client.socketPath} is not ready: ${status.notReady.join(', ')}`).line()}\n`);
    return 1;
  }
  return 0;
}

const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;

// Where the datastore is: the SQLite file, or the Kubernetes API server.
function datastoreWhere(datastore: AgentStatus['datastore']): string {
  const location = datastore.location ?? datastore.path;
  return datastore.type === 'kubernetes' ? `Kubernetes API ${location}` : location;
}

function bgpLine(bgp: BgpStatus | undefined): string {
  if (bgp === undefined) return 'off (routing is not bgp)';
  const established = bgp.peers.filter((p) => p.state === 'Established').length;
  const identity = `AS ${bgp.localAs ?? '?'}, router id ${bgp.routerId ?? '?'}`;
  const problems = bgp.problems.length + bgp.fibProblems.length;
  return `${identity}: ${plural(bgp.peers.length, 'peer')}, ${established} established, ${plural(bgp.originated.length, 'prefix', 'prefixes')} originated${problems === 0 ? '' : `, ${plural(problems, 'problem')}`}`;
}

// The flow observer: where it serves, whether it reads, what it saw and lost; a failure
// to serve or to read is shown in words (the agent runs on without flows).
function flowsLine(flows: FlowsStatusView | undefined, style: Style): string | undefined {
  if (flows === undefined) return undefined;
  if (!flows.enabled) return `off (${flows.reason})`;
  const where = `${flows.socket}${flows.listen === undefined ? '' : ` and ${flows.listen.host.includes(':') ? `[${flows.listen.host}]` : flows.listen.host}:${flows.listen.port}`}`;
  const serving = flows.listening ? `${where}: serving` : style.bad(`${where}: not serving${flows.serveError === undefined ? '' : ` (${flows.serveError})`}`);
  const reading = flows.reading
    ? 'reading the dataplane'
    : style.warn(`not reading the dataplane${flows.readError === undefined ? '' : ` (${flows.readError.message}, at ${flows.readError.time})`}`);
  const lost = flows.lost === 0 ? 'none lost' : style.warn(`${flows.lost} lost`);
  return `${serving}, ${reading}; ${plural(flows.seen, 'flow')} seen, ${lost}, ring of ${flows.capacity}`;
}

/** The status screen. */
export function renderStatus(status: AgentStatus, options: { readonly style: Style; readonly now: number; readonly wide: boolean }): string {
  const { style } = options;
  const dp = status.dataplane;
  const dataplane = dp.error !== undefined
    ? style.bad(`${dp.driver}: ${dp.error}`)
    : dp.driver === 'none'
      ? 'none (policy is not enforced on this node)'
      : `${dp.driver}: ${plural(dp.endpoints?.length ?? 0, 'endpoint')}, ${(dp.endpoints ?? []).filter((e) => e.programmed).length} programmed, ${(dp.drift ?? []).length === 0 ? style.good('in sync') : style.warn(`${plural((dp.drift ?? []).length, 'drift')}: ${(dp.drift ?? []).join('; ')}`)}`;
  const policy = status.controllers.policy;
  const routes = status.controllers.routes;
  const rows: [string, string][] = [
    ['Agent', `${status.ready ? style.good('ready') : style.bad(`NOT READY (${status.notReady.join(', ')})`)}: node ${status.node}, network ${status.network}`],
    ['Datastore', `${datastoreWhere(status.datastore)}: ${status.datastore.open ? 'open' : style.bad('not open')}`],
    ['CNI socket', `${status.cniSocket.path}: ${status.cniSocket.listening ? 'listening' : style.bad('not listening')}, ${plural(status.cniSocket.inFlight, 'call')} in flight`],
    ['API socket', `${status.apiSocket.path}: ${status.apiSocket.listening ? 'listening' : style.bad('not listening')}`],
    ['Dataplane', dataplane],
    ...(policy === undefined
      ? []
      : [['Policy', `${plural(policy.policies, 'policy', 'policies')}, ${plural(policy.endpoints.length, 'endpoint')} known${policy.lastApplyError === undefined ? '' : `; ${style.bad(`last apply failed: ${policy.lastApplyError}`)}`}${policy.problems.length === 0 ? '' : `; ${style.warn(plural(policy.problems.length, 'problem'))}`}`] as [string, string]]),
    ...(routes === undefined ? [] : [['Routes', `${plural(routes.routes.length, 'route')} in the kernel${routes.problems.length === 0 ? '' : `, ${style.bad(`${plural(routes.problems.length, 'refused')}`)}`}`] as [string, string]]),
    ['BGP', bgpLine(status.controllers.bgp)],
  ];
  const flows = flowsLine(status.flows, style);
  if (flows !== undefined) rows.push(['Flows', flows]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  const parts = [rows.map(([k, v]) => `${k.padEnd(width)}${v}`).join('\n') + '\n'];

  const problems = [...(policy?.problems ?? []).map((p) => `policy: ${p}`), ...(routes?.problems ?? []).map((p) => `route ${p.dst}: ${p.error}`),
    ...(status.controllers.bgp?.problems ?? []).map((p) => `BGPPeer ${p.peer}: ${p.reason}`), ...(status.controllers.bgp?.fibProblems ?? []).map((p) => `BGP route ${p.dst}: ${p.error}`)];
  if (problems.length > 0) parts.push(`\nProblems:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);

  parts.push(`\nEndpoints on ${status.node}:${status.endpoints.length === 0 ? ' none' : ''}\n`);
  if (status.endpoints.length > 0) {
    parts.push(renderTable(
      [{ header: 'NAMESPACE' }, { header: 'POD' }, { header: 'ADDRESSES' }, { header: 'INTERFACE' }, ...(options.wide ? [{ header: 'CONTAINER' }] : []), { header: 'AGE' }],
      status.endpoints.map((e) => [e.namespace ?? NONE, e.pod ?? NONE, e.addresses.join(','), e.hostInterface, ...(options.wide ? [e.containerId.slice(0, 12)] : []), ageText(e.since, options.now)]),
      style,
    ));
  }
  const bgp = status.controllers.bgp;
  if (bgp !== undefined) {
    parts.push(`\nBGP peers:${bgp.peers.length === 0 ? ' none' : ''}\n`);
    if (bgp.peers.length > 0) {
      parts.push(renderPeerTable(bgp.peers, style));
    }
  }
  return parts.join('');
}
