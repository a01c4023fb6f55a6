import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { CalicoError, parseCalicoDocument } from '../../src/calico/index.js';

const NP = 'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, namespace: ns}\n';
const GNP = 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\n';

// [what is wrong, document (YAML), exact message, code]
const invalid: readonly (readonly [string, string, string, string])[] = [
  ['inverted port range', `${NP}spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n    source:\n      ports: [80, "90:80"]`,
    'spec.ingress[0].source.ports[1]: invalid port range "90:80"', 'invalid-value'],
  ['port 0', `${NP}spec:\n  egress:\n  - action: Allow\n    protocol: UDP\n    destination:\n      ports: [0]`,
    'spec.egress[0].destination.ports[0]: invalid port 0 (ports are 1-65535)', 'invalid-value'],
  ['port above 65535 in a range', `${NP}spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n    destination:\n      notPorts: ["1:70000"]`,
    'spec.ingress[0].destination.notPorts[0]: invalid port 70000 (ports are 1-65535)', 'invalid-value'],
  ['bad port name', `${NP}spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n    destination:\n      ports: ["web port"]`,
    'spec.ingress[0].destination.ports[0]: invalid port "web port": expected a number, a "min:max" range or a port name of [a-zA-Z0-9_.-]', 'invalid-value'],
  ['ports without a protocol', `${NP}spec:\n  ingress:\n  - action: Allow\n    destination:\n      ports: [80]`,
    'spec.ingress[0].destination.ports: rules that specify ports must set protocol to TCP, UDP or SCTP', 'invalid-value'],
  ['ports with ICMP', `${NP}spec:\n  ingress:\n  - action: Allow\n    protocol: ICMP\n    source:\n      notPorts: [80]`,
    'spec.ingress[0].source.notPorts: rules that specify ports must set protocol to TCP, UDP or SCTP', 'invalid-value'],
  ['unknown protocol', `${NP}spec:\n  ingress:\n  - action: Allow\n    protocol: HTTP`,
    'spec.ingress[0].protocol: invalid protocol "HTTP": expected TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a protocol number from 1 to 255', 'invalid-value'],
  ['protocol number out of range', `${NP}spec:\n  ingress:\n  - action: Allow\n    notProtocol: 256`,
    'spec.ingress[0].notProtocol: invalid protocol 256: expected TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a protocol number from 1 to 255', 'invalid-value'],
  ['bad CIDR', `${NP}spec:\n  ingress:\n  - action: Deny\n    source:\n      nets: [10.0.0.0/8, 10.0.0.0/33]`,
    'spec.ingress[0].source.nets[1]: invalid CIDR "10.0.0.0/33"', 'invalid-value'],
  ['short IPv4 form', `${NP}spec:\n  egress:\n  - action: Deny\n    destination:\n      notNets: ["10.1"]`,
    'spec.egress[0].destination.notNets[0]: invalid CIDR "10.1"', 'invalid-value'],
  ['host bits set in a rule net', `${NP}spec:\n  ingress:\n  - action: Deny\n    source:\n      nets: [10.1.2.3/8]`,
    'spec.ingress[0].source.nets[0]: invalid CIDR "10.1.2.3/8": host bits are set (the network is 10.0.0.0/8)', 'invalid-value'],
  ['IPv4 and IPv6 in one rule', `${NP}spec:\n  ingress:\n  - action: Deny\n    source:\n      nets: [10.0.0.0/8]\n    destination:\n      nets: ["fd00::/8"]`,
    'spec.ingress[0].destination.nets[0]: rule contains both IPv4 and IPv6 CIDRs', 'invalid-value'],
  ['CIDR of the wrong ipVersion', `${NP}spec:\n  ingress:\n  - action: Deny\n    ipVersion: 6\n    source:\n      nets: [10.0.0.0/8]`,
    'spec.ingress[0].source.nets[0]: IPv4 CIDR "10.0.0.0/8" in a rule with ipVersion 6', 'invalid-value'],
  ['bad selector', `${NP}spec:\n  selector: 'app == '`,
    'spec.selector: selector "app == " at 7: expected a quoted string', 'invalid-selector'],
  ['bad rule selector', `${NP}spec:\n  ingress:\n  - action: Allow\n    source:\n      namespaceSelector: "name in {'a' 'b'}"`,
    `spec.ingress[0].source.namespaceSelector: selector "name in {'a' 'b'}" at 13: expected ',' or '}'`, 'invalid-selector'],
  ['global() in a policy selector', `${GNP}spec:\n  selector: global()`,
    'spec.selector: global() can only be used in an EntityRule namespaceSelector', 'invalid-value'],
  ['global() combined in a namespaceSelector', `${NP}spec:\n  egress:\n  - action: Allow\n    destination:\n      namespaceSelector: global() || has(a)`,
    'spec.egress[0].destination.namespaceSelector: global() cannot be combined with other selectors', 'invalid-value'],
  ['unknown rule field', `${NP}spec:\n  ingress:\n  - action: Allow\n    sorce:\n      selector: all()`,
    'spec.ingress[0].sorce: unknown field "sorce"', 'unknown-field'],
  ['unknown entity field', `${NP}spec:\n  egress:\n  - action: Allow\n    destination:\n      port: [80]`,
    'spec.egress[0].destination.port: unknown field "port"', 'unknown-field'],
  ['unknown spec field (Kubernetes podSelector)', `${NP}spec:\n  podSelector: {}`,
    'spec.podSelector: unknown field "podSelector"', 'unknown-field'],
  ['GNP-only field in a NetworkPolicy', `${NP}spec:\n  doNotTrack: true`,
    'spec.doNotTrack: unknown field "doNotTrack"', 'unknown-field'],
  ['missing action', `${NP}spec:\n  ingress:\n  - protocol: TCP`,
    'spec.ingress[0].action: required', 'required'],
  ['bad action', `${NP}spec:\n  egress:\n  - action: Reject`,
    'spec.egress[0].action: invalid action the string "Reject": expected Allow, Deny, Pass or Log', 'invalid-value'],
  ['bad policy type', `${NP}spec:\n  types: [Ingress, Forward]`,
    'spec.types[1]: invalid policy type the string "Forward": expected Ingress or Egress', 'invalid-value'],
  ['repeated policy type', `${NP}spec:\n  types: [Egress, Egress]`,
    "spec.types[1]: 'Egress' type specified more than once", 'invalid-value'],
  ['order that is not a number', `${NP}spec:\n  order: first`,
    'spec.order: expected a number, found the string "first"', 'invalid-value'],
  ['ICMP code without type', `${NP}spec:\n  ingress:\n  - action: Allow\n    protocol: ICMP\n    icmp: {code: 3}`,
    'spec.ingress[0].icmp.code: ICMP code specified without an ICMP type', 'invalid-value'],
  ['ICMP type 255', `${NP}spec:\n  ingress:\n  - action: Allow\n    protocol: ICMP\n    icmp: {type: 255}`,
    'spec.ingress[0].icmp.type: invalid ICMP type the number 255: expected an integer from 0 to 254', 'invalid-value'],
  ['icmp with TCP', `${NP}spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n    icmp: {type: 8}`,
    'spec.ingress[0].icmp: rules that specify ICMP fields must set protocol to ICMP or ICMPv6', 'invalid-value'],
  ['ICMPv6 with ipVersion 4', `${NP}spec:\n  ingress:\n  - action: Allow\n    ipVersion: 4\n    protocol: ICMPv6`,
    'spec.ingress[0].protocol: protocol ICMPv6 requires ipVersion 6', 'invalid-value'],
  ['HTTP on a Deny rule', `${NP}spec:\n  ingress:\n  - action: Deny\n    http: {methods: [GET]}`,
    'spec.ingress[0].http: HTTP match is only valid on Allow rules', 'invalid-value'],
  ['HTTP on an egress rule', `${NP}spec:\n  egress:\n  - action: Allow\n    http: {methods: [GET]}`,
    'spec.egress[0].http: HTTP match is not allowed in egress rules', 'invalid-value'],
  ['HTTP path with both exact and prefix', `${NP}spec:\n  ingress:\n  - action: Allow\n    http:\n      paths: [{exact: /a, prefix: /b}]`,
    "spec.ingress[0].http.paths[0]: invalid path match: both 'exact' and 'prefix' are set", 'invalid-value'],
  ['HTTP path with a query', `${NP}spec:\n  ingress:\n  - action: Allow\n    http:\n      paths: [{prefix: "/a?b=1"}]`,
    `spec.ingress[0].http.paths[0].prefix: invalid path "/a?b=1": must start with '/' and not contain '?', '#' or spaces`, 'invalid-value'],
  ['duplicate HTTP method', `${NP}spec:\n  ingress:\n  - action: Allow\n    http: {methods: [GET, PUT, GET]}`,
    'spec.ingress[0].http.methods[2]: duplicate HTTP method "GET"', 'invalid-value'],
  ['preDNAT and doNotTrack', `${GNP}spec:\n  preDNAT: true\n  doNotTrack: true\n  applyOnForward: true`,
    'spec.preDNAT: preDNAT and doNotTrack cannot both be true', 'invalid-value'],
  ['preDNAT with egress', `${GNP}spec:\n  preDNAT: true\n  applyOnForward: true\n  egress: [{action: Allow}]`,
    'spec.egress: a preDNAT policy cannot have egress rules', 'invalid-value'],
  ['doNotTrack without applyOnForward', `${GNP}spec:\n  doNotTrack: true`,
    'spec.applyOnForward: applyOnForward must be true if either preDNAT or doNotTrack is true', 'invalid-value'],
  ['tier prefix naming another tier', `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: security.x}\nspec:\n  tier: platform`,
    'metadata.name: policy name "security.x" has tier prefix "security" but the policy is in tier "platform"', 'invalid-value'],
  ['upper-case policy name', `apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: AllowWeb}`,
    'metadata.name: invalid policy name "AllowWeb": expected a DNS-1123 label, optionally prefixed by "<tier>."', 'invalid-value'],
  ['missing name', 'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {namespace: x}',
    'metadata.name: required', 'required'],
  ['namespace on a global policy', `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g, namespace: x}`,
    'metadata.namespace: GlobalNetworkPolicy is not namespaced', 'invalid-value'],
  ['services with a selector', `${NP}spec:\n  egress:\n  - action: Allow\n    destination:\n      selector: all()\n      services: {name: db}`,
    'spec.egress[0].destination.services: cannot specify Selector/NotSelector and Services on the same rule', 'invalid-value'],
  ['global services without a namespace', `${GNP}spec:\n  egress:\n  - action: Allow\n    destination:\n      services: {name: db}`,
    'spec.egress[0].destination.services.namespace: must specify a namespace', 'invalid-value'],
  ['tier with a dotted name', 'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: a.b}\nspec: {order: 1}',
    'metadata.name: invalid tier name "a.b": must be a DNS-1123 label (no dots)', 'invalid-value'],
  ['tier default action Allow', 'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t}\nspec: {defaultAction: Allow}',
    'spec.defaultAction: invalid default action the string "Allow": expected Deny or Pass', 'invalid-value'],
  ['default tier with another order', 'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: default}\nspec: {order: 5}',
    'spec.order: default tier order must be 1000000', 'invalid-value'],
  ['bad network set CIDR', 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: s}\nspec:\n  nets: [10.0.0.0/8, "fe80::1%eth0"]',
    'spec.nets[1]: invalid CIDR "fe80::1%eth0"', 'invalid-value'],
  ['reserved label on a network set', "apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata:\n  name: s\n  labels: {projectcalico.org/namespace: x}",
    'metadata.labels.projectcalico.org/namespace: projectcalico.org/namespace is not a valid label name', 'invalid-value'],
  ['bad label value', "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: s\n  labels: {role: 'a b'}",
    'metadata.labels.role: invalid label value "a b": must be 0-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric', 'invalid-value'],
  ['Kubernetes apiVersion', 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}',
    'apiVersion: unsupported API version the string "networking.k8s.io/v1": expected projectcalico.org/v3 or crd.projectcalico.org/v1', 'unsupported-kind'],
  ['unsupported kind', 'apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: h}',
    'kind: unsupported kind the string "HostEndpoint" for projectcalico.org/v3: expected NetworkPolicy, GlobalNetworkPolicy, NetworkSet, GlobalNetworkSet, Tier', 'unsupported-kind'],
  ['unknown top-level field', `${NP}specs: {}`,
    'specs: unknown field "specs"', 'unknown-field'],
  ['rules that are not a list', `${NP}spec:\n  ingress: {action: Allow}`,
    'spec.ingress: expected a list, found an object', 'invalid-value'],
];

describe('invalid Calico documents', () => {
  it('has at least 20 cases', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(20);
  });

  it.each(invalid)('%s', (_what, yaml, message, code) => {
    let error: unknown;
    try {
      parseCalicoDocument(parse(yaml));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CalicoError);
    const calico = error as CalicoError;
    expect(calico.message).toBe(message);
    expect(calico.code).toBe(code);
    expect(message.startsWith(calico.path === '' ? '' : `${calico.path}: `)).toBe(true);
  });
});
