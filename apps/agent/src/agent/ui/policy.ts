// The dashboard's policy answers, from the datastore as it is now: "can A reach B on
// port P" with the verdict and deciding rule exactly as `twill policy explain` computes
// them (the same objects read: namespaces, pods, every policy dialect's kinds, the
// endpoint records; the same engine calls: endpointsFromRecords, compileResourceDocument,
// createSnapshot, evaluate; the same deciding enforcement point and JSON), and a pod's
// selecting policies and effective rules (a PolicyIndex fed the same objects). Pure
// but for the datastore port it reads.
import {
  compileResourceDocument,
  createSnapshot,
  type DirectionVerdict,
  type EffectiveDirection,
  type EffectiveRule,
  endpointsFromRecords,
  evaluate,
  formatPolicyRef,
  type Namespace,
  namespaceFromResource,
  type NetworkSet,
  type Policy,
  PolicyEngineError,
  PolicyIndex,
  type PolicyRef,
  type Snapshot,
  type Tier,
  protocolName,
  type Verdict,
} from '@twill/policy-engine';

import { type EndpointRecord } from '../../plugin/ports.js';
import { ApiError } from '../api/errors.js';
import { POLICY_WATCHED_KINDS } from '../controllers/policy-state.js';
import { type ResourceDatastore, type ResourceKindId, type StoredResource } from '../ports.js';

/** What the policy answers read. */
export interface UiPolicySource {
  readonly datastore: Pick<ResourceDatastore, 'list'>;
  /** Every node's endpoint records of the agent's network. */
  endpoints(): Promise<readonly EndpointRecord[]>;
  /** The agent's node: a record naming no node is on it. */
  readonly node: string;
}

/** A policy and the stored object it came from (`kind-id/namespace/name@resourceVersion`). */
export interface UiPolicyJson {
  readonly dialect: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly source?: string;
}

/** `twill policy explain -o json`'s document. */
export interface UiProbeJson {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  readonly verdict: 'allow' | 'deny';
  readonly decidedBy: {
    readonly direction: 'ingress' | 'egress';
    readonly endpoint: string;
    readonly reason: string;
    readonly policy?: UiPolicyJson;
    readonly tier?: string;
    readonly rule?: string;
    readonly ruleSource?: string;
    readonly action?: string;
    readonly isolatedBy?: readonly UiPolicyJson[];
  };
  readonly explanation: string;
}

/** One effective rule, in words. */
export interface UiRuleJson {
  readonly action: string;
  readonly policy: UiPolicyJson;
  readonly rule: string;
  readonly match: string;
}

/** One tier of a direction. */
export interface UiTierJson {
  readonly tier: string;
  readonly rules: readonly UiRuleJson[];
  readonly end: 'deny' | 'pass';
  readonly isolatedBy: readonly UiPolicyJson[];
}

/** A pod's policies. */
export interface UiPodPolicyJson {
  readonly pod: string;
  readonly selectedBy: readonly UiPolicyJson[];
  readonly ingress: readonly UiTierJson[];
  readonly egress: readonly UiTierJson[];
  readonly leftOut: readonly string[];
}

interface Live {
  readonly snapshot: Snapshot;
  readonly namespaces: Namespace[];
  readonly endpoints: ReturnType<typeof endpointsFromRecords>;
  readonly policies: Policy[];
  readonly tiers: Tier[];
  readonly networkSets: NetworkSet[];
  /** The stored object of each policy, by `formatPolicyRef`. */
  readonly sources: Map<string, string>;
  readonly leftOut: string[];
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** `networkpolicies.networking.k8s.io/x/deny@42`, as `twill policy explain` names a stored object. */
function objectText(kindId: string, resource: StoredResource): string {
  const { namespace, name, resourceVersion } = resource.metadata;
  return `${kindId}/${namespace === undefined ? '' : `${namespace}/`}${name}@${resourceVersion}`;
}

async function readLive(source: UiPolicySource): Promise<Live> {
  const kinds = POLICY_WATCHED_KINDS.documents as readonly ResourceKindId[];
  const [namespaceObjects, pods, records, ...lists] = await Promise.all([
    source.datastore.list(POLICY_WATCHED_KINDS.namespaces as ResourceKindId),
    source.datastore.list(POLICY_WATCHED_KINDS.pods as ResourceKindId),
    source.endpoints(),
    ...kinds.map((kind) => source.datastore.list(kind)),
  ]);
  const leftOut: string[] = [];
  const namespaces: Namespace[] = [];
  for (const resource of namespaceObjects) {
    try {
      namespaces.push(namespaceFromResource(resource));
    } catch (error) {
      if (!(error instanceof PolicyEngineError)) throw error;
      leftOut.push(`${objectText('namespaces', resource)}: ${reason(error)}`);
    }
  }
  const podsByKey = new Map(pods.map((pod) => [`${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`, pod]));
  const endpoints = endpointsFromRecords(records, (key) => podsByKey.get(key), source.node);
  const policies: Policy[] = [];
  const tiers: Tier[] = [];
  const networkSets: NetworkSet[] = [];
  const sources = new Map<string, string>();
  kinds.forEach((kindId, i) => {
    for (const resource of lists[i] ?? []) {
      try {
        const compiled = compileResourceDocument(resource);
        for (const policy of compiled.policies) sources.set(formatPolicyRef(policy.ref), objectText(kindId, resource));
        policies.push(...compiled.policies);
        tiers.push(...compiled.tiers);
        networkSets.push(...compiled.networkSets);
      } catch (error) {
        if (!(error instanceof PolicyEngineError)) throw error;
        leftOut.push(`${objectText(kindId, resource)}: ${reason(error)}`);
      }
    }
  });
  let snapshot: Snapshot;
  try {
    snapshot = createSnapshot({ namespaces, endpoints: endpoints.map((e) => e.endpoint), policies, tiers, networkSets });
  } catch (error) {
    if (!(error instanceof PolicyEngineError)) throw error;
    throw new ApiError('Conflict', `the stored objects contradict each other: ${error.message}`);
  }
  return { snapshot, namespaces, endpoints, policies, tiers, networkSets, sources, leftOut };
}

function policyJson(live: Live, ref: PolicyRef): UiPolicyJson {
  const source = live.sources.get(formatPolicyRef(ref));
  return { dialect: ref.dialect, kind: ref.kind, ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }), name: ref.name, ...(source === undefined ? {} : { source }) };
}

// `twill policy explain`'s rule: for a denied probe the first point that denied (egress
// before ingress, as a packet meets them); for an allowed one the last that allowed by a
// rule, or else the destination's ingress.
function decidingDirection(verdict: Verdict): DirectionVerdict {
  const evaluated = [verdict.egress, verdict.ingress].filter((v): v is DirectionVerdict => v !== undefined);
  const denied = evaluated.find((v) => !v.allowed);
  if (denied !== undefined) return denied;
  return evaluated.filter((v) => v.reason === 'rule').at(-1) ?? (verdict.ingress as DirectionVerdict);
}

/** `ns/name` parsed, for a query parameter. */
export function parsePodRef(value: string | undefined, where: string): { namespace: string; name: string } {
  const match = value === undefined ? null : /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([^/\s]+)$/u.exec(value);
  if (match === null) throw new ApiError('BadRequest', `${where}: ${value === undefined || value === '' ? 'required' : JSON.stringify(value) + ' is not'} a pod as NAMESPACE/NAME`);
  return { namespace: match[1]!, name: match[3]! };
}

function requireEndpoint(live: Live, pod: { namespace: string; name: string }, where: string): void {
  const key = `${pod.namespace}/${pod.name}`;
  if (live.endpoints.some((e) => e.key.key === key)) return;
  throw new ApiError('NotFound', `${where}: no endpoint for pod ${key} (its CNI ADD has not run on any node, or there is no such pod)`);
}

/** The probe's verdict and deciding rule, as `twill policy explain --from --to --port --protocol -o json` prints it. */
export async function explainProbe(source: UiPolicySource, probe: { from: { namespace: string; name: string }; to: { namespace: string; name: string }; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }): Promise<UiProbeJson> {
  const live = await readLive(source);
  requireEndpoint(live, probe.from, 'from');
  requireEndpoint(live, probe.to, 'to');
  const verdict = evaluate({ source: { endpoint: probe.from }, destination: { endpoint: probe.to }, protocol: probe.protocol, destinationPort: probe.port }, live.snapshot);
  const direction = decidingDirection(verdict);
  const hit = direction.decidedBy;
  const ruleSource = hit === undefined ? undefined : live.sources.get(formatPolicyRef(hit.policy));
  return {
    from: `${probe.from.namespace}/${probe.from.name}`,
    to: `${probe.to.namespace}/${probe.to.name}`,
    port: probe.port,
    protocol: probe.protocol,
    verdict: verdict.allowed ? 'allow' : 'deny',
    decidedBy: {
      direction: direction.direction,
      endpoint: `${direction.endpoint.namespace ?? ''}/${direction.endpoint.name}`,
      reason: direction.reason,
      ...(hit === undefined
        ? {}
        : {
            policy: policyJson(live, hit.policy),
            tier: hit.tier,
            rule: hit.origin.detail === undefined ? hit.origin.path : `${hit.origin.path} (${hit.origin.detail})`,
            ...(ruleSource === undefined ? {} : { ruleSource: `${ruleSource} ${hit.origin.path}` }),
            action: hit.action,
          }),
      ...(direction.isolatedBy === undefined ? {} : { isolatedBy: direction.isolatedBy.map((ref) => policyJson(live, ref)) }),
    },
    explanation: verdict.explanation,
  };
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

function tiersJson(live: Live, direction: 'ingress' | 'egress', rules: EffectiveDirection | undefined): UiTierJson[] {
  return (rules?.tiers ?? []).map((tier) => ({
    tier: tier.tier,
    rules: tier.rules.map((r) => ({ action: r.action, policy: policyJson(live, r.policy), rule: r.origin.detail === undefined ? r.origin.path : `${r.origin.path} (${r.origin.detail})`, match: matchText(r, direction) })),
    end: tier.end,
    isolatedBy: tier.isolatedBy.map((ref) => policyJson(live, ref)),
  }));
}

/** Which policies select the pod and its effective ingress and egress rules, tier by tier. */
export async function podPolicy(source: UiPolicySource, pod: { namespace: string; name: string }): Promise<UiPodPolicyJson> {
  const live = await readLive(source);
  requireEndpoint(live, pod, 'pod');
  const index = new PolicyIndex();
  for (const tier of live.tiers) index.upsertTier(tier);
  for (const namespace of live.namespaces) index.upsertNamespace(namespace);
  for (const set of live.networkSets) index.upsertNetworkSet(set);
  for (const { endpoint } of live.endpoints) index.upsertEndpoint(endpoint);
  for (const policy of live.policies) index.upsertPolicy(policy);
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
    selectedBy: [...selecting.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, ref]) => policyJson(live, ref)),
    ingress: tiersJson(live, 'ingress', rules?.ingress),
    egress: tiersJson(live, 'egress', rules?.egress),
    leftOut: live.leftOut,
  };
}
