// `twill policy explain --flow ID`: one flow the observer recorded, what decided its
// verdict (the flow's `decidedBy`: the policy, tier, rule path, how the rule was found),
// and the rule itself as it stands now in the stored object, read through the agent's
// API: or that the object changed or is gone since the flow.

import { type DecidingRule, type Flow, type FlowPolicy } from '@twill/flows';
import { stringify } from 'yaml';

import { AgentApiError, agentClientFor, type AgentClient, type AgentSocketOptions, type KindInfo, type StoredResource } from '../client/index.js';
import { type CommandContext } from '../context.js';
import { CliError, EXIT, FailedError, UsageError } from '../errors.js';
import { observerTargets, readAll, type ObserverTarget } from '../observe/observe.js';
import { decisionText, destinationText, flowTimeText, policyText, protocolText, sourceText, verdictText } from '../observe/render.js';
import { renderJson, renderYaml, type OutputFormat } from '../output.js';
import { objectText } from './explain.js';

/** The options of `policy explain --flow`, as parsed. */
export interface ExplainFlowOptions extends AgentSocketOptions {
  readonly flow: string;
  readonly server?: string;
  /** `--lab [DIR]`: look for the flow on every node of the lab (true: the default folder). */
  readonly lab?: string | true;
  readonly output: OutputFormat;
}

/** Whether the stored object is the one the flow was decided by. */
export type SourceState =
  /** Its resourceVersion is the flow's revision. */
  | 'same'
  /** It was written since the flow: the rule shown is today's. */
  | 'changed'
  /** The flow carries no revision to compare. */
  | 'unknown'
  /** No such object any more. */
  | 'gone';

/** A deciding policy and its stored object now. */
export interface FlowSourceJson {
  /** `GlobalNetworkPolicy default-deny`. */
  readonly policy: string;
  /** `globalnetworkpolicies.projectcalico.org/default-deny@42`, when it is there. */
  readonly object?: string;
  readonly state: SourceState;
  /** The rule's path in the object (`spec.ingress[0]`), for the deciding rule. */
  readonly rulePath?: string;
  /** The rule as it is now; absent when the object (or the rule in it) is gone. */
  readonly rule?: unknown;
  /** What to say about it, one sentence. */
  readonly note?: string;
}

/** What `-o json` prints. */
export interface FlowExplanationJson {
  readonly flow: Flow;
  readonly sources: readonly FlowSourceJson[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The value at `path` (`spec.ingress[0]`, `specs[1].egress[2]`) of `object`, or undefined. */
export function valueAt(object: unknown, path: string): unknown {
  let value: unknown = object;
  for (const part of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (value === null || typeof value !== 'object') return undefined;
    value = part.startsWith('[') ? (Array.isArray(value) ? value[Number(part.slice(1, -1))] : undefined) : (value as Record<string, unknown>)[part];
  }
  return value;
}

// The API group of each dialect a policy's labels may name.
const DIALECT_GROUPS: Readonly<Record<string, string>> = { kubernetes: 'networking.k8s.io', calico: 'projectcalico.org', cilium: 'cilium.io' };
// The agent's dialect label (`k8s:io.twill.policy.dialect=calico`, beside Cilium's policy labels).
const DIALECT_LABEL = /^(?:[a-z0-9-]+:)?io\.twill\.policy\.dialect=([a-z]+)$/;

/** The kinds a flow's policy may be stored as: those the agent serves under its kind name (the dialect's group first when its labels say). */
export function candidateKinds(policy: FlowPolicy, kinds: readonly KindInfo[]): KindInfo[] {
  const dialect = policy.labels.map((l) => DIALECT_LABEL.exec(l)?.[1]).find((d) => d !== undefined);
  const group = dialect === undefined ? undefined : DIALECT_GROUPS[dialect];
  const matching = kinds.filter((k) => k.kind === policy.kind && k.namespaced === (policy.namespace !== undefined && policy.namespace !== ''));
  return group === undefined ? matching : [...matching.filter((k) => k.id.endsWith(`.${group}`)), ...matching.filter((k) => !k.id.endsWith(`.${group}`))];
}

async function storedObject(client: AgentClient, policy: FlowPolicy, kinds: readonly KindInfo[]): Promise<{ kindId: string; resource: StoredResource } | undefined> {
  const found: { kindId: string; resource: StoredResource }[] = [];
  for (const kind of candidateKinds(policy, kinds)) {
    try {
      const namespace = policy.namespace === undefined || policy.namespace === '' ? {} : { namespace: policy.namespace };
      found.push({ kindId: kind.id, resource: await client.get(kind.id, policy.name, namespace) });
    } catch (error) {
      if (!(error instanceof AgentApiError && error.status === 404)) throw error;
    }
  }
  // Two dialects' objects of one kind name (NetworkPolicy): the one at the flow's revision.
  return found.find((f) => policy.revision > 0 && f.resource.metadata.resourceVersion === String(policy.revision)) ?? found[0];
}

/** The source of one deciding policy: its object now and, for the deciding rule, the rule. */
async function sourceOf(client: AgentClient, kinds: readonly KindInfo[], policy: FlowPolicy, rulePath: string | undefined): Promise<FlowSourceJson> {
  const name = policyText(policy);
  const stored = await storedObject(client, policy, kinds);
  if (stored === undefined) return { policy: name, state: 'gone', ...(rulePath === undefined ? {} : { rulePath }), note: 'the object is gone since the flow: deleted, or renamed' };
  const version = stored.resource.metadata.resourceVersion;
  const state: SourceState = policy.revision <= 0 ? 'unknown' : String(policy.revision) === version ? 'same' : 'changed';
  const note = state === 'changed' ? `the object changed since the flow (then revision ${policy.revision}, now ${version}): what follows is the rule as it is now` : undefined;
  const base = { policy: name, object: objectText(stored.kindId, stored.resource), state };
  if (rulePath === undefined) return { ...base, ...(note === undefined ? {} : { note }) };
  // `spec.ingress[0] from[1]`: the rule, and the part of it that matched.
  const path = rulePath.split(' ')[0] ?? rulePath;
  const rule = valueAt(stored.resource, path);
  if (rule === undefined) return { ...base, rulePath, note: `the object has no ${path} any more: the rule is gone since the flow` };
  return { ...base, rulePath, rule, ...(note === undefined ? {} : { note }) };
}

const ATTRIBUTION: Readonly<Record<DecidingRule['attribution'], string>> = {
  kernel: 'the dataplane reported what decided (eBPF)',
  evaluated: 'the agent evaluated the flow against its policies (nftables does not report the rule)',
};

function endpointLine(flow: Flow, side: 'source' | 'destination'): string {
  const endpoint = flow[side];
  const where = side === 'source' ? sourceText(flow) : destinationText(flow);
  const named = endpoint.podName !== undefined && endpoint.podName !== '';
  const extra = [...(named ? [side === 'source' ? flow.IP.source : flow.IP.destination] : []), ...endpoint.labels];
  return extra.length === 0 ? where : `${where} (${extra.join(', ')})`;
}

/** The explanation for people. */
export function flowExplanationText(flow: Flow, sources: readonly FlowSourceJson[]): string {
  const lines: [string, string][] = [
    ['flow', flow.uuid],
    ['verdict', verdictText(flow)],
    ['time', `${flowTimeText(flow)} on ${flow.nodeName}${flow.trafficDirection === 'TRAFFIC_DIRECTION_UNKNOWN' ? '' : `, ${flow.trafficDirection.toLowerCase()}`}${flow.interface === undefined ? '' : ` at ${flow.interface.name}`}${flow.isReply ? ' (a reply)' : ''}`],
    ['from', endpointLine(flow, 'source')],
    ['to', endpointLine(flow, 'destination')],
    ['protocol', protocolText(flow)],
  ];
  const decided = flow.decidedBy;
  if (decided === undefined) {
    lines.push(['decided by', 'not recorded (the flow carries no decidedBy)']);
  } else {
    lines.push(['decided by', decisionText(decided)]);
    if (decided.policy !== undefined) lines.push(['policy', `${policyText(decided.policy)}${decided.tier === undefined ? '' : `, tier ${decided.tier}`}${decided.policy.revision > 0 ? `, revision ${decided.policy.revision}` : ''}`]);
    if (decided.rulePath !== undefined) lines.push(['rule', `${decided.rulePath}${decided.ruleIndex === undefined ? '' : ` (rule ${decided.ruleIndex} of its ${decided.direction})`}${decided.action === undefined ? '' : `: ${decided.action}`}`]);
    lines.push(['attribution', `${decided.attribution}: ${ATTRIBUTION[decided.attribution] ?? decided.attribution}`]);
    if (decided.message !== '') lines.push(['why', decided.message]);
  }
  const width = Math.max(...lines.map(([key]) => key.length)) + 3;
  let text = lines.map(([key, value]) => `${`${key}:`.padEnd(width)}${value}`).join('\n') + '\n';
  for (const source of sources) {
    text += `\nsource: ${source.object ?? source.policy}${source.object === undefined ? '' : ` (${source.policy})`}\n`;
    if (source.note !== undefined) text += `  ${source.note}\n`;
    if (source.rule !== undefined && source.rulePath !== undefined) {
      text += `  ${source.rulePath.split(' ')[0] ?? ''}:\n${stringify(source.rule, { lineWidth: 0 }).trimEnd().split('\n').map((l) => `    ${l}`).join('\n')}\n`;
    }
  }
  return text;
}

/** The deciding policies whose objects to show: the rule's, or the isolating ones. */
function decidingPolicies(decided: DecidingRule | undefined): { policy: FlowPolicy; rulePath?: string }[] {
  if (decided === undefined) return [];
  if (decided.policy !== undefined) return [{ policy: decided.policy, ...(decided.rulePath === undefined ? {} : { rulePath: decided.rulePath }) }];
  return (decided.isolatedBy ?? []).map((policy) => ({ policy }));
}

/**
 * Runs `policy explain --flow`; returns the exit code (0 whatever the verdict; 1 when the
 * flow is shown but its source could not be read).
 * @throws {UsageError} for an ID that is no UUID; {@link FailedError} for an ID the observer does not hold.
 */
export async function runExplainFlow(ctx: CommandContext, options: ExplainFlowOptions, defaultLabDir: () => string): Promise<number> {
  const id = options.flow.trim();
  if (!UUID.test(id)) throw new UsageError(ctx.command, '--flow', `must be a flow's UUID as twill observe -o json shows it (got ${JSON.stringify(options.flow)})`);
  if (options.lab !== undefined && options.agentSocket !== undefined) throw new UsageError(ctx.command, '--agent-socket', "cannot be used with --lab (the flow's node names its agent)");
  const targets = await observerTargets(ctx, options, defaultLabDir);
  const request = { number: 1, first: true, whitelist: [{ uuid: [id.toLowerCase(), ...(id === id.toLowerCase() ? [] : [id])] }] };
  // A lab: every node's observer, read at once (a flow's UUID is unique, so at most one holds it).
  // Walked in the lab's order, as one by one: a node that failed before the holder is the error.
  const answers = await Promise.allSettled(targets.map((target) => readAll(ctx, target, request)));
  let found: { readonly target: ObserverTarget; readonly flow: Flow } | undefined;
  for (const [i, target] of targets.entries()) {
    const answer = answers[i];
    if (answer?.status === 'rejected') throw answer.reason;
    const flow = (answer?.value ?? []).flatMap((r) => ('flow' in r ? [r.flow] : [])).find((f) => f.uuid.toLowerCase() === id.toLowerCase());
    if (flow !== undefined) {
      found = { target, flow };
      break;
    }
  }
  if (found === undefined) {
    const where = targets.length === 1 ? targets[0]?.target ?? '' : `any of the lab's ${targets.length} nodes (${targets.map((t) => t.node ?? t.target).join(', ')})`;
    throw new FailedError(ctx.command, '--flow', `no flow ${id} at ${where} (the observer keeps the newest flows only; it may be gone from its ring)`);
  }
  const { flow, target: holder } = found;

  let sources: FlowSourceJson[] = [];
  let failure: CliError | undefined;
  const wanted = decidingPolicies(flow.decidedBy);
  if (wanted.length > 0) {
    try {
      // In a lab, the policies are read from the agent of the node that saw the flow.
      const client = agentClientFor(ctx, holder.apiSocket === undefined ? options : { ...options, agentSocket: holder.apiSocket });
      const kinds = await client.kinds();
      sources = await Promise.all(wanted.map((w) => sourceOf(client, kinds, w.policy, w.rulePath)));
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      failure = error;
    }
  }
  const value: FlowExplanationJson = { flow, sources };
  if (options.output === 'json') ctx.io.stdout.write(renderJson(value));
  else if (options.output === 'yaml') ctx.io.stdout.write(renderYaml(value));
  else ctx.io.stdout.write(flowExplanationText(flow, sources));
  if (failure !== undefined) {
    ctx.io.stderr.write(`${failure.line()} (the flow is shown without its source)\n`);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}
