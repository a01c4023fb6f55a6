// Invalid Cilium policies, each with the exact errors (path: reason) validation must
// report, in order. Each case changes one thing in an otherwise valid policy.

/** One invalid document and the errors it must produce. */
export interface InvalidCase {
  readonly name: string;
  readonly document: unknown;
  readonly errors: readonly string[];
}

const cnp = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'p', namespace: 'x' }): Record<string, unknown> => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata,
  spec,
});
const ccnp = (spec: Record<string, unknown>): Record<string, unknown> => ({ ...cnp(spec, { name: 'c' }), kind: 'CiliumClusterwideNetworkPolicy' });
const ingress = (...rules: unknown[]): Record<string, unknown> => cnp({ endpointSelector: {}, ingress: rules });
const egress = (...rules: unknown[]): Record<string, unknown> => cnp({ endpointSelector: {}, egress: rules });
const ports = (...entries: unknown[]): Record<string, unknown> => ingress({ toPorts: [{ ports: entries }] });

/** The corpus. */
export const INVALID_CASES: readonly InvalidCase[] = [
  { name: 'not an object', document: ['spec'], errors: ['must be an object, not a list'] },
  { name: 'wrong apiVersion', document: { ...ingress({}), apiVersion: 'cilium.io/v1' }, errors: ['apiVersion: must be "cilium.io/v2", not the string "cilium.io/v1"'] },
  { name: 'wrong kind', document: { ...ingress({}), kind: 'NetworkPolicy' }, errors: ['kind: must be "CiliumNetworkPolicy" or "CiliumClusterwideNetworkPolicy", not the string "NetworkPolicy"'] },
  { name: 'unknown top-level field', document: { ...ingress({}), rules: [] }, errors: ['rules: unknown field'] },
  { name: 'missing metadata.name', document: cnp({ endpointSelector: {} }, { namespace: 'x' }), errors: ['metadata.name: required'] },
  { name: 'namespace on a clusterwide policy', document: { ...ccnp({ endpointSelector: {} }), metadata: { name: 'c', namespace: 'x' } }, errors: ['metadata.namespace: CiliumClusterwideNetworkPolicy is not namespaced'] },
  { name: 'neither spec nor specs', document: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'p' } }, errors: ['spec: required: a policy needs spec or specs'] },
  { name: 'no selector', document: cnp({ ingress: [{}] }), errors: ['spec: must have one of endpointSelector or nodeSelector'] },
  { name: 'both selectors', document: ccnp({ endpointSelector: {}, nodeSelector: {} }), errors: ['spec.nodeSelector: may not be combined with endpointSelector'] },
  { name: 'nodeSelector in a namespaced policy', document: cnp({ nodeSelector: {} }), errors: ['spec.nodeSelector: only a CiliumClusterwideNetworkPolicy may select nodes'] },
  { name: 'typo in a rule field', document: ingress({ fromEndpoint: [{}] }), errors: ['spec.ingress[0].fromEndpoint: unknown field'] },
  { name: 'egress field in an ingress rule', document: ingress({ toEndpoints: [{}] }), errors: ['spec.ingress[0].toEndpoints: unknown field'] },
  { name: 'toFQDNs in an egressDeny rule', document: cnp({ endpointSelector: {}, egressDeny: [{ toFQDNs: [{ matchName: 'a.com' }] }] }), errors: ['spec.egressDeny[0].toFQDNs: unknown field'] },
  { name: 'L7 rules in a deny rule', document: cnp({ endpointSelector: {}, ingressDeny: [{ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{}] } }] }] }), errors: ['spec.ingressDeny[0].toPorts[0].rules: unknown field'] },
  { name: 'unknown label source', document: cnp({ endpointSelector: { matchLabels: { 'k8z:app': 'web' } } }), errors: ['spec.endpointSelector.matchLabels["k8z:app"]: unknown label source "k8z": must be one of k8s, any, reserved, container, unspec, cidr, fqdn, cni, cilium-generated'] },
  { name: 'bad label value', document: ingress({ fromEndpoints: [{ matchLabels: { 'k8s:app': 'a b' } }] }), errors: ['spec.ingress[0].fromEndpoints[0].matchLabels["k8s:app"]: invalid label value "a b": must be alphanumerics, \'-\', \'_\' or \'.\', starting and ending with an alphanumeric'] },
  { name: 'unknown selector operator', document: ingress({ fromEndpoints: [{ matchExpressions: [{ key: 'app', operator: 'Equals', values: ['a'] }] }] }), errors: ['spec.ingress[0].fromEndpoints[0].matchExpressions[0].operator: unknown operator "Equals": must be one of In, NotIn, Exists, DoesNotExist'] },
  { name: 'In without values', document: egress({ toEndpoints: [{ matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'In' }] }] }), errors: ['spec.egress[0].toEndpoints[0].matchExpressions[0].values: must not be empty when operator is In'] },
  { name: 'bad CIDR', document: ingress({ fromCIDR: ['10.0.0.0/8', '10.0.0.0/33'] }), errors: ['spec.ingress[0].fromCIDR[1]: invalid CIDR "10.0.0.0/33"'] },
  { name: 'CIDRSet without cidr', document: egress({ toCIDRSet: [{ except: ['10.0.0.0/24'] }] }), errors: ['spec.egress[0].toCIDRSet[0].cidr: required'] },
  { name: 'except outside the cidr', document: egress({ toCIDRSet: [{ cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] }] }), errors: ['spec.egress[0].toCIDRSet[0].except[0]: "10.1.0.0/24" is not contained in cidr "10.0.0.0/16"'] },
  { name: 'CIDR group reference', document: egress({ toCIDRSet: [{ cidrGroupRef: 'partners' }] }), errors: ['spec.egress[0].toCIDRSet[0].cidrGroupRef: CiliumCIDRGroups are not supported yet'] },
  { name: 'unknown entity', document: egress({ toEntities: ['world', 'internet'] }), errors: ['spec.egress[0].toEntities[1]: unknown entity "internet": must be one of all, world, world-ipv4, world-ipv6, cluster, host, remote-node, kube-apiserver, init, health, unmanaged, none'] },
  { name: 'port as a YAML number', document: ports({ port: 80 }), errors: ['spec.ingress[0].toPorts[0].ports[0].port: must be a string, not number 80'] },
  { name: 'port out of range', document: ports({ port: '70000' }), errors: ['spec.ingress[0].toPorts[0].ports[0].port: port 70000 out of range: must be 0-65535'] },
  { name: 'bad port name', document: ports({ port: 'http--alt' }), errors: ['spec.ingress[0].toPorts[0].ports[0].port: invalid port name "http--alt": must not contain \'--\''] },
  { name: 'unknown protocol', document: ports({ port: '53', protocol: 'ICMP' }), errors: ['spec.ingress[0].toPorts[0].ports[0].protocol: unsupported protocol "ICMP": must be one of TCP, UDP, SCTP, ANY'] },
  { name: 'endPort below port', document: ports({ port: '8080', endPort: 80 }), errors: ['spec.ingress[0].toPorts[0].ports[0].endPort: 80 is less than port 8080'] },
  { name: 'endPort with a named port', document: ports({ port: 'http', endPort: 90 }), errors: ['spec.ingress[0].toPorts[0].ports[0].endPort: needs a port number other than 0'] },
  { name: 'too many ports', document: ports(...Array.from({ length: 41 }, (_, i) => ({ port: String(1000 + i) }))), errors: ['spec.ingress[0].toPorts[0].ports: at most 40 ports are allowed, found 41'] },
  { name: 'HTTP rules over UDP', document: ingress({ toPorts: [{ ports: [{ port: '80', protocol: 'UDP' }], rules: { http: [{ method: 'GET' }] } }] }), errors: ['spec.ingress[0].toPorts[0].rules.http: L7 rules can only apply to TCP (not UDP) except for DNS rules'] },
  { name: 'invalid path regex', document: ingress({ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{ path: '/api/(v1' }] } }] }), errors: ['spec.ingress[0].toPorts[0].rules.http[0].path: invalid RE2 pattern "/api/(v1": missing closing ) at offset 5'] },
  { name: 'lookahead in a path (not RE2)', document: ingress({ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{ path: '/api/(?!admin).*' }] } }] }), errors: ['spec.ingress[0].toPorts[0].rules.http[0].path: invalid RE2 pattern "/api/(?!admin).*": lookahead is not RE2 syntax at offset 5'] },
  { name: 'backreference in a method', document: ingress({ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{ method: '(GET)\\1' }] } }] }), errors: ['spec.ingress[0].toPorts[0].rules.http[0].method: invalid RE2 pattern "(GET)\\\\1": backreference \\1 is not RE2 syntax (RE2 has no backreferences) at offset 5'] },
  { name: 'repeated repetition in a host', document: egress({ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{ host: 'a**\\.example\\.com' }] } }] }), errors: ['spec.egress[0].toPorts[0].rules.http[0].host: invalid RE2 pattern "a**\\\\.example\\\\.com": bad repetition operator: a repetition of a repetition (RE2 refuses a** and a*{2}) at offset 2'] },
  { name: 'repetition count over 1000 in a path', document: ingress({ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{ path: '/a{1001}' }] } }] }), errors: ['spec.ingress[0].toPorts[0].rules.http[0].path: invalid RE2 pattern "/a{1001}": bad repetition operator: counts above 1000 at offset 2'] },
  { name: 'two bad patterns in one rule, both reported', document: ingress({ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{ method: '[z-a]', path: '/(' }] } }] }), errors: ['spec.ingress[0].toPorts[0].rules.http[0].method: invalid RE2 pattern "[z-a]": invalid character class range z-a at offset 2', 'spec.ingress[0].toPorts[0].rules.http[0].path: invalid RE2 pattern "/(": missing closing ) at offset 1'] },
  { name: 'unknown HTTP rule field', document: ingress({ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{ verb: 'GET' }] } }] }), errors: ['spec.ingress[0].toPorts[0].rules.http[0].verb: unknown field'] },
  { name: 'two L7 parsers', document: egress({ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{}], kafka: [{}] } }] }), errors: ['spec.egress[0].toPorts[0].rules: only one of http, kafka may be set'] },
  { name: 'DNS rules on ingress', document: ingress({ toPorts: [{ ports: [{ port: '53' }], rules: { dns: [{ matchName: 'a.com' }] } }] }), errors: ['spec.ingress[0].toPorts[0].rules.dns: DNS rules are only allowed on egress'] },
  { name: 'L7 rules in a host policy', document: ccnp({ nodeSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{}] } }] }] }), errors: ['spec.ingress[0].toPorts[0].rules: L7 rules are not allowed in host policies (nodeSelector)'] },
  { name: 'icmps with toPorts', document: ingress({ icmps: [{ fields: [{ type: 8 }] }], toPorts: [{ ports: [{ port: '80' }] }] }), errors: ['spec.ingress[0].icmps: may only be present without toPorts: define a separate rule to use toPorts'] },
  { name: 'unknown ICMP type name', document: ingress({ icmps: [{ fields: [{ type: 'Ping' }] }] }), errors: ['spec.ingress[0].icmps[0].fields[0].type: invalid ICMP type the string "Ping": must be 0-255 or an ICMP type name'] },
  { name: 'bad ICMP family', document: ingress({ icmps: [{ fields: [{ family: 'IPv5', type: 8 }] }] }), errors: ['spec.ingress[0].icmps[0].fields[0].family: unsupported family "IPv5": must be IPv4 or IPv6'] },
  { name: 'toFQDNs, known but not supported', document: egress({ toFQDNs: [{ matchName: 'example.com' }] }), errors: ['spec.egress[0].toFQDNs: not supported yet'] },
  { name: 'enableDefaultDeny not a boolean', document: cnp({ endpointSelector: {}, enableDefaultDeny: { ingress: 'no' } }), errors: ['spec.enableDefaultDeny.ingress: must be true or false, not the string "no"'] },
  {
    name: 'several errors in specs, in document order',
    document: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'p' }, specs: [{ endpointSelector: {}, egress: [{ toCIDR: ['300.0.0.0/8'] }] }, { endpointSelector: [] }] },
    errors: ['specs[0].egress[0].toCIDR[0]: invalid CIDR "300.0.0.0/8"', 'specs[1].endpointSelector: must be an object, not a list'],
  },
];
