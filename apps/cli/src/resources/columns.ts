// The table columns of each kind, chosen as kubectl and calicoctl show them: the kind's
// useful fields after NAME; `-o wide` adds more. AGE is always last (get.ts adds it).

import { type BlockView, type EndpointRecord, type StoredResource } from '../client/index.js';

/** A column of a kind's table. */
export interface KindColumn<T> {
  readonly header: string;
  readonly align?: 'left' | 'right';
  /** Only with `-o wide`. */
  readonly wide?: boolean;
  cell(item: T): string;
}

/** What kubectl prints for a field that is not set. */
export const NONE = '<none>';

/** The value at a dotted path (`spec.bgp.asNumber`), or undefined. */
export function fieldAt(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** A scalar field as text; `fallback` when it is not set. */
function text(value: unknown, fallback = NONE): string {
  if (value === undefined || value === null || value === '') return fallback;
  if (Array.isArray(value)) return value.length === 0 ? fallback : value.map((v) => text(v)).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const at = (path: string, fallback?: string) => (r: StoredResource): string => text(fieldAt(r, path), fallback);

/** A Kubernetes label selector as kubectl prints it: `app=web,tier in (a,b)`; `<none>` when empty. */
export function labelSelectorText(selector: unknown): string {
  if (typeof selector !== 'object' || selector === null) return NONE;
  const { matchLabels, matchExpressions } = selector as { matchLabels?: unknown; matchExpressions?: unknown };
  const parts: string[] = [];
  if (typeof matchLabels === 'object' && matchLabels !== null) {
    for (const [key, value] of Object.entries(matchLabels as Record<string, unknown>)) parts.push(`${key}=${String(value)}`);
  }
  if (Array.isArray(matchExpressions)) {
    for (const expression of matchExpressions as { key?: unknown; operator?: unknown; values?: unknown }[]) {
      const key = String(expression.key);
      const values = Array.isArray(expression.values) ? `(${expression.values.map(String).join(',')})` : '';
      switch (expression.operator) {
        case 'In': parts.push(`${key} in ${values}`); break;
        case 'NotIn': parts.push(`${key} notin ${values}`); break;
        case 'Exists': parts.push(key); break;
        case 'DoesNotExist': parts.push(`!${key}`); break;
        default: parts.push(`${key} ${String(expression.operator)} ${values}`);
      }
    }
  }
  return parts.length === 0 ? NONE : parts.join(',');
}

const rulesCount = (r: StoredResource, field: string): string => {
  const spec = fieldAt(r, 'spec');
  const count = (s: unknown): number => {
    const rules = fieldAt(s, field);
    return Array.isArray(rules) ? rules.length : 0;
  };
  const specs = fieldAt(r, 'specs');
  return String(count(spec) + (Array.isArray(specs) ? specs.reduce((n: number, s) => n + count(s), 0) : 0));
};

const labelsText = (r: StoredResource): string => text(Object.entries(r.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`));

// Calico's defaults, shown where a field is left unset.
const calicoBlockSize = (r: StoredResource): string => {
  const size = fieldAt(r, 'spec.blockSize');
  if (size !== undefined) return text(size);
  return text(fieldAt(r, 'spec.cidr'), '').includes(':') ? '122' : '26';
};

const CALICO_POLICY: readonly KindColumn<StoredResource>[] = [
  { header: 'TIER', cell: at('spec.tier', 'default') },
  { header: 'ORDER', align: 'right', cell: at('spec.order') },
  { header: 'SELECTOR', cell: at('spec.selector', 'all()') },
  { header: 'TYPES', wide: true, cell: at('spec.types') },
  { header: 'INGRESS', wide: true, align: 'right', cell: (r) => rulesCount(r, 'ingress') },
  { header: 'EGRESS', wide: true, align: 'right', cell: (r) => rulesCount(r, 'egress') },
];

// A global policy selects by namespace too (calicoctl shows only the selector; both decide).
const CALICO_GLOBAL_POLICY: readonly KindColumn<StoredResource>[] = [
  ...CALICO_POLICY.slice(0, 3),
  { header: 'NAMESPACE SELECTOR', cell: at('spec.namespaceSelector', 'all()') },
  ...CALICO_POLICY.slice(3),
];

const CILIUM_POLICY: readonly KindColumn<StoredResource>[] = [
  { header: 'ENDPOINT SELECTOR', cell: (r) => labelSelectorText(fieldAt(r, 'spec.endpointSelector') ?? fieldAt(r, 'spec.nodeSelector')) },
  { header: 'INGRESS', wide: true, align: 'right', cell: (r) => rulesCount(r, 'ingress') },
  { header: 'EGRESS', wide: true, align: 'right', cell: (r) => rulesCount(r, 'egress') },
  { header: 'INGRESS DENY', wide: true, align: 'right', cell: (r) => rulesCount(r, 'ingressDeny') },
  { header: 'EGRESS DENY', wide: true, align: 'right', cell: (r) => rulesCount(r, 'egressDeny') },
];

const NETWORK_SET: readonly KindColumn<StoredResource>[] = [{ header: 'NETS', cell: at('spec.nets') }, { header: 'LABELS', wide: true, cell: labelsText }];

/** The columns of each resource kind, by kind id (between NAME and AGE). */
export const RESOURCE_COLUMNS: Readonly<Record<string, readonly KindColumn<StoredResource>[]>> = {
  namespaces: [{ header: 'LABELS', wide: true, cell: labelsText }],
  pods: [{ header: 'IP', cell: at('status.podIP') }, { header: 'NODE', cell: at('spec.nodeName') }, { header: 'LABELS', wide: true, cell: labelsText }],
  'networkpolicies.networking.k8s.io': [
    { header: 'POD-SELECTOR', cell: (r) => labelSelectorText(fieldAt(r, 'spec.podSelector')) },
    { header: 'POLICY TYPES', wide: true, cell: at('spec.policyTypes') },
    { header: 'INGRESS', wide: true, align: 'right', cell: (r) => rulesCount(r, 'ingress') },
    { header: 'EGRESS', wide: true, align: 'right', cell: (r) => rulesCount(r, 'egress') },
  ],
  'networkpolicies.projectcalico.org': CALICO_POLICY,
  'globalnetworkpolicies.projectcalico.org': CALICO_GLOBAL_POLICY,
  'networksets.projectcalico.org': NETWORK_SET,
  'globalnetworksets.projectcalico.org': NETWORK_SET,
  'tiers.projectcalico.org': [{ header: 'ORDER', align: 'right', cell: at('spec.order') }],
  'ciliumnetworkpolicies.cilium.io': CILIUM_POLICY,
  'ciliumclusterwidenetworkpolicies.cilium.io': CILIUM_POLICY,
  'nodes.projectcalico.org': [
    { header: 'ASN', align: 'right', cell: at('spec.bgp.asNumber', '(64512)') },
    { header: 'IPV4', cell: at('spec.bgp.ipv4Address') },
    { header: 'IPV6', cell: at('spec.bgp.ipv6Address') },
    { header: 'LABELS', wide: true, cell: labelsText },
  ],
  'bgppeers.projectcalico.org': [
    { header: 'PEERIP', cell: at('spec.peerIP') },
    { header: 'ASN', align: 'right', cell: at('spec.asNumber') },
    { header: 'NODE', cell: at('spec.node', '(global)') },
    { header: 'NODE SELECTOR', wide: true, cell: at('spec.nodeSelector') },
    { header: 'PEER SELECTOR', wide: true, cell: at('spec.peerSelector') },
  ],
  'bgpconfigurations.projectcalico.org': [
    { header: 'ASN', align: 'right', cell: at('spec.asNumber') },
    { header: 'MESH', cell: at('spec.nodeToNodeMeshEnabled') },
    { header: 'LISTEN PORT', wide: true, align: 'right', cell: at('spec.listenPort') },
    { header: 'LOG SEVERITY', wide: true, cell: at('spec.logSeverityScreen') },
  ],
  'ippools.projectcalico.org': [
    { header: 'CIDR', cell: at('spec.cidr') },
    { header: 'BLOCK SIZE', align: 'right', cell: calicoBlockSize },
    { header: 'NODE SELECTOR', cell: at('spec.nodeSelector', 'all()') },
    { header: 'IPIP', wide: true, cell: at('spec.ipipMode', 'Never') },
    { header: 'VXLAN', wide: true, cell: at('spec.vxlanMode', 'Never') },
    { header: 'NAT', wide: true, cell: at('spec.natOutgoing', 'false') },
    { header: 'DISABLED', wide: true, cell: at('spec.disabled', 'false') },
  ],
};

/** The columns of `get ipamblocks` (no AGE: blocks carry no time). */
export const BLOCK_COLUMNS: readonly KindColumn<BlockView>[] = [
  { header: 'CIDR', cell: (b) => b.cidr },
  { header: 'AFFINITY', cell: (b) => text(b.affinity) },
  { header: 'ALLOCATED', align: 'right', cell: (b) => String(b.allocated) },
  { header: 'FREE', align: 'right', cell: (b) => String(b.free) },
  { header: 'HANDLES', align: 'right', cell: (b) => String(b.handles) },
];

/** An endpoint's name: its pod's, else its container id's first 12 characters. */
export const endpointName = (e: EndpointRecord): string => e.pod ?? e.containerId.slice(0, 12);

/** The columns of `get endpoints` between NAME and AGE. */
export const ENDPOINT_COLUMNS: readonly KindColumn<EndpointRecord>[] = [
  { header: 'NODE', cell: (e) => text(e.node) },
  { header: 'ADDRESSES', cell: (e) => text(e.addresses) },
  { header: 'INTERFACE', cell: (e) => e.hostInterface },
  { header: 'CONTAINER', wide: true, cell: (e) => e.containerId.slice(0, 12) },
  { header: 'NETWORK', wide: true, cell: (e) => e.network },
  { header: 'IFNAME', wide: true, cell: (e) => e.ifName },
];

/**
 * An age as kubectl prints it: `45s`, `3m12s` under 10 minutes, `42m`, `5h3m` under
 * 10 hours, `13h`, `3d4h` under 10 days, `25d`, `2y40d`.
 */
export function ageText(fromMs: number, nowMs: number): string {
  const s = Math.max(0, Math.floor((nowMs - fromMs) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 10) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 10) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y${d % 365}d`;
}
