// Calico's CustomResourceDefinitions (crd.projectcalico.org/v1, as Calico names its CRD
// group), for clusters that do not run Calico but whose users write Calico policies:
// NetworkPolicy, GlobalNetworkPolicy, NetworkSet, GlobalNetworkSet, Tier, IPPool, BGPPeer,
// BGPConfiguration. The schemas are written here from Calico's documented v3 fields; the
// policy engine checks what a schema cannot (selector syntax, port ranges, CIDRs).
import { customResourceDefinition, type PrinterColumn } from './crd.js';
import { BGP_CONFIGURATION_SPEC, BGP_PEER_SPEC, IP_POOL_SPEC } from './routing-schemas.js';
import {
  arrayField,
  booleanField,
  integerField,
  intOrStringField,
  type JsonSchema,
  numberField,
  objectField,
  stringField,
  stringList,
  stringMap,
} from './schema.js';

/** Calico's CRD group and version (what `kubectl get` and Calico's own manifests use). */
export const CALICO_CRD_GROUP = 'crd.projectcalico.org';
export const CALICO_CRD_VERSION = 'v1';

const LABELS = { 'app.kubernetes.io/part-of': 'twill', 'twill.io/optional-crds': 'calico' };

const PORTS = 'Port numbers, named ports, or ranges "<first>:<last>".';

const ENTITY_RULE: JsonSchema = objectField(
  {
    nets: stringList('The networks (CIDRs) to match.'),
    notNets: stringList('Networks that must not match.'),
    selector: stringField('A Calico selector of the endpoints to match: app == "frontend".'),
    notSelector: stringField('A selector of endpoints that must not match.'),
    namespaceSelector: stringField('A selector of the namespaces whose endpoints match.'),
    ports: arrayField(intOrStringField(), PORTS),
    notPorts: arrayField(intOrStringField(), `Ports that must not match. ${PORTS}`),
    serviceAccounts: objectField(
      { names: stringList('Service account names.'), selector: stringField('A selector of service accounts by their labels.') },
      'The service accounts of the matched pods.',
    ),
    services: objectField(
      { name: stringField('The Service.'), namespace: stringField("The Service's namespace (the policy's when absent).") },
      "A Service's endpoints.",
    ),
  },
  'Where traffic comes from (source) or goes to (destination).',
);

const ICMP: JsonSchema = objectField(
  {
    type: integerField({ description: 'The ICMP type.', minimum: 0, maximum: 254 }),
    code: integerField({ description: 'The ICMP code (with type).', minimum: 0, maximum: 255 }),
  },
  'An ICMP type and code.',
);

const RULE: JsonSchema = objectField(
  {
    action: stringField({ description: 'What happens to matching traffic.', enum: ['Allow', 'Deny', 'Log', 'Pass'] }),
    ipVersion: integerField({ description: '4 or 6.', enum: [4, 6] }),
    protocol: intOrStringField('TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite, or a protocol number 1 to 255.'),
    notProtocol: intOrStringField('A protocol that must not match.'),
    icmp: ICMP,
    notICMP: ICMP,
    source: ENTITY_RULE,
    destination: ENTITY_RULE,
    http: objectField(
      {
        methods: stringList('HTTP methods (GET, PUT, ...).'),
        paths: arrayField(objectField({ exact: stringField(), prefix: stringField() }), 'Paths, each matched exactly or by prefix.'),
      },
      'HTTP attributes to match.',
    ),
    metadata: objectField({ annotations: stringMap('Free text attached to the rule.') }),
  },
  { required: ['action'] },
);

const TYPES = arrayField(stringField({ enum: ['Ingress', 'Egress'] }), 'Which directions the policy applies to (from the rules present when absent).');

const POLICY_FIELDS: Readonly<Record<string, JsonSchema>> = {
  tier: stringField('The tier the policy belongs to ("default" when absent).'),
  order: numberField('Policies of a tier apply in increasing order.'),
  selector: stringField('A Calico selector of the endpoints the policy applies to: app == "api-server", all().'),
  types: TYPES,
  ingress: arrayField(RULE, 'Rules for traffic to the selected endpoints, in order.'),
  egress: arrayField(RULE, 'Rules for traffic from the selected endpoints, in order.'),
  serviceAccountSelector: stringField('A selector of the service accounts whose pods the policy applies to.'),
  performanceHints: stringList('Hints to the dataplane ("AssumeNeededOnEveryNode").'),
};

const GLOBAL_POLICY_FIELDS: Readonly<Record<string, JsonSchema>> = {
  ...POLICY_FIELDS,
  namespaceSelector: stringField('A selector of the namespaces whose endpoints the policy applies to.'),
  doNotTrack: booleanField('Apply the rules before connection tracking (host endpoints).'),
  preDNAT: booleanField('Apply the rules before DNAT (host endpoints, ingress only).'),
  applyOnForward: booleanField('Apply the rules to forwarded traffic too (host endpoints).'),
};

const POLICY_COLUMNS: readonly PrinterColumn[] = [
  { name: 'Tier', type: 'string', jsonPath: '.spec.tier' },
  { name: 'Order', type: 'number', jsonPath: '.spec.order' },
  { name: 'Selector', type: 'string', jsonPath: '.spec.selector' },
];

const NETWORK_SET_SPEC = objectField({ nets: stringList('The networks (CIDRs) of the set; policies select the set by its labels.') });

/** The Calico CustomResourceDefinitions for a cluster without Calico. */
export function calicoCrds(): Record<string, unknown>[] {
  const crd = (definition: Omit<Parameters<typeof customResourceDefinition>[0], 'group' | 'version' | 'labels'>): Record<string, unknown> =>
    customResourceDefinition({ group: CALICO_CRD_GROUP, version: CALICO_CRD_VERSION, labels: LABELS, ...definition });
  return [
    crd({
      kind: 'NetworkPolicy',
      plural: 'networkpolicies',
      shortNames: ['cnetpol', 'caliconetworkpolicy'],
      scope: 'Namespaced',
      description: "A Calico policy for the endpoints of one namespace.",
      spec: objectField(POLICY_FIELDS),
      printerColumns: POLICY_COLUMNS,
    }),
    crd({
      kind: 'GlobalNetworkPolicy',
      plural: 'globalnetworkpolicies',
      shortNames: ['gnp', 'cgnp'],
      scope: 'Cluster',
      description: 'A Calico policy for endpoints of every namespace.',
      spec: objectField(GLOBAL_POLICY_FIELDS),
      printerColumns: POLICY_COLUMNS,
    }),
    crd({
      kind: 'NetworkSet',
      plural: 'networksets',
      shortNames: ['netset'],
      scope: 'Namespaced',
      description: 'Networks that policies of the namespace select by label.',
      spec: NETWORK_SET_SPEC,
    }),
    crd({
      kind: 'GlobalNetworkSet',
      plural: 'globalnetworksets',
      shortNames: ['gns'],
      scope: 'Cluster',
      description: 'Networks that policies select by label.',
      spec: NETWORK_SET_SPEC,
    }),
    crd({
      kind: 'Tier',
      plural: 'tiers',
      scope: 'Cluster',
      description: 'An ordered group of policies; a packet no policy of a tier decides goes to the next tier only through Pass.',
      spec: objectField({
        order: numberField('Tiers apply in increasing order ("default" is 1000000).'),
        defaultAction: stringField({ description: 'What happens to traffic no policy of the tier decides.', enum: ['Deny', 'Pass'] }),
      }),
      printerColumns: [{ name: 'Order', type: 'number', jsonPath: '.spec.order' }],
    }),
    crd({
      kind: 'IPPool',
      plural: 'ippools',
      scope: 'Cluster',
      description: 'A range of pod addresses, split into per-node blocks.',
      spec: IP_POOL_SPEC,
      specRequired: true,
      printerColumns: [
        { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr' },
        { name: 'Block size', type: 'integer', jsonPath: '.spec.blockSize' },
      ],
    }),
    crd({
      kind: 'BGPPeer',
      plural: 'bgppeers',
      scope: 'Cluster',
      description: 'A BGP session to set up from some or every node.',
      spec: BGP_PEER_SPEC,
      specRequired: true,
      printerColumns: [
        { name: 'Peer IP', type: 'string', jsonPath: '.spec.peerIP' },
        { name: 'AS', type: 'integer', jsonPath: '.spec.asNumber' },
      ],
    }),
    crd({
      kind: 'BGPConfiguration',
      plural: 'bgpconfigurations',
      scope: 'Cluster',
      description: 'BGP settings of the cluster ("default") or of one node ("node.<name>").',
      spec: BGP_CONFIGURATION_SPEC,
      printerColumns: [
        { name: 'AS', type: 'integer', jsonPath: '.spec.asNumber' },
        { name: 'Mesh', type: 'boolean', jsonPath: '.spec.nodeToNodeMeshEnabled' },
      ],
    }),
  ];
}
