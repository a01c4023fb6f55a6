// Invalid NetworkPolicies, each with the exact errors (path: reason) validation must
// report. Each case changes one thing in an otherwise valid policy.

/** One invalid document and the errors it must produce, in order. */
export interface InvalidCase {
  readonly name: string;
  readonly document: unknown;
  readonly errors: readonly string[];
}

const base = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'p', namespace: 'x' }): Record<string, unknown> => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata,
  spec,
});

const ingressFrom = (...from: unknown[]): Record<string, unknown> => base({ podSelector: {}, ingress: [{ from }] });
const ingressPorts = (...ports: unknown[]): Record<string, unknown> => base({ podSelector: {}, ingress: [{ ports }] });

/** The corpus. */
export const INVALID_CASES: readonly InvalidCase[] = [
  { name: 'not an object', document: 'kind: NetworkPolicy', errors: ['must be an object, not the string "kind: NetworkPolicy"'] },
  { name: 'wrong apiVersion', document: { ...base({ podSelector: {} }), apiVersion: 'extensions/v1beta1' }, errors: ['apiVersion: must be "networking.k8s.io/v1", not the string "extensions/v1beta1"'] },
  { name: 'wrong kind', document: { ...base({ podSelector: {} }), kind: 'NetworkPolicies' }, errors: ['kind: must be "NetworkPolicy", not the string "NetworkPolicies"'] },
  { name: 'unknown top-level field', document: { ...base({ podSelector: {} }), status: {} }, errors: ['status: unknown field'] },
  { name: 'missing metadata.name', document: base({ podSelector: {} }, { namespace: 'x' }), errors: ['metadata.name: required'] },
  {
    name: 'upper-case name',
    document: base({ podSelector: {} }, { name: 'Deny-All', namespace: 'x' }),
    errors: ['metadata.name: invalid name "Deny-All": must be lowercase alphanumerics, \'-\' or \'.\', starting and ending with an alphanumeric (RFC 1123 subdomain)'],
  },
  {
    name: 'namespace with a dot',
    document: base({ podSelector: {} }, { name: 'p', namespace: 'team.a' }),
    errors: ['metadata.namespace: invalid namespace "team.a": must be lowercase alphanumerics or \'-\', starting and ending with an alphanumeric (RFC 1123 label)'],
  },
  { name: 'missing spec', document: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' } }, errors: ['spec: required'] },
  { name: 'missing podSelector', document: base({ policyTypes: ['Ingress'] }), errors: ['spec.podSelector: required (use {} to select every pod in the namespace)'] },
  { name: 'typo in spec field', document: base({ podSelector: {}, ingres: [] }), errors: ['spec.ingres: unknown field'] },
  { name: 'ingress is an object', document: base({ podSelector: {}, ingress: { from: [] } }), errors: ['spec.ingress: must be a list, not an object'] },
  { name: 'unknown field in a rule', document: base({ podSelector: {}, ingress: [{ to: [] }] }), errors: ['spec.ingress[0].to: unknown field'] },
  { name: 'unknown selector operator', document: base({ podSelector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['a'] }] } }), errors: ['spec.podSelector.matchExpressions[0].operator: unknown operator "Equals": must be one of In, NotIn, Exists, DoesNotExist'] },
  { name: 'In without values', document: base({ podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }), errors: ['spec.podSelector.matchExpressions[0].values: must not be empty when operator is In'] },
  { name: 'NotIn with empty values', document: base({ podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: [] }] } }), errors: ['spec.podSelector.matchExpressions[0].values: must not be empty when operator is NotIn'] },
  { name: 'Exists with values', document: base({ podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['a'] }] } }), errors: ['spec.podSelector.matchExpressions[0].values: must be empty when operator is Exists'] },
  { name: 'expression without key', document: base({ podSelector: { matchExpressions: [{ operator: 'Exists' }] } }), errors: ['spec.podSelector.matchExpressions[0].key: required'] },
  {
    name: 'bad label key in matchLabels',
    document: ingressFrom({ podSelector: { matchLabels: { '-app': 'web' } } }),
    errors: ['spec.ingress[0].from[0].podSelector.matchLabels["-app"]: invalid label key "-app": the name part must be alphanumerics, \'-\', \'_\' or \'.\', starting and ending with an alphanumeric'],
  },
  {
    name: 'bad label value in matchLabels',
    document: ingressFrom({ namespaceSelector: { matchLabels: { team: 'a b' } } }),
    errors: ['spec.ingress[0].from[0].namespaceSelector.matchLabels["team"]: invalid label value "a b": must be alphanumerics, \'-\', \'_\' or \'.\', starting and ending with an alphanumeric'],
  },
  { name: 'label key with two slashes', document: base({ podSelector: { matchExpressions: [{ key: 'a/b/c', operator: 'Exists' }] } }), errors: ['spec.podSelector.matchExpressions[0].key: invalid label key "a/b/c": a label key has at most one \'/\''] },
  { name: 'label value not a string', document: base({ podSelector: { matchLabels: { tier: 3 } } }), errors: ['spec.podSelector.matchLabels["tier"]: must be a string, not number 3'] },
  { name: 'empty peer', document: ingressFrom({ podSelector: {} }, {}), errors: ['spec.ingress[0].from[1]: must specify a peer: podSelector, namespaceSelector or ipBlock'] },
  { name: 'ipBlock with podSelector', document: ingressFrom({ podSelector: {}, ipBlock: { cidr: '10.0.0.0/8' } }), errors: ['spec.ingress[0].from[0]: ipBlock may not be combined with podSelector or namespaceSelector'] },
  { name: 'prefix length 33', document: ingressFrom({ podSelector: {} }, { ipBlock: { cidr: '10.0.0.0/33' } }), errors: ['spec.ingress[0].from[1].ipBlock.cidr: invalid CIDR "10.0.0.0/33"'] },
  { name: 'CIDR without length', document: ingressFrom({ ipBlock: { cidr: '10.0.0.1' } }), errors: ['spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR "10.0.0.1"'] },
  { name: 'short-form IPv4', document: ingressFrom({ ipBlock: { cidr: '10.1/16' } }), errors: ['spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR "10.1/16"'] },
  { name: 'ipBlock without cidr', document: ingressFrom({ ipBlock: { except: ['10.0.0.0/24'] } }), errors: ['spec.ingress[0].from[0].ipBlock.cidr: required'] },
  { name: 'except outside cidr', document: ingressFrom({ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }), errors: ['spec.ingress[0].from[0].ipBlock.except[0]: "10.1.0.0/24" is not a strict subset of cidr "10.0.0.0/16"'] },
  { name: 'except equal to cidr', document: ingressFrom({ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/16'] } }), errors: ['spec.ingress[0].from[0].ipBlock.except[0]: "10.0.0.0/16" is not a strict subset of cidr "10.0.0.0/16"'] },
  { name: 'except of the other family', document: ingressFrom({ ipBlock: { cidr: '10.0.0.0/8', except: ['fd00::/64'] } }), errors: ['spec.ingress[0].from[0].ipBlock.except[0]: "fd00::/64" is not a strict subset of cidr "10.0.0.0/8"'] },
  { name: 'invalid except', document: ingressFrom({ ipBlock: { cidr: 'fd00::/48', except: ['fd00::/129'] } }), errors: ['spec.ingress[0].from[0].ipBlock.except[0]: invalid CIDR "fd00::/129"'] },
  { name: 'lower-case protocol', document: ingressPorts({ protocol: 'tcp', port: 80 }), errors: ['spec.ingress[0].ports[0].protocol: unsupported protocol "tcp": must be TCP, UDP or SCTP'] },
  { name: 'ICMP protocol', document: ingressPorts({ protocol: 'ICMP' }), errors: ['spec.ingress[0].ports[0].protocol: unsupported protocol "ICMP": must be TCP, UDP or SCTP'] },
  { name: 'port 0', document: ingressPorts({ port: 0 }), errors: ['spec.ingress[0].ports[0].port: port 0 out of range: must be 1-65535'] },
  { name: 'port 65536', document: ingressPorts({ port: 65536 }), errors: ['spec.ingress[0].ports[0].port: port 65536 out of range: must be 1-65535'] },
  { name: 'numeric string port', document: ingressPorts({ port: '80' }), errors: ['spec.ingress[0].ports[0].port: invalid port name "80": must contain at least one letter'] },
  { name: 'port name too long', document: ingressPorts({ port: 'a-very-long-port-name' }), errors: ['spec.ingress[0].ports[0].port: invalid port name "a-very-long-port-name": must be no more than 15 characters'] },
  { name: 'port name with double dash', document: ingressPorts({ port: 'http--alt' }), errors: ['spec.ingress[0].ports[0].port: invalid port name "http--alt": must not contain \'--\''] },
  { name: 'fractional port', document: ingressPorts({ port: 80.5 }), errors: ['spec.ingress[0].ports[0].port: must be an integer or a port name, not number 80.5'] },
  { name: 'endPort below port', document: ingressPorts({ port: 8080, endPort: 8000 }), errors: ['spec.ingress[0].ports[0].endPort: 8000 is less than port 8080'] },
  { name: 'endPort with a named port', document: ingressPorts({ port: 'http', endPort: 8080 }), errors: ['spec.ingress[0].ports[0].endPort: may not be used with a named port'] },
  { name: 'endPort without port', document: ingressPorts({ endPort: 8080 }), errors: ['spec.ingress[0].ports[0].endPort: may not be used without port'] },
  { name: 'endPort out of range', document: ingressPorts({ port: 80, endPort: 70000 }), errors: ['spec.ingress[0].ports[0].endPort: port 70000 out of range: must be 1-65535'] },
  { name: 'unknown port field', document: ingressPorts({ port: 80, portName: 'http' }), errors: ['spec.ingress[0].ports[0].portName: unknown field'] },
  { name: 'unknown policy type', document: base({ podSelector: {}, policyTypes: ['Ingress', 'Both'] }), errors: ['spec.policyTypes[1]: unsupported policy type "Both": must be Ingress or Egress'] },
  { name: 'three policy types', document: base({ podSelector: {}, policyTypes: ['Ingress', 'Egress', 'Ingress'] }), errors: ['spec.policyTypes: may not have more than two entries'] },
  {
    name: 'several errors at once, in document order',
    document: base({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '300.0.0.0/8' } }], ports: [{ port: 80, endPort: 79, protocol: 'HTTP' }] }] }),
    errors: [
      'spec.egress[0].to[0].ipBlock.cidr: invalid CIDR "300.0.0.0/8"',
      'spec.egress[0].ports[0].protocol: unsupported protocol "HTTP": must be TCP, UDP or SCTP',
      'spec.egress[0].ports[0].endPort: 79 is less than port 80',
    ],
  },
];
