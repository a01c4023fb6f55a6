// The `spec` schemas of the routing kinds, IPPool, BGPPeer and BGPConfiguration: the
// fields of Calico's v3 specs that the agent reads (datastore/calico-resources.ts, checked
// by datastore/validate-calico.ts), shared by twill.io/v1alpha1 and crd.projectcalico.org/v1.
// The schema checks types and ranges; the agent's own validation checks the rest
// (addresses, selectors' syntax, fields that exclude each other) and names the field.
import {
  arrayField,
  booleanField,
  integerField,
  type JsonSchema,
  objectField,
  secretKeyRefField,
  stringField,
  stringList,
} from './schema.js';

/** The largest 4-byte AS number (RFC 6793). */
const MAX_AS_NUMBER = 4294967295;

// Go's time.ParseDuration syntax, as Calico reads these fields ("120s", "2m").
const GO_DURATION = '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$';

function asNumber(description: string): JsonSchema {
  return integerField({ description, minimum: 1, maximum: MAX_AS_NUMBER, format: 'int64' });
}

function duration(description: string): JsonSchema {
  return stringField({ description, pattern: GO_DURATION });
}

function cidrList(description: string): JsonSchema {
  return arrayField(objectField({ cidr: stringField('A network: "10.96.0.0/12".') }, { required: ['cidr'] }), description);
}

const ENCAPSULATION = ['Never', 'Always', 'CrossSubnet'];

/** `spec` of an IPPool. */
export const IP_POOL_SPEC: JsonSchema = objectField(
  {
    cidr: stringField('The pool\'s network, host bits zero: "192.168.0.0/16".'),
    blockSize: integerField({ description: 'The prefix length of the blocks nodes take from the pool: 20 to 32 for IPv4 (default 26), 116 to 128 for IPv6 (default 122).', minimum: 20, maximum: 128 }),
    nodeSelector: stringField('A Calico selector of the nodes that allocate from the pool ("all()" when absent).'),
    disabled: booleanField('No new addresses are given from a disabled pool.'),
    ipipMode: stringField({ description: 'IP-in-IP encapsulation between nodes (IPv4 only).', enum: ENCAPSULATION }),
    vxlanMode: stringField({ description: 'VXLAN encapsulation between nodes.', enum: ENCAPSULATION }),
    natOutgoing: booleanField("Masquerade traffic from the pool's addresses to destinations outside every pool."),
    disableBGPExport: booleanField("Do not advertise the pool's routes over BGP."),
    allowedUses: arrayField(stringField({ enum: ['Workload', 'Tunnel', 'LoadBalancer'] }), 'What addresses of the pool may be used for.'),
    assignmentMode: stringField({ description: 'Automatic: any pod may get an address; Manual: only pods that name the pool.', enum: ['Automatic', 'Manual'] }),
  },
  { description: 'A range of pod addresses, split into per-node blocks.', required: ['cidr'] },
);

/** `spec` of a BGPPeer. */
export const BGP_PEER_SPEC: JsonSchema = objectField(
  {
    node: stringField('The node that peers; every node (or those nodeSelector selects) when absent.'),
    nodeSelector: stringField('A Calico selector of the nodes that peer (not with node).'),
    peerIP: stringField('The peer\'s address, optionally with a port: "10.0.0.254", "10.0.0.254:1179", "[fd00::fe]:1179".'),
    asNumber: asNumber('The peer\'s AS (with peerIP).'),
    peerSelector: stringField("A Calico selector of the nodes to peer with instead of peerIP; each node's own AS is used."),
    keepOriginalNextHop: booleanField('Advertise routes to this peer with their original next hop.'),
    sourceAddress: stringField({ description: "UseNodeIP: connect from the node's address; None: let the kernel choose.", enum: ['UseNodeIP', 'None'] }),
    ttlSecurity: integerField({ description: 'GTSM (RFC 5082): how many hops away the peer may be.', minimum: 0, maximum: 255 }),
    password: secretKeyRefField('The TCP MD5 password of the sessions (RFC 2385), from a Secret in the agent\'s namespace.'),
    maxRestartTime: duration('How long routes from the peer are kept while it restarts (graceful restart, RFC 4724): "120s".'),
    numAllowedLocalASNumbers: integerField({ description: 'How many times the local AS may appear in a received AS path.', minimum: 0, maximum: 10 }),
    filters: stringList('The BGPFilter resources applied to the sessions, in order.'),
    reachableBy: stringField('The gateway through which the peer is reached (a static route is added to it).'),
  },
  'Who peers (node or nodeSelector, or every node) with whom (peerIP and asNumber, or peerSelector).',
);

/** `spec` of a BGPConfiguration. */
export const BGP_CONFIGURATION_SPEC: JsonSchema = objectField(
  {
    logSeverityScreen: stringField({ description: 'The BGP log level.', enum: ['Debug', 'Info', 'Warning', 'Error', 'Fatal'] }),
    nodeToNodeMeshEnabled: booleanField('A full mesh of BGP sessions between the nodes (default true).'),
    asNumber: asNumber("The nodes' AS unless a node sets its own (default 64512)."),
    listenPort: integerField({ description: 'The TCP port BGP listens on (default 179).', minimum: 1, maximum: 65535 }),
    serviceClusterIPs: cidrList("Service cluster IP ranges advertised to the nodes' peers."),
    serviceExternalIPs: cidrList('Service external IP ranges advertised.'),
    serviceLoadBalancerIPs: cidrList('Service load balancer IP ranges advertised.'),
    communities: arrayField(
      objectField({
        name: stringField('The name prefixAdvertisements refer to.'),
        value: stringField({ description: 'A standard ("aa:nn") or large ("aa:nn:mm") community.', pattern: '^([0-9]+:[0-9]+|[0-9]+:[0-9]+:[0-9]+)$' }),
      }),
      'Named BGP communities.',
    ),
    prefixAdvertisements: arrayField(
      objectField({
        cidr: stringField('The advertised network.'),
        communities: stringList('Community names (from communities) or values attached to the network.'),
      }),
      'Communities attached to advertised networks.',
    ),
    bindMode: stringField({ description: "None: listen on every address; NodeIP: only on the node's address.", enum: ['None', 'NodeIP'] }),
    ignoredInterfaces: stringList('Interfaces whose addresses are never advertised.'),
    nodeMeshPassword: secretKeyRefField("The mesh sessions' TCP MD5 password, from a Secret in the agent's namespace."),
    nodeMeshMaxRestartTime: duration("How long a restarting mesh peer's routes are kept."),
    localWorkloadPeeringIPV4: stringField('The IPv4 address local workloads peer with.'),
    localWorkloadPeeringIPV6: stringField('The IPv6 address local workloads peer with.'),
  },
  'BGP settings: "default" for the cluster, "node.<name>" for one node over it.',
);
