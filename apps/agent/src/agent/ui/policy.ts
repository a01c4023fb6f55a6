// The dashboard's policy answers, from the datastore as it is now: "can A reach B on
// port P" with the verdict and deciding rule exactly as `twill policy explain` computes
// them (the same objects read: namespaces, pods, every policy dialect's kinds, the
// endpoint records; the same engine calls: @twill/policy-engine's buildLiveSnapshot and
// evaluateProbe), and a pod's selecting policies and effective rules (a PolicyIndex fed
// the same objects). Pure but for the datastore port it reads.
import {
  buildLiveSnapshot,
  type EffectiveDirection,
  type EffectiveRule,
  evaluateProbe,
  formatPolicyRef,
  type LiveSnapshot,
  type PolicyJson,
  PolicyIndex,
  type PolicyRef,
  type ProbeJson,
  policyJson,
  protocolName,
} from '@twill/policy-engine';

import { type EndpointRecord } from '../../plugin/ports.js';
import { ApiError } from '../api/errors.js';
import { POLICY_WATCHED_KINDS } from '../controllers/policy-state.js';
import { type ResourceDatastore, type ResourceKindId } from '../ports.js';

/** What the policy answers read. */
export interface UiPolicySource {
  readonly datastore: Pick<ResourceDatastore, 'list'>;
  /** Every node's endpoint records of the agent's network. */
  endpoints(): Promise<readonly EndpointRecord[]>;
  /** The agent's node: a record naming no node is on it. */
  readonly node: string;
}

/** One effective rule, in words. */
export interface UiRuleJson {
  readonly action: string;
  readonly policy: PolicyJson;
  readonly rule: string;
  readonly match: string;
}

/** One tier of a direction. */
export interface UiTierJson {
  readonly tier: string;
  readonly rules: readonly UiRuleJson[];
  readonly end: 'deny' | 'pass';
  readonly isolatedBy: readonly PolicyJson[];
}

/** A pod's policies. */
export interface UiPodPolicyJson {
  readonly pod: string;
  readonly selectedBy: readonly PolicyJson[];
  readonly ingress: readonly UiTierJson[];
  readonly egress: readonly UiTierJson[];
  readonly leftOut: readonly string[];
}

/** The live snapshot of the stored objects, as `twill policy explain` builds it. */
async function readLive(source: UiPolicySource): Promise<LiveSnapshot> {
  const kinds = POLICY_WATCHED_KINDS.documents as readonly ResourceKindId[];
  const [namespaces, pods, records, ...lists] = await Promise.all([
    source.datastore.list(POLICY_WATCHED_KINDS.namespaces as ResourceKindId),
    source.datastore.list(POLICY_WATCHED_KINDS.pods as ResourceKindId),
    source.endpoints(),
    ...kinds.map((kind) => source.datastore.list(kind)),
  ]);
  const policies = kinds.flatMap((kindId, i) => (lists[i] ?? []).map((resource) => ({ kindId, resource })));
  const built = buildLiveSnapshot({ namespaces, pods, policies, records, node: source.node });
  if (built.ok) return built.live;
  const { object, text } = built.conflict;
  throw new ApiError('Conflict', `the stored objects contradict each other: ${object === undefined ? text : `${object}: ${text}`}`);
}

/** `ns/name` parsed, for a query parameter. */
export function parsePodRef(value: string | undefined, where: string): { namespace: string; name: string } {
  const match = value === undefined ? null : /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([^/\s]+)$/u.exec(value);
  if (match === null) throw new ApiError('BadRequest', `${where}: ${value === undefined || value === '' ? 'required' : JSON.stringify(value) + ' is not'} a pod as NAMESPACE/NAME`);
  return { namespace: match[1]!, name: match[3]! };
}

function requireEndpoint(live: LiveSnapshot, pod: { namespace: string; name: string }, where: string): void {
  const key = `${pod.namespace}/${pod.name}`;
  if (live.pods.some((p) => p.namespace === pod.namespace && p.name === pod.name)) return;
  throw new ApiError('NotFound', `${where}: no endpoint for pod ${key} (its CNI ADD has not run on any node, or there is no such pod)`);
}

/** The probe's verdict and deciding rule, as `twill policy explain --from --to --port --protocol -o json` prints it. */
export async function explainProbe(source: UiPolicySource, probe: { from: { namespace: string; name: string }; to: { namespace: string; name: string }; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }): Promise<ProbeJson> {
  const live = await readLive(source);
  requireEndpoint(live, probe.from, 'from');
  requireEndpoint(live, probe.to, 'to');
  return evaluateProbe(live.snapshot, live.locator, probe);
}

const portsText = (ports: EffectiveRule['local']['ports']): string => (ports ?? []).map((p) => (p.first === p.last ? String(p.first) : `${p.first}-${p.last}`)).join(', ');

// A rule's conditions in words: the protocol, the local ports, the remote peers and ports.
function matchText(rule: EffectiveRule, direction: 'ingress' | 'egress'): string {
  const parts: string[] = [];
  if (rule.protocol !== undefined) parts.push(protocolName(rule.protocol));
  if (rule.local.ports !== undefined) parts.push(`${direction === 'ingress' ? 'to' : 'from'} port ${portsText(rule.local.ports)}`);
  const peers = rule.remote.peers;
  const peerText =
    peers.length === 0
      ? 'no peer'
      : peers.every((a) => a.identities === undefined && a.cidrs === undefined)
        ? 'any peer'
        : peers.map((a) => [a.identities === undefined ? '' : `identities ${a.identities.join(',')}`, a.cidrs === undefined ? '' : `CIDRs ${a.cidrs.join(',')}${a.except === undefined ? '' : ` except ${a.except.join(',')}`}`].filter((t) => t !== '').join(' in ') || 'any').join(' or ');
  parts.push(`${direction === 'ingress' ? 'from' : 'to'} ${peerText}`);
  if (rule.remote.ports !== undefined) parts.push(`${direction === 'ingress' ? 'from' : 'to'} port ${portsText(rule.remote.ports)}`);
  return parts.join(', ');
}

function tiersJson(live: LiveSnapshot, direction: 'ingress' | 'egress', rules: EffectiveDirection | undefined): UiTierJson[] {
  return (rules?.tiers ?? []).map((tier) => ({
    tier: tier.tier,
    rules: tier.rules.map((r) => ({ action: r.action, policy: policyJson(live.locator, r.policy), rule: r.origin.detail === undefined ? r.origin.path : `${r.origin.path} (${r.origin.detail})`, match: matchText(r, direction) })),
    end: tier.end,
    isolatedBy: tier.isolatedBy.map((ref) => policyJson(live.locator, ref)),
  }));
}

/** Which policies select the pod and its effective ingress and egress rules, tier by tier. */
export async function podPolicy(source: UiPolicySource, pod: { namespace: string; name: string }): Promise<UiPodPolicyJson> {
  const live = await readLive(source);
  requireEndpoint(live, pod, 'pod');
  const index = new PolicyIndex();
  const { input } = live;
  for (const tier of input.tiers) index.upsertTier(tier);
  for (const namespace of input.namespaces) index.upsertNamespace(namespace);
  for (const set of input.networkSets) index.upsertNetworkSet(set);
  for (const endpoint of input.endpoints) index.upsertEndpoint(endpoint);
  for (const policy of input.policies) index.upsertPolicy(policy);
  const rules = index.effectiveRules({ namespace: pod.namespace, name: pod.name });
  const selecting = new Map<string, PolicyRef>();
  for (const direction of [rules?.ingress, rules?.egress]) {
    for (const tier of direction?.tiers ?? []) {
      for (const rule of tier.rules) selecting.set(formatPolicyRef(rule.policy), rule.policy);
      for (const ref of tier.isolatedBy) selecting.set(formatPolicyRef(ref), ref);
    }
  }
  return {
    pod: `${pod.namespace}/${pod.name}`,
    selectedBy: [...selecting.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, ref]) => policyJson(live.locator, ref)),
    ingress: tiersJson(live, 'ingress', rules?.ingress),
    egress: tiersJson(live, 'egress', rules?.egress),
    leftOut: live.leftOut,
  };
}
