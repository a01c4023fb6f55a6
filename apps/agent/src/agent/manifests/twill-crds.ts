// Twill's own CustomResourceDefinitions, group twill.io, version v1alpha1, every kind
// cluster-scoped: the routing kinds (IPPool, BGPPeer, BGPConfiguration, as Calico's v3
// specs have them) and the four that hold one @twill/ipam Store entry each (IPAMBlock,
// BlockAffinity, IPAMHandle, StoreEntry): `spec.key` is the Store key and the truth,
// `spec.value` its text exactly, and the object's resourceVersion its revision; the other
// fields are readable copies for kubectl.
import { customResourceDefinition, type PrinterColumn } from './crd.js';
import { BGP_CONFIGURATION_SPEC, BGP_PEER_SPEC, IP_POOL_SPEC } from './routing-schemas.js';
import { type JsonSchema, objectField, stringField } from './schema.js';

/** Twill's API group and version. */
export const TWILL_API_GROUP = 'twill.io';
export const TWILL_API_VERSION = 'v1alpha1';

/** `kubectl get twill` lists every Twill kind. */
const CATEGORIES = ['twill'];

const LABELS = { 'app.kubernetes.io/name': 'twill', 'app.kubernetes.io/part-of': 'twill' };

function storeEntrySpec(description: string, readable: Readonly<Record<string, JsonSchema>>): JsonSchema {
  return objectField(
    {
      key: stringField({ description: 'The @twill/ipam Store key this object holds (the truth; the object name is derived from it).', minLength: 1 }),
      value: stringField("The entry's value, exactly as the Store wrote it (JSON text)."),
      ...readable,
    },
    { description, required: ['key', 'value'] },
  );
}

const KEY_COLUMN: PrinterColumn = { name: 'Key', type: 'string', jsonPath: '.spec.key', description: 'The Store key.', priority: 1 };

/** The kinds of twill.io, in the order they are installed. */
export const TWILL_KINDS = [
  {
    kind: 'IPPool',
    plural: 'ippools',
    shortNames: ['tipp', 'tippool'],
    description: "A range of pod addresses, split into per-node blocks (Calico's IPPool spec).",
    spec: IP_POOL_SPEC,
    specRequired: true,
    printerColumns: [
      { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr' },
      { name: 'Block size', type: 'integer', jsonPath: '.spec.blockSize' },
      { name: 'Disabled', type: 'boolean', jsonPath: '.spec.disabled' },
      { name: 'Node selector', type: 'string', jsonPath: '.spec.nodeSelector', priority: 1 },
    ],
  },
  {
    kind: 'IPAMBlock',
    plural: 'ipamblocks',
    shortNames: ['tblock', 'tblocks'],
    description: 'One block of a pool: which of its addresses are given to whom.',
    spec: storeEntrySpec('The block, as the IPAM store keeps it.', {
      cidr: stringField('The block\'s network: "192.168.3.64/26" (a copy for kubectl).'),
      affinity: stringField('The node the block is affine to, "host:<node>" (a copy for kubectl).'),
    }),
    specRequired: true,
    printerColumns: [
      { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr' },
      { name: 'Affinity', type: 'string', jsonPath: '.spec.affinity' },
      KEY_COLUMN,
    ],
  },
  {
    kind: 'BlockAffinity',
    plural: 'blockaffinities',
    shortNames: ['taffinity'],
    description: 'A node\'s claim on a block of a pool.',
    spec: storeEntrySpec('The claim, as the IPAM store keeps it.', {
      node: stringField('The node that claims the block (a copy for kubectl).'),
    }),
    specRequired: true,
    printerColumns: [{ name: 'Node', type: 'string', jsonPath: '.spec.node' }, KEY_COLUMN],
  },
  {
    kind: 'IPAMHandle',
    plural: 'ipamhandles',
    shortNames: ['thandle'],
    description: 'The addresses given under one handle ("<network>.<containerID>"), so they are released together.',
    spec: storeEntrySpec('The handle, as the IPAM store keeps it.', {}),
    specRequired: true,
    printerColumns: [{ ...KEY_COLUMN, priority: 0 }],
  },
  {
    kind: 'StoreEntry',
    plural: 'storeentries',
    shortNames: ['tentry'],
    description: "One of Twill's internal records that is not an IPAM document (the CNI plugin's endpoint records under twill-endpoints/).",
    spec: storeEntrySpec('The record, as the store keeps it.', {}),
    specRequired: true,
    printerColumns: [{ ...KEY_COLUMN, priority: 0 }],
  },
  {
    kind: 'BGPPeer',
    plural: 'bgppeers',
    shortNames: ['tbgpp'],
    description: "A BGP session to set up from some or every node (Calico's BGPPeer spec).",
    spec: BGP_PEER_SPEC,
    specRequired: true,
    printerColumns: [
      { name: 'Peer IP', type: 'string', jsonPath: '.spec.peerIP' },
      { name: 'AS', type: 'integer', jsonPath: '.spec.asNumber' },
      { name: 'Node', type: 'string', jsonPath: '.spec.node' },
      { name: 'Node selector', type: 'string', jsonPath: '.spec.nodeSelector', priority: 1 },
      { name: 'Peer selector', type: 'string', jsonPath: '.spec.peerSelector', priority: 1 },
    ],
  },
  {
    kind: 'BGPConfiguration',
    plural: 'bgpconfigurations',
    shortNames: ['tbgpconfig'],
    description: "BGP settings of the cluster (\"default\") or of one node (\"node.<name>\") (Calico's BGPConfiguration spec).",
    spec: BGP_CONFIGURATION_SPEC,
    specRequired: false,
    printerColumns: [
      { name: 'AS', type: 'integer', jsonPath: '.spec.asNumber' },
      { name: 'Mesh', type: 'boolean', jsonPath: '.spec.nodeToNodeMeshEnabled' },
      { name: 'Port', type: 'integer', jsonPath: '.spec.listenPort' },
    ],
  },
] as const satisfies readonly {
  kind: string;
  plural: string;
  shortNames: readonly string[];
  description: string;
  spec: JsonSchema;
  specRequired: boolean;
  printerColumns: readonly PrinterColumn[];
}[];

/** The CustomResourceDefinitions of twill.io/v1alpha1. */
export function twillCrds(): Record<string, unknown>[] {
  return TWILL_KINDS.map((kind) =>
    customResourceDefinition({
      group: TWILL_API_GROUP,
      version: TWILL_API_VERSION,
      scope: 'Cluster',
      categories: CATEGORIES,
      labels: LABELS,
      ...kind,
    }),
  );
}
