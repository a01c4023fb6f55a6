// The kinds `twill get|describe|apply|delete` know, as data: the agent's resource kinds
// (the same table GET /v1/kinds serves; a test holds the two together) and two views
// that are not resources: IPAM blocks and endpoints, read from /v1/ipam and /v1/endpoints.
// A name resolves as kubectl resolves it: plural, singular, kind or short name, in any
// case, optionally qualified by group (`networkpolicies.projectcalico.org`). A bare
// name several kinds answer to is the first in the table: `networkpolicies` is the
// Kubernetes one, as in kubectl; Calico's is `cnetpol` or `networkpolicies.projectcalico.org`,
// Cilium's `cnp` or `ciliumnetworkpolicies`.

/** Where a kind's objects come from. */
export type KindSource = 'resource' | 'ipamblocks' | 'endpoints';

/** One kind the CLI knows. */
export interface CliKind {
  /** The agent's kind id (`networkpolicies.networking.k8s.io`), or the view's name. */
  readonly id: string;
  readonly group: string;
  /** What documents carry in `kind`: `NetworkPolicy`. */
  readonly kind: string;
  readonly apiVersions: readonly string[];
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly namespaced: boolean;
  /** The policy engine front end that validates it, for policy kinds. */
  readonly dialect?: 'kubernetes' | 'calico' | 'cilium';
  readonly source: KindSource;
}

const CALICO_VERSIONS = ['projectcalico.org/v3', 'crd.projectcalico.org/v1'];

function calico(kind: string, plural: string, shortNames: readonly string[], namespaced: boolean, dialect?: 'calico'): CliKind {
  return {
    id: `${plural}.projectcalico.org`,
    group: 'projectcalico.org',
    kind,
    apiVersions: CALICO_VERSIONS,
    plural,
    singular: kind.toLowerCase(),
    shortNames,
    namespaced,
    ...(dialect === undefined ? {} : { dialect }),
    source: 'resource',
  };
}

/** Every kind, in the order a name several answer to is resolved. */
export const CLI_KINDS: readonly CliKind[] = Object.freeze([
  { id: 'namespaces', group: '', kind: 'Namespace', apiVersions: ['v1'], plural: 'namespaces', singular: 'namespace', shortNames: ['ns'], namespaced: false, source: 'resource' },
  { id: 'pods', group: '', kind: 'Pod', apiVersions: ['v1'], plural: 'pods', singular: 'pod', shortNames: ['po'], namespaced: true, source: 'resource' },
  {
    id: 'networkpolicies.networking.k8s.io',
    group: 'networking.k8s.io',
    kind: 'NetworkPolicy',
    apiVersions: ['networking.k8s.io/v1'],
    plural: 'networkpolicies',
    singular: 'networkpolicy',
    shortNames: ['netpol'],
    namespaced: true,
    dialect: 'kubernetes',
    source: 'resource',
  },
  calico('NetworkPolicy', 'networkpolicies', ['cnetpol', 'caliconetworkpolicy', 'caliconetworkpolicies'], true, 'calico'),
  calico('GlobalNetworkPolicy', 'globalnetworkpolicies', ['gnp', 'cgnp', 'calicoglobalnetworkpolicy'], false, 'calico'),
  calico('NetworkSet', 'networksets', ['netset', 'netsets'], true, 'calico'),
  calico('GlobalNetworkSet', 'globalnetworksets', ['gns', 'globalnetset'], false, 'calico'),
  calico('Tier', 'tiers', [], false, 'calico'),
  {
    id: 'ciliumnetworkpolicies.cilium.io',
    group: 'cilium.io',
    kind: 'CiliumNetworkPolicy',
    apiVersions: ['cilium.io/v2'],
    plural: 'ciliumnetworkpolicies',
    singular: 'ciliumnetworkpolicy',
    shortNames: ['cnp', 'ciliumnp'],
    namespaced: true,
    dialect: 'cilium',
    source: 'resource',
  },
  {
    id: 'ciliumclusterwidenetworkpolicies.cilium.io',
    group: 'cilium.io',
    kind: 'CiliumClusterwideNetworkPolicy',
    apiVersions: ['cilium.io/v2'],
    plural: 'ciliumclusterwidenetworkpolicies',
    singular: 'ciliumclusterwidenetworkpolicy',
    shortNames: ['ccnp'],
    namespaced: false,
    dialect: 'cilium',
    source: 'resource',
  },
  calico('Node', 'nodes', ['no', 'cnode', 'caliconode'], false),
  calico('BGPPeer', 'bgppeers', ['bgpp', 'bgpps', 'bp', 'bps'], false),
  calico('BGPConfiguration', 'bgpconfigurations', ['bgpconfig', 'bgpconfigs'], false),
  calico('IPPool', 'ippools', ['ipp', 'ipps', 'pool', 'pools'], false),
  { id: 'ipamblocks', group: '', kind: 'IPAMBlock', apiVersions: [], plural: 'ipamblocks', singular: 'ipamblock', shortNames: ['blocks', 'block'], namespaced: false, source: 'ipamblocks' },
  {
    id: 'endpoints',
    group: '',
    kind: 'Endpoint',
    apiVersions: [],
    plural: 'endpoints',
    singular: 'endpoint',
    shortNames: ['ep', 'workloadendpoints', 'workloadendpoint', 'wep', 'weps'],
    namespaced: true,
    source: 'endpoints',
  },
].map((kind) => Object.freeze(kind as CliKind)));

const names = (kind: CliKind): readonly string[] => [kind.plural, kind.singular, kind.kind.toLowerCase(), ...kind.shortNames];

/** `networkpolicy.networking.k8s.io`, `ippool.projectcalico.org`, `pod`: how apply and delete name a kind. */
export const qualifiedSingular = (kind: CliKind): string => (kind.group === '' ? kind.singular : `${kind.singular}.${kind.group}`);

/**
 * The kind a user typed, or `undefined`. Accepts a kind id, a plural, singular, kind or
 * short name in any case, optionally followed by `.<group>` or `.<version>.<group>`.
 */
export function findKind(text: string): CliKind | undefined {
  const lower = text.trim().toLowerCase();
  const exact = CLI_KINDS.find((k) => k.id === lower);
  if (exact !== undefined) return exact;
  const dot = lower.indexOf('.');
  const name = dot === -1 ? lower : lower.slice(0, dot);
  const qualifier = dot === -1 ? undefined : lower.slice(dot + 1);
  return CLI_KINDS.find((kind) => {
    if (!names(kind).includes(name)) return false;
    if (qualifier === undefined) return true;
    if (qualifier === kind.group) return true;
    return kind.apiVersions.some((v) => v.includes('/') && (qualifier === v.slice(0, v.indexOf('/')) || qualifier === `${v.slice(v.indexOf('/') + 1)}.${v.slice(0, v.indexOf('/'))}`));
  });
}

/** The kind of a document's `apiVersion` and `kind`, or why there is none. */
export function kindOfDocument(apiVersion: string, kind: string): CliKind | { readonly problem: string; readonly field: 'kind' | 'apiVersion' } {
  const candidates = CLI_KINDS.filter((k) => k.kind === kind && k.source === 'resource');
  if (candidates.length === 0) {
    return { field: 'kind', problem: `not a kind twill applies (it takes ${[...new Set(CLI_KINDS.filter((k) => k.source === 'resource').map((k) => k.kind))].join(', ')})` };
  }
  const match = candidates.find((k) => k.apiVersions.includes(apiVersion));
  if (match === undefined) {
    const expected = [...new Set(candidates.flatMap((k) => k.apiVersions))].map((v) => JSON.stringify(v)).join(', ');
    return { field: 'apiVersion', problem: `${kind} is not served as ${JSON.stringify(apiVersion)}: expected ${expected}` };
  }
  return match;
}

/** The names `twill get` lists in its help and in an unknown kind's message. */
export const KIND_NAMES_TEXT = 'ippools, ipamblocks, endpoints, networkpolicies (netpol; Calico: cnetpol; Cilium: cnp), globalnetworkpolicies (gnp), ciliumclusterwidenetworkpolicies (ccnp), networksets, globalnetworksets, tiers, bgppeers, bgpconfigurations, nodes, namespaces, pods';
