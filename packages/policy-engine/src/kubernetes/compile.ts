// NetworkPolicy → IR. Upstream semantics (k8s.io/api networking/v1 docs):
// - the policy selects pods of its namespace by spec.podSelector;
// - it isolates them for each of its (defaulted) policyTypes, allowing only what one
//   of its rules allows; rules across policies add up (every rule is an Allow in the
//   default tier, so order does not matter);
// - a rule matches when one of its peers (absent or empty: any) and one of its ports
//   (absent or empty: any) match. Each (peer, port) pair becomes one IR rule, so a
//   trace can say which peer and which port allowed a flow.

import { KUBERNETES_POLICY_ORDER, DEFAULT_TIER, type DirectionRules, type PeerMatch, type Policy, type Rule, type SideMatch } from '../model/policy.js';
import { PROTOCOL, type ProtocolNumber } from '../model/endpoint.js';
import { allOf, SUBJECT_TYPE, type Selector } from '../model/selector.js';
import { labelSelectorToSelector } from './label-selector.js';
import { effectivePolicyTypes, type NetworkPolicy, type NetworkPolicyPeer, type NetworkPolicyPort } from './types.js';

const PODS: Selector = { kind: 'subject-type', types: [SUBJECT_TYPE.WORKLOAD] };

/** The IR peer of a NetworkPolicy peer in a policy of `namespace`. */
function peerMatch(peer: NetworkPolicyPeer, namespace: string): PeerMatch {
  if (peer.ipBlock !== undefined) {
    // ipBlock matches addresses, pods' included (the conformance suite allows egress to a pod by its /32).
    return { kind: 'cidr', cidrs: [peer.ipBlock.cidr], ...(peer.ipBlock.except === undefined ? {} : { except: peer.ipBlock.except }) };
  }
  const pods = peer.podSelector === undefined ? [] : [labelSelectorToSelector(peer.podSelector)];
  // Without namespaceSelector, podSelector picks pods of the policy's own namespace;
  // with it, pods (all, when podSelector is absent) of the selected namespaces.
  const scope: Selector = peer.namespaceSelector === undefined
    ? { kind: 'in-namespace', namespace }
    : { kind: 'namespace', selector: labelSelectorToSelector(peer.namespaceSelector) };
  return { kind: 'selector', selector: allOf(PODS, scope, ...pods) };
}

/** The protocol and destination ports of a port entry. */
function portMatch(port: NetworkPolicyPort): { protocol: ProtocolNumber; ports?: SideMatch['ports'] } {
  const protocol = PROTOCOL[port.protocol ?? 'TCP'];
  if (port.port === undefined) return { protocol };
  if (typeof port.port === 'string') return { protocol, ports: [{ kind: 'named', name: port.port }] };
  return { protocol, ports: [{ kind: 'range', first: port.port, last: port.endPort ?? port.port }] };
}

function compileRules(
  rules: readonly { readonly peers?: readonly NetworkPolicyPeer[]; readonly ports?: readonly NetworkPolicyPort[] }[],
  direction: 'ingress' | 'egress',
  namespace: string,
): DirectionRules {
  const compiled: Rule[] = [];
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  rules.forEach((rule, ruleIndex) => {
    // Empty and absent lists mean the same: match everything.
    const peers = rule.peers !== undefined && rule.peers.length > 0 ? rule.peers : [undefined];
    const ports = rule.ports !== undefined && rule.ports.length > 0 ? rule.ports : [undefined];
    peers.forEach((peer, peerIndex) => {
      ports.forEach((port, portIndex) => {
        const peerPart = peer === undefined ? {} : { peer: peerMatch(peer, namespace) };
        const l4 = port === undefined ? undefined : portMatch(port);
        const destination: SideMatch = direction === 'ingress'
          ? { ...(l4?.ports === undefined ? {} : { ports: l4.ports }) }
          : { ...peerPart, ...(l4?.ports === undefined ? {} : { ports: l4.ports }) };
        const detail = [
          ...(peer === undefined ? [] : [`${peersKey}[${peerIndex}]`]),
          ...(port === undefined ? [] : [`ports[${portIndex}]`]),
        ].join(', ');
        compiled.push({
          action: 'allow',
          ...(l4 === undefined ? {} : { protocol: l4.protocol }),
          ...(direction === 'ingress' && peer !== undefined ? { source: peerPart } : {}),
          ...(Object.keys(destination).length === 0 ? {} : { destination }),
          origin: { path: `spec.${direction}[${ruleIndex}]`, ...(detail === '' ? {} : { detail }) },
        });
      });
    });
  });
  return { rules: compiled, isolates: true };
}

/**
 * Compiles a validated NetworkPolicy to the IR: a policy in the default tier at order
 * 1000 (where Calico puts Kubernetes policies) whose rules are all Allow.
 */
export function compileNetworkPolicy(policy: NetworkPolicy): Policy {
  const { namespace, name } = policy.metadata;
  const types = effectivePolicyTypes(policy.spec);
  const ingress = types.includes('Ingress')
    ? compileRules((policy.spec.ingress ?? []).map((r) => ({ ...(r.from === undefined ? {} : { peers: r.from }), ...(r.ports === undefined ? {} : { ports: r.ports }) })), 'ingress', namespace)
    : undefined;
  const egress = types.includes('Egress')
    ? compileRules((policy.spec.egress ?? []).map((r) => ({ ...(r.to === undefined ? {} : { peers: r.to }), ...(r.ports === undefined ? {} : { ports: r.ports }) })), 'egress', namespace)
    : undefined;
  return {
    ref: { dialect: 'kubernetes', kind: 'NetworkPolicy', namespace, name },
    tier: DEFAULT_TIER.name,
    order: KUBERNETES_POLICY_ORDER,
    subject: allOf(PODS, { kind: 'in-namespace', namespace }, labelSelectorToSelector(policy.spec.podSelector)),
    ...(ingress === undefined ? {} : { ingress }),
    ...(egress === undefined ? {} : { egress }),
  };
}
