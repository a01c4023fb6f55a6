/**
 * Typed Calico documents → the IR. The mapping follows what Felix is given by
 * libcalico-go's update processors (`updateprocessors/rules.go`):
 *
 * - A NetworkPolicy applies to the endpoints of its namespace its `selector` matches; a
 *   GlobalNetworkPolicy to every endpoint its `selector` (and `namespaceSelector`)
 *   matches; `serviceAccountSelector` narrows either.
 * - A rule side's `selector`, `serviceAccounts` and `namespaceSelector` make one endpoint
 *   selector. In a NetworkPolicy it is scoped to the policy's namespace unless
 *   `namespaceSelector` is given, and as soon as any of `selector`, `notSelector` or
 *   `serviceAccounts` is used (a side with only `nets` matches any address).
 *   `notSelector` is not scoped: it excludes matching endpoints of every namespace.
 * - `nets`, `notNets`, ports and `notPorts` are conditions ANDed with the selectors.
 * - `ipVersion` becomes a condition on the source address (0.0.0.0/0 or ::/0).
 * - `http` becomes L7 data: one HTTP rule per (method, path) pair, any of which admits.
 */
import { CalicoError, POLICY_ERROR_CODE } from '../errors.js';
import { type NetworkSet } from '../model/endpoint.js';
import {
  type DirectionRules,
  type HttpRule,
  type L7Rules,
  type PeerMatch,
  type Policy,
  type PortSpec,
  type Rule,
  type RuleAction,
  type SideMatch,
  type Tier,
} from '../model/policy.js';
import { allOf, type Selector } from '../model/selector.js';
import { quoteHttpPattern } from '../l7/http-match.js';
import { compileCalicoSelector } from './compile-selector.js';
import {
  type CalicoAction,
  type CalicoDocument,
  type CalicoEntityRule,
  type CalicoHttpMatch,
  type CalicoNetworkSet,
  type CalicoPolicy,
  type CalicoPort,
  type CalicoRule,
  type CalicoServiceAccountMatch,
  type CalicoTier,
} from './types.js';

const ACTIONS: Readonly<Record<CalicoAction, RuleAction>> = { Allow: 'allow', Deny: 'deny', Pass: 'pass', Log: 'log' };

function portSpec(port: CalicoPort): PortSpec {
  return port.kind === 'range' ? { kind: 'range', first: port.min, last: port.max } : { kind: 'named', name: port.name };
}

/** `serviceAccounts`: names, and a selector over the account's labels (Calico's `pcsa.` prefix). */
function serviceAccountSelector(match: CalicoServiceAccountMatch): Selector {
  return allOf(
    ...(match.selector === undefined ? [] : [compileCalicoSelector(match.selector.ast, 'service-account')]),
    ...(match.names.length === 0 ? [] : [{ kind: 'service-account', names: match.names } as const]),
  );
}

/** The endpoint selector of one rule side (`getEndpointSelector` in libcalico-go), or undefined for none. */
function sideSelector(side: CalicoEntityRule, namespace: string | undefined): Selector | undefined {
  const parts: Selector[] = [];
  if (side.serviceAccounts !== undefined) parts.push(serviceAccountSelector(side.serviceAccounts));
  if (side.selector !== undefined) parts.push(compileCalicoSelector(side.selector.ast));
  const scope: Selector | undefined = side.namespaceSelector !== undefined
    ? compileCalicoSelector(side.namespaceSelector.ast, 'namespace')
    : namespace === undefined ? undefined : { kind: 'in-namespace', namespace };
  const scoped = scope !== undefined && (parts.length > 0 || side.notSelector !== undefined || side.namespaceSelector !== undefined);
  if (parts.length === 0 && !scoped) return undefined;
  return allOf(...(scoped ? [scope] : []), ...parts);
}

function sideMatch(side: CalicoEntityRule, namespace: string | undefined, path: string, extra: readonly PeerMatch[]): SideMatch | undefined {
  if (side.services !== undefined) {
    throw new CalicoError(POLICY_ERROR_CODE.UNSUPPORTED, `${path}.services`, 'service matches are not supported yet: the IR has no Kubernetes services');
  }
  const selector = sideSelector(side, namespace);
  const peers: PeerMatch[] = [
    ...(selector === undefined ? [] : [{ kind: 'selector', selector } as const]),
    ...(side.notSelector === undefined ? [] : [{ kind: 'not', of: { kind: 'selector', selector: compileCalicoSelector(side.notSelector.ast) } } as const]),
    ...(side.nets.length === 0 ? [] : [{ kind: 'cidr', cidrs: side.nets.map((n) => n.cidr) } as const]),
    ...(side.notNets.length === 0 ? [] : [{ kind: 'not', of: { kind: 'cidr', cidrs: side.notNets.map((n) => n.cidr) } } as const]),
    ...extra,
  ];
  const match: SideMatch = {
    ...(peers.length === 0 ? {} : { peer: peers.length === 1 ? (peers[0] as PeerMatch) : { kind: 'and', of: peers } }),
    ...(side.ports.length === 0 ? {} : { ports: side.ports.map(portSpec) }),
    ...(side.notPorts.length === 0 ? {} : { notPorts: side.notPorts.map(portSpec) }),
  };
  return Object.keys(match).length === 0 ? undefined : match;
}

/** Calico's `http` match as L7 data: methods and paths are each ORed, so one HTTP rule per pair. */
function httpRules(http: CalicoHttpMatch): L7Rules {
  const methods = http.methods.length === 0 ? [undefined] : http.methods;
  const paths = http.paths.length === 0 ? [undefined] : http.paths;
  const rules: HttpRule[] = methods.flatMap((method) => paths.map((path): HttpRule => ({
    // Calico names a method exactly; the model's method is a whole-value pattern.
    ...(method === undefined ? {} : { method: quoteHttpPattern(method) }),
    ...(path === undefined ? {} : { path: { kind: path.kind, value: path.path } }),
  })));
  return { kind: 'http', rules };
}

function compileRule(rule: CalicoRule, namespace: string | undefined, path: string): Rule {
  // Both sides of a flow have one address family, so the source address says it.
  const family: PeerMatch[] = rule.ipVersion === undefined ? [] : [{ kind: 'cidr', cidrs: [rule.ipVersion === 4 ? '0.0.0.0/0' : '::/0'] }];
  const source = sideMatch(rule.source, namespace, `${path}.source`, family);
  const destination = sideMatch(rule.destination, namespace, `${path}.destination`, []);
  return {
    action: ACTIONS[rule.action],
    ...(rule.protocol === undefined ? {} : { protocol: rule.protocol.number }),
    ...(rule.notProtocol === undefined ? {} : { notProtocol: rule.notProtocol.number }),
    ...(rule.icmp === undefined ? {} : { icmp: rule.icmp }),
    ...(rule.notIcmp === undefined ? {} : { notIcmp: rule.notIcmp }),
    ...(source === undefined ? {} : { source }),
    ...(destination === undefined ? {} : { destination }),
    ...(rule.http === undefined ? {} : { l7: httpRules(rule.http) }),
    origin: { path },
  };
}

function direction(policy: CalicoPolicy, key: 'ingress' | 'egress', namespace: string | undefined): DirectionRules | undefined {
  if (!policy.types.includes(key === 'ingress' ? 'Ingress' : 'Egress')) return undefined;
  return { isolates: true, rules: policy[key].map((rule, index) => compileRule(rule, namespace, `spec.${key}[${index}]`)) };
}

/**
 * Compiles a Calico NetworkPolicy or GlobalNetworkPolicy to one IR policy in its tier,
 * with its `order` (absent: last). A direction in `types` isolates the endpoints the
 * policy selects; one that is not has no rules in the IR, as in Calico.
 *
 * @throws {@link CalicoError} (`unsupported`) for a `services` match, or a string test on
 *   `projectcalico.org/serviceaccount`, which the IR cannot express.
 */
export function compileCalicoPolicy(policy: CalicoPolicy): Policy {
  const namespace = policy.kind === 'NetworkPolicy' ? policy.namespace : undefined;
  const subject = allOf(
    ...(namespace === undefined ? [] : [{ kind: 'in-namespace', namespace } as const]),
    compileCalicoSelector(policy.selector.ast),
    ...(policy.kind === 'GlobalNetworkPolicy' && policy.namespaceSelector !== undefined
      ? [compileCalicoSelector(policy.namespaceSelector.ast, 'namespace')]
      : []),
    ...(policy.serviceAccountSelector === undefined ? [] : [compileCalicoSelector(policy.serviceAccountSelector.ast, 'service-account')]),
  );
  const ingress = direction(policy, 'ingress', namespace);
  const egress = direction(policy, 'egress', namespace);
  return {
    ref: { dialect: 'calico', kind: policy.kind, ...(namespace === undefined ? {} : { namespace }), name: policy.metadata.name },
    tier: policy.tier,
    ...(policy.order === undefined ? {} : { order: policy.order }),
    subject,
    ...(ingress === undefined ? {} : { ingress }),
    ...(egress === undefined ? {} : { egress }),
  };
}

/** Compiles a Calico Tier: its name, order (absent: after every ordered tier) and default action. */
export function compileCalicoTier(tier: CalicoTier): Tier {
  return {
    name: tier.metadata.name,
    ...(tier.order === undefined ? {} : { order: tier.order }),
    defaultAction: tier.defaultAction === 'Pass' ? 'pass' : 'deny',
  };
}

/**
 * Compiles a NetworkSet or GlobalNetworkSet to the model's network set: rule selectors
 * match it by its labels (and namespace) like an endpoint, for the addresses in its nets.
 */
export function compileCalicoNetworkSet(set: CalicoNetworkSet): NetworkSet {
  return {
    name: set.metadata.name,
    ...(set.metadata.namespace === undefined ? {} : { namespace: set.metadata.namespace }),
    labels: set.metadata.labels,
    nets: set.nets.map((n) => n.cidr),
  };
}

/** What {@link compileCalicoDocuments} gives: the parts of a snapshot. */
export interface CompiledCalicoDocuments {
  /** The policies, one per NetworkPolicy or GlobalNetworkPolicy, in input order. */
  readonly policies: readonly Policy[];
  /** The tiers, in input order. */
  readonly tiers: readonly Tier[];
  /** The network sets, one per NetworkSet or GlobalNetworkSet, in input order. */
  readonly networkSets: readonly NetworkSet[];
}

/**
 * Compiles a batch of parsed Calico documents, keeping their order within each kind.
 *
 * @throws {@link CalicoError} as {@link compileCalicoPolicy} does.
 */
export function compileCalicoDocuments(documents: readonly CalicoDocument[]): CompiledCalicoDocuments {
  const policies: Policy[] = [];
  const tiers: Tier[] = [];
  const networkSets: NetworkSet[] = [];
  for (const document of documents) {
    switch (document.kind) {
      case 'Tier':
        tiers.push(compileCalicoTier(document));
        break;
      case 'NetworkSet':
      case 'GlobalNetworkSet':
        networkSets.push(compileCalicoNetworkSet(document));
        break;
      case 'NetworkPolicy':
      case 'GlobalNetworkPolicy':
        policies.push(compileCalicoPolicy(document));
        break;
    }
  }
  return { policies, tiers, networkSets };
}
