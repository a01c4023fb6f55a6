// Cilium's policy CustomResourceDefinitions (cilium.io/v2, as Cilium names them), for
// clusters that do not run Cilium but whose users write Cilium policies:
// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy. The schemas are written here
// from Cilium's documented policy fields; the policy engine checks the rest (CIDRs, port
// ranges, fields that exclude each other) and names the field.
import { customResourceDefinition } from './crd.js';
import {
  arrayField,
  booleanField,
  integerField,
  intOrStringField,
  type JsonSchema,
  objectField,
  stringField,
  stringList,
  stringMap,
} from './schema.js';

/** Cilium's CRD group and version. */
export const CILIUM_CRD_GROUP = 'cilium.io';
export const CILIUM_CRD_VERSION = 'v2';

const LABELS = { 'app.kubernetes.io/part-of': 'twill', 'twill.io/optional-crds': 'cilium' };

const LABEL_SELECTOR: JsonSchema = objectField(
  {
    matchLabels: stringMap('Labels an endpoint must have, with these values.'),
    matchExpressions: arrayField(
      objectField(
        {
          key: stringField('The label.'),
          operator: stringField({ enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }),
          values: stringList('The values (In, NotIn).'),
        },
        { required: ['key', 'operator'] },
      ),
      'Requirements on labels; all must hold.',
    ),
  },
  'A Kubernetes label selector; the empty selector selects everything.',
);

const ENTITIES = ['all', 'world', 'cluster', 'host', 'init', 'ingress', 'unmanaged', 'remote-node', 'health', 'kube-apiserver', 'world-ipv4', 'world-ipv6', 'none'];

const CIDR_RULE: JsonSchema = objectField(
  {
    cidr: stringField('A network: "10.0.0.0/8".'),
    cidrGroupRef: stringField('A CiliumCIDRGroup by name (instead of cidr).'),
    cidrGroupSelector: LABEL_SELECTOR,
    except: stringList('Networks inside cidr that are excluded.'),
  },
  'A network, minus exceptions.',
);

const SECRET_REF = objectField({ name: stringField(), namespace: stringField() }, { required: ['name'] });

const TLS_CONTEXT = objectField(
  {
    secret: SECRET_REF,
    certificate: stringField('The key of the Secret holding the certificate.'),
    privateKey: stringField('The key of the Secret holding the private key.'),
    trustedCA: stringField('The key of the Secret holding the trusted CAs.'),
  },
  { required: ['secret'] },
);

const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ICMP', 'ICMPV6', 'VRRP', 'IGMP', 'ANY'];

const PORT_PROTOCOL: JsonSchema = objectField(
  {
    port: stringField({ description: 'A port number ("8080") or a named port; "0" or absent is every port.', pattern: '^([0-9]{1,5}|[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)$' }),
    endPort: integerField({ description: 'The last port of a range starting at port.', minimum: 0, maximum: 65535 }),
    protocol: stringField({ description: 'The L4 protocol (ANY when absent).', enum: PROTOCOLS }),
  },
  { required: ['port'] },
);

const HTTP_RULE: JsonSchema = objectField({
  path: stringField('An extended POSIX regular expression the path must match: "/api/v1/.*".'),
  method: stringField('A regular expression the method must match: "GET".'),
  host: stringField('A regular expression the host must match.'),
  headers: stringList('Headers that must be present ("X-My-Header: true").'),
  headerMatches: arrayField(
    objectField(
      {
        name: stringField(),
        value: stringField(),
        secret: SECRET_REF,
        mismatch: stringField({ description: 'What to do when the header does not match.', enum: ['LOG', 'ADD', 'DELETE', 'REPLACE'] }),
      },
      { required: ['name'] },
    ),
  ),
});

const L7_RULES: JsonSchema = objectField(
  {
    http: arrayField(HTTP_RULE, 'HTTP requests allowed (any of them).'),
    kafka: arrayField(
      objectField({
        role: stringField({ enum: ['produce', 'consume'] }),
        apiKey: stringField(),
        apiVersion: stringField(),
        clientID: stringField(),
        topic: stringField(),
      }),
      'Kafka requests allowed.',
    ),
    dns: arrayField(objectField({ matchName: stringField(), matchPattern: stringField() }), 'DNS names that may be looked up.'),
    l7proto: stringField('The parser of a generic L7 protocol (with l7).'),
    // Each entry's keys are the parser's own (l7proto): a map of strings, as Cilium has it.
    l7: arrayField(stringMap(), 'Rules of the l7proto parser.'),
  },
  'L7 rules: only these requests are allowed on the ports.',
);

function portRules(deny: boolean): JsonSchema {
  const ports = arrayField(PORT_PROTOCOL, 'The ports.');
  if (deny) return arrayField(objectField({ ports }), 'The ports the rule denies.');
  return arrayField(
    objectField({
      ports,
      rules: L7_RULES,
      terminatingTLS: TLS_CONTEXT,
      originatingTLS: TLS_CONTEXT,
      serverNames: stringList('TLS server names (SNI) allowed.'),
      listener: objectField(
        {
          envoyConfig: objectField(
            { kind: stringField({ enum: ['CiliumEnvoyConfig', 'CiliumClusterwideEnvoyConfig'] }), name: stringField() },
            { required: ['name'] },
          ),
          name: stringField(),
          priority: integerField({ minimum: 1, maximum: 100 }),
        },
        { required: ['envoyConfig', 'name'] },
      ),
    }),
    'The ports the rule allows, with optional L7 rules.',
  );
}

const ICMPS: JsonSchema = arrayField(
  objectField({
    fields: arrayField(
      objectField({ family: stringField({ enum: ['IPv4', 'IPv6'] }), type: intOrStringField('An ICMP type number or name ("EchoRequest").') }, { required: ['type'] }),
    ),
  }),
  'ICMP messages allowed (not with toPorts).',
);

const AUTHENTICATION = objectField({ mode: stringField({ enum: ['disabled', 'required', 'test-always-fail'] }) }, { required: ['mode'] });

const TO_SERVICES = arrayField(
  objectField({
    k8sService: objectField({ serviceName: stringField(), namespace: stringField() }),
    k8sServiceSelector: objectField({ selector: LABEL_SELECTOR, namespace: stringField() }, { required: ['selector'] }),
  }),
  "Services whose endpoints are allowed (Services without a selector).",
);

const TO_GROUPS = arrayField(
  objectField({
    aws: objectField({
      labels: stringMap(),
      securityGroupsIds: stringList(),
      securityGroupsNames: stringList(),
      region: stringField(),
    }),
  }),
  "Networks a cloud provider's groups resolve to.",
);

function peerRule(direction: 'ingress' | 'egress', deny: boolean): JsonSchema {
  const p = direction === 'ingress' ? 'from' : 'to';
  const fields: Record<string, JsonSchema> = {
    [`${p}Endpoints`]: arrayField(LABEL_SELECTOR, 'Endpoints, by label.'),
    [`${p}Requires`]: arrayField(LABEL_SELECTOR, 'Labels every peer must also have (deprecated by Cilium).'),
    [`${p}CIDR`]: stringList('Networks.'),
    [`${p}CIDRSet`]: arrayField(CIDR_RULE, 'Networks with exceptions.'),
    [`${p}Entities`]: arrayField(stringField({ enum: ENTITIES }), 'Well-known peers (world, cluster, host, ...).'),
    [`${p}Groups`]: TO_GROUPS,
    [`${p}Nodes`]: arrayField(LABEL_SELECTOR, 'Nodes, by label.'),
    toPorts: portRules(deny),
    icmps: ICMPS,
  };
  if (direction === 'egress') {
    fields['toServices'] = TO_SERVICES;
    if (!deny) fields['toFQDNs'] = arrayField(objectField({ matchName: stringField(), matchPattern: stringField() }), 'DNS names (learned from DNS answers).');
  }
  if (!deny) fields['authentication'] = AUTHENTICATION;
  return arrayField(objectField(fields), `${deny ? 'Traffic denied' : 'Traffic allowed'} ${direction === 'ingress' ? 'to' : 'from'} the selected endpoints.`);
}

const RULE: JsonSchema = objectField(
  {
    endpointSelector: LABEL_SELECTOR,
    nodeSelector: LABEL_SELECTOR,
    ingress: peerRule('ingress', false),
    ingressDeny: peerRule('ingress', true),
    egress: peerRule('egress', false),
    egressDeny: peerRule('egress', true),
    labels: arrayField(objectField({ key: stringField(), value: stringField(), source: stringField() }, { required: ['key'] }), 'Labels of the rule itself.'),
    enableDefaultDeny: objectField(
      { ingress: booleanField('Whether selected endpoints deny ingress that no rule allows (default true).'), egress: booleanField('The same for egress.') },
      'Whether the rule puts its endpoints in default-deny.',
    ),
    description: stringField('Free text.'),
  },
  'A policy rule: the endpoints (endpointSelector) or nodes (nodeSelector) it selects and what they may send and receive.',
);

const STATUS: JsonSchema = objectField(
  {
    conditions: arrayField(
      objectField(
        {
          type: stringField(),
          status: stringField({ enum: ['True', 'False', 'Unknown'] }),
          lastTransitionTime: stringField({ format: 'date-time' }),
          reason: stringField(),
          message: stringField(),
        },
        { required: ['type', 'status'] },
      ),
    ),
  },
  'What controllers report about the policy.',
);

/** The Cilium CustomResourceDefinitions for a cluster without Cilium. */
export function ciliumCrds(): Record<string, unknown>[] {
  return [
    { kind: 'CiliumNetworkPolicy', plural: 'ciliumnetworkpolicies', shortNames: ['cnp', 'ciliumnp'], scope: 'Namespaced' as const, description: 'Cilium policy rules for the endpoints of one namespace.' },
    { kind: 'CiliumClusterwideNetworkPolicy', plural: 'ciliumclusterwidenetworkpolicies', shortNames: ['ccnp'], scope: 'Cluster' as const, description: 'Cilium policy rules for endpoints of every namespace and nodes.' },
  ].map((names) =>
    customResourceDefinition({
      group: CILIUM_CRD_GROUP,
      version: CILIUM_CRD_VERSION,
      labels: LABELS,
      categories: ['cilium', 'ciliumpolicy'],
      ...names,
      spec: RULE,
      // A policy holds one rule (spec), several (specs), or both, as in Cilium's objects.
      otherFields: { specs: arrayField(RULE, 'Several rules in one object.') },
      status: STATUS,
    }),
  );
}
