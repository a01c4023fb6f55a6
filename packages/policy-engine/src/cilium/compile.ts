// Cilium policies → IR. What Cilium's policy repository does with a rule
// (`pkg/policy/rule.go`, `pkg/k8s/apis/cilium.io/utils`):
// - a CiliumNetworkPolicy's endpointSelector is limited to its namespace; its
//   from/toEndpoints selectors too, unless they test the namespace label or a
//   `reserved:` label. A clusterwide policy's endpoint peers are limited to pods (any
//   namespace) under the same conditions;
// - a rule's peers (endpoints, nodes, CIDRs, CIDR sets, entities) are ORed; a rule with
//   none but with toPorts or icmps allows every peer on those ports; a peer field that
//   is present but empty selects nothing;
// - CIDR peers never match endpoints of the cluster (Cilium gives those their own
//   identities: "CIDR rules do not apply to traffic where both sides are managed by
//   Cilium"), so they are ANDed with "not in the cluster";
// - an ingress (egress) or ingressDeny (egressDeny) section puts the selected endpoints
//   in default deny for that direction unless enableDefaultDeny says otherwise;
// - deny rules take precedence over every allow: they go to the reserved deny tier.
// Each Cilium rule (`spec`, each of `specs`) gives one allow policy in the default tier
// at order 1000 and, when it has deny rules, one policy in the deny-precedence tier.

import { PROTOCOL } from '../model/endpoint.js';
import {
  DEFAULT_TIER,
  DENY_PRECEDENCE_TIER,
  KUBERNETES_POLICY_ORDER,
  type DirectionRules,
  type Entity,
  type L7Rules,
  type PeerMatch,
  type Policy,
  type PolicyRef,
  type PortSpec,
  type Rule,
  type RuleAction,
  type SideMatch,
} from '../model/policy.js';
import { allOf, not, SUBJECT_TYPE, type Selector } from '../model/selector.js';
import { ciliumSelectorToSelector, selectsNamespace, selectsReserved, withoutNamespaceMatch } from './selector.js';
import { type CiliumEndpointSelector, type CiliumL7Rules, type CiliumPolicy, type CiliumPolicyRule, type CiliumPortProtocol, type CiliumRule } from './types.js';

type Direction = 'ingress' | 'egress';

const NOT_IN_CLUSTER: PeerMatch = { kind: 'not', of: { kind: 'entity', entities: ['cluster'] } };

/** How endpoint peers are scoped: to a namespace (CiliumNetworkPolicy) or to pods of any namespace (clusterwide). */
interface PeerScope {
  readonly namespace?: string;
  /** Clusterwide policies on initialising endpoints get no namespace requirement (they have no labels yet). */
  readonly matchesInit: boolean;
}

function endpointPeer(selector: CiliumEndpointSelector, scope: PeerScope): Selector {
  const compiled = ciliumSelectorToSelector(selector);
  if (selectsNamespace(selector) || selectsReserved(selector)) return compiled;
  if (scope.namespace !== undefined) return allOf({ kind: 'in-namespace', namespace: scope.namespace }, compiled);
  return scope.matchesInit ? compiled : allOf(not({ kind: 'global' }), compiled);
}

function entityPeer(entities: readonly string[]): PeerMatch[] {
  const plain = entities.filter((e): e is Entity => e !== 'world-ipv4' && e !== 'world-ipv6' && e !== 'none');
  const peers: PeerMatch[] = plain.length === 0 ? [] : [{ kind: 'entity', entities: plain }];
  for (const [entity, cidr] of [['world-ipv4', '0.0.0.0/0'], ['world-ipv6', '::/0']] as const) {
    if (entities.includes(entity)) peers.push({ kind: 'and', of: [{ kind: 'entity', entities: ['world'] }, { kind: 'cidr', cidrs: [cidr] }] });
  }
  return peers;
}

/** The peers of a rule: `undefined` for any peer, an empty `or` for none. */
function peerMatch(rule: CiliumRule, scope: PeerScope): PeerMatch | undefined {
  const l3 = [rule.endpoints, rule.nodes, rule.cidr, rule.cidrSet, rule.entities];
  if (l3.every((field) => field === undefined)) {
    return rule.toPorts.length > 0 || rule.icmps.length > 0 ? undefined : { kind: 'or', of: [] };
  }
  const peers: PeerMatch[] = [
    ...(rule.endpoints ?? []).map((s): PeerMatch => ({ kind: 'selector', selector: endpointPeer(s, scope) })),
    ...(rule.nodes ?? []).map((s): PeerMatch => ({ kind: 'selector', selector: allOf({ kind: 'subject-type', types: [SUBJECT_TYPE.HOST] }, ciliumSelectorToSelector(s)) })),
    ...(rule.cidr === undefined || rule.cidr.length === 0 ? [] : [{ kind: 'and', of: [{ kind: 'cidr', cidrs: rule.cidr }, NOT_IN_CLUSTER] } as const]),
    ...(rule.cidrSet ?? []).map((set): PeerMatch => ({
      kind: 'and',
      of: [{ kind: 'cidr', cidrs: [set.cidr], ...(set.except.length === 0 ? {} : { except: set.except }) }, NOT_IN_CLUSTER],
    })),
    ...entityPeer(rule.entities ?? []),
  ];
  return peers.length === 1 ? peers[0] : { kind: 'or', of: peers };
}

function l7Rules(rules: CiliumL7Rules): L7Rules {
  if (rules.kind === 'opaque') return rules;
  return {
    kind: 'http',
    rules: rules.rules.map((r) => ({
      ...(r.method === undefined ? {} : { method: r.method }),
      // Kept as written: Cilium matches it as an RE2 pattern against the whole path (compileHttpMatcher); parsing checked it.
      ...(r.path === undefined ? {} : { path: { kind: 'regex' as const, value: r.path } }),
      ...(r.host === undefined ? {} : { host: r.host }),
      ...(r.headers.length === 0 ? {} : { headers: r.headers }),
    })),
  };
}

const PROTOCOL_NUMBERS = { TCP: PROTOCOL.TCP, UDP: PROTOCOL.UDP, SCTP: PROTOCOL.SCTP } as const;

function portSpec(port: CiliumPortProtocol): PortSpec | undefined {
  if (port.port === undefined || port.port === 0) return undefined;
  if (typeof port.port === 'string') return { kind: 'named', name: port.port };
  return { kind: 'range', first: port.port, last: port.endPort ?? port.port };
}

function compileRule(rule: CiliumRule, direction: Direction, action: RuleAction, path: string, scope: PeerScope): Rule[] {
  const peer = peerMatch(rule, scope);
  if (peer?.kind === 'or' && peer.of.length === 0) return [];
  const side = (extra: SideMatch): { source?: SideMatch; destination?: SideMatch } => {
    const peerSide: SideMatch = peer === undefined ? {} : { peer };
    const source = direction === 'ingress' ? peerSide : {};
    const destination = direction === 'egress' ? { ...peerSide, ...extra } : extra;
    return {
      ...(Object.keys(source).length === 0 ? {} : { source }),
      ...(Object.keys(destination).length === 0 ? {} : { destination }),
    };
  };
  if (rule.toPorts.length === 0 && rule.icmps.length === 0) return [{ action, ...side({}), origin: { path } }];
  const rules: Rule[] = [];
  rule.toPorts.forEach((portRule, portRuleIndex) => {
    const l7 = portRule.rules === undefined ? undefined : l7Rules(portRule.rules);
    // L7 parsers other than DNS run over TCP only: ANY means TCP for them.
    const l7OverTcp = portRule.rules !== undefined && !(portRule.rules.kind === 'opaque' && portRule.rules.parser === 'dns');
    const ports = portRule.ports.length === 0 ? [undefined] : portRule.ports;
    ports.forEach((port, portIndex) => {
      const spec = port === undefined ? undefined : portSpec(port);
      const protocol = port === undefined || port.protocol === 'ANY' ? (l7OverTcp ? PROTOCOL.TCP : undefined) : PROTOCOL_NUMBERS[port.protocol];
      rules.push({
        action,
        ...(protocol === undefined ? {} : { protocol }),
        ...side(spec === undefined ? {} : { ports: [spec] }),
        ...(l7 === undefined ? {} : { l7 }),
        origin: { path, detail: ports.length === 1 ? `toPorts[${portRuleIndex}]` : `toPorts[${portRuleIndex}].ports[${portIndex}]` },
      });
    });
  });
  rule.icmps.forEach((field, index) => {
    rules.push({
      action,
      protocol: field.family === 'IPv4' ? PROTOCOL.ICMP : PROTOCOL.ICMPV6,
      icmp: { type: field.type },
      ...side({}),
      origin: { path, detail: `icmps, field ${index} (${field.family} type ${field.type})` },
    });
  });
  return rules;
}

function subjectOf(rule: CiliumPolicyRule, namespace: string | undefined): Selector {
  if (rule.nodeSelector !== undefined) return allOf({ kind: 'subject-type', types: [SUBJECT_TYPE.HOST] }, ciliumSelectorToSelector(rule.nodeSelector));
  const selector = rule.endpointSelector ?? {};
  // Cilium overwrites any namespace match of a namespaced policy's endpointSelector with its own namespace.
  if (namespace !== undefined) return allOf({ kind: 'in-namespace', namespace }, ciliumSelectorToSelector(withoutNamespaceMatch(selector)));
  return allOf({ kind: 'subject-type', types: [SUBJECT_TYPE.WORKLOAD] }, ciliumSelectorToSelector(selector));
}

function compileSection(rules: readonly CiliumRule[] | undefined, direction: Direction, action: RuleAction, path: string, scope: PeerScope): Rule[] {
  const key = `${direction}${action === 'deny' ? 'Deny' : ''}`;
  return (rules ?? []).flatMap((rule, index) => compileRule(rule, direction, action, `${path}.${key}[${index}]`, scope));
}

function compilePolicyRule(ref: PolicyRef, rule: CiliumPolicyRule, path: string, namespace: string | undefined): Policy[] {
  const matchesInit = Object.prototype.hasOwnProperty.call(rule.endpointSelector?.matchLabels ?? {}, 'reserved:init');
  const scope: PeerScope = { ...(namespace === undefined ? {} : { namespace }), matchesInit };
  const subject = subjectOf(rule, namespace);
  const allow = (direction: Direction): DirectionRules | undefined => {
    const allowRules = direction === 'ingress' ? rule.ingress : rule.egress;
    const denyRules = direction === 'ingress' ? rule.ingressDeny : rule.egressDeny;
    if ((allowRules?.length ?? 0) === 0 && (denyRules?.length ?? 0) === 0) return undefined;
    return { isolates: rule.enableDefaultDeny[direction] ?? true, rules: compileSection(allowRules, direction, 'allow', path, scope) };
  };
  const deny = (direction: Direction): DirectionRules | undefined => {
    const denyRules = direction === 'ingress' ? rule.ingressDeny : rule.egressDeny;
    if ((denyRules?.length ?? 0) === 0) return undefined;
    return { isolates: false, rules: compileSection(denyRules, direction, 'deny', path, scope) };
  };
  const policies: Policy[] = [];
  const [ingress, egress] = [allow('ingress'), allow('egress')];
  if (ingress !== undefined || egress !== undefined) {
    policies.push({ ref, tier: DEFAULT_TIER.name, order: KUBERNETES_POLICY_ORDER, subject, ...(ingress === undefined ? {} : { ingress }), ...(egress === undefined ? {} : { egress }) });
  }
  const [ingressDeny, egressDeny] = [deny('ingress'), deny('egress')];
  if (ingressDeny !== undefined || egressDeny !== undefined) {
    policies.push({
      ref, tier: DENY_PRECEDENCE_TIER.name, order: KUBERNETES_POLICY_ORDER, subject,
      ...(ingressDeny === undefined ? {} : { ingress: ingressDeny }),
      ...(egressDeny === undefined ? {} : { egress: egressDeny }),
    });
  }
  return policies;
}

/**
 * Compiles a validated Cilium policy to IR policies: for each of its rules (`spec`, then
 * each of `specs`), an allow policy in the default tier at order 1000 (when the rule has
 * ingress or egress sections) and a deny policy in the deny-precedence tier (when it has
 * ingressDeny or egressDeny rules). Rule origins name the rule's path: `specs[1].ingress[0]`.
 * The policies share the document's `ref` and are numbered by `part` (absent on the first).
 */
export function compileCiliumPolicy(policy: CiliumPolicy): Policy[] {
  const namespace = policy.kind === 'CiliumNetworkPolicy' ? policy.metadata.namespace : undefined;
  const ref: PolicyRef = { dialect: 'cilium', kind: policy.kind, ...(namespace === undefined ? {} : { namespace }), name: policy.metadata.name };
  // Every part after the first is numbered, so an index keeps them side by side.
  return policy.rules
    .flatMap(({ path, rule }) => compilePolicyRule(ref, rule, path, namespace))
    .map((compiled, part) => (part === 0 ? compiled : { ...compiled, part }));
}
