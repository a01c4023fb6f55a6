// The kinds of resources the datastore keeps, as data: one row per kind, named as kubectl
// names them (`<plural>.<group>`, the plural alone for the core group), and the lookup
// from what a user types (`netpol`, `NetworkPolicy`, `gnp`, `ippools.projectcalico.org`,
// `networkpolicies.v3.projectcalico.org`, an apiVersion and kind) to a row.
import { type ResourceKindId } from '../ports.js';
import { UnknownResourceKindError } from './errors.js';

/** The policy dialects, for the kinds the policy engine reads. */
export const POLICY_DIALECT = {
  KUBERNETES: 'kubernetes',
  CALICO: 'calico',
  CILIUM: 'cilium',
} as const;

/** One of {@link POLICY_DIALECT}. */
export type PolicyDialect = (typeof POLICY_DIALECT)[keyof typeof POLICY_DIALECT];

/** One kind of resource the datastore keeps. */
export interface ResourceKind {
  /** kubectl's name: `networkpolicies.networking.k8s.io`, `pods` for the core group. */
  readonly id: ResourceKindId;
  /** The API group; `''` for the core group. */
  readonly group: string;
  /** The `apiVersion`s documents of this kind may carry; the first is the preferred one. */
  readonly apiVersions: readonly string[];
  /** The `kind` documents carry: `NetworkPolicy`. */
  readonly kind: string;
  /** The plural, lowercase: `networkpolicies`. */
  readonly plural: string;
  /** The singular, lowercase: `networkpolicy`. */
  readonly singular: string;
  /** Other names kubectl or calicoctl accept: `netpol`, `gnp`. */
  readonly shortNames: readonly string[];
  /** Whether objects live in a namespace (`metadata.namespace`, `default` when absent). */
  readonly namespaced: boolean;
  /** For policy kinds (policies, network sets, tiers): the policy engine front end that reads them. */
  readonly dialect?: PolicyDialect;
}

const CALICO = ['projectcalico.org/v3', 'crd.projectcalico.org/v1'];

function calico(kind: string, plural: string, shortNames: readonly string[], namespaced: boolean, dialect?: PolicyDialect): ResourceKind {
  return {
    id: `${plural}.projectcalico.org`,
    group: 'projectcalico.org',
    apiVersions: CALICO,
    kind,
    plural,
    singular: kind.toLowerCase(),
    shortNames,
    namespaced,
    ...(dialect === undefined ? {} : { dialect }),
  };
}

/**
 * Every kind the datastore keeps, in the order a name that several kinds answer to is
 * resolved (the core and Kubernetes groups first, as kubectl prefers them): `networkpolicy`
 * is `networkpolicies.networking.k8s.io`; Calico's is `networkpolicies.projectcalico.org`.
 */
export const RESOURCE_KINDS: readonly ResourceKind[] = Object.freeze([
  { id: 'namespaces', group: '', apiVersions: ['v1'], kind: 'Namespace', plural: 'namespaces', singular: 'namespace', shortNames: ['ns'], namespaced: false },
  { id: 'pods', group: '', apiVersions: ['v1'], kind: 'Pod', plural: 'pods', singular: 'pod', shortNames: ['po'], namespaced: true },
  {
    id: 'networkpolicies.networking.k8s.io',
    group: 'networking.k8s.io',
    apiVersions: ['networking.k8s.io/v1'],
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    singular: 'networkpolicy',
    shortNames: ['netpol'],
    namespaced: true,
    dialect: POLICY_DIALECT.KUBERNETES,
  },
  calico('NetworkPolicy', 'networkpolicies', ['cnetpol', 'caliconetworkpolicy', 'caliconetworkpolicies'], true, POLICY_DIALECT.CALICO),
  calico('GlobalNetworkPolicy', 'globalnetworkpolicies', ['gnp', 'cgnp', 'calicoglobalnetworkpolicy'], false, POLICY_DIALECT.CALICO),
  calico('NetworkSet', 'networksets', ['netset', 'netsets'], true, POLICY_DIALECT.CALICO),
  calico('GlobalNetworkSet', 'globalnetworksets', ['gns', 'globalnetset'], false, POLICY_DIALECT.CALICO),
  calico('Tier', 'tiers', [], false, POLICY_DIALECT.CALICO),
  {
    id: 'ciliumnetworkpolicies.cilium.io',
    group: 'cilium.io',
    apiVersions: ['cilium.io/v2'],
    kind: 'CiliumNetworkPolicy',
    plural: 'ciliumnetworkpolicies',
    singular: 'ciliumnetworkpolicy',
    shortNames: ['cnp', 'ciliumnp'],
    namespaced: true,
    dialect: POLICY_DIALECT.CILIUM,
  },
  {
    id: 'ciliumclusterwidenetworkpolicies.cilium.io',
    group: 'cilium.io',
    apiVersions: ['cilium.io/v2'],
    kind: 'CiliumClusterwideNetworkPolicy',
    plural: 'ciliumclusterwidenetworkpolicies',
    singular: 'ciliumclusterwidenetworkpolicy',
    shortNames: ['ccnp'],
    namespaced: false,
    dialect: POLICY_DIALECT.CILIUM,
  },
  calico('Node', 'nodes', ['no', 'cnode', 'caliconode'], false),
  calico('BGPPeer', 'bgppeers', ['bgpp', 'bgpps', 'bp', 'bps'], false),
  calico('BGPConfiguration', 'bgpconfigurations', ['bgpconfig', 'bgpconfigs'], false),
  calico('IPPool', 'ippools', ['ipp', 'ipps', 'pool', 'pools'], false),
].map((kind) => Object.freeze(kind)));

/** The kind ids, in table order. */
export const RESOURCE_KIND_IDS: readonly ResourceKindId[] = Object.freeze(RESOURCE_KINDS.map((k) => k.id));

const BY_ID = new Map(RESOURCE_KINDS.map((k) => [k.id, k]));

/** The kind with this exact id, or `undefined`. */
export function kindById(id: string): ResourceKind | undefined {
  return BY_ID.get(id);
}

function names(kind: ResourceKind): readonly string[] {
  return [kind.plural, kind.singular, kind.kind.toLowerCase(), ...kind.shortNames];
}

function knownKindsText(): string {
  return RESOURCE_KINDS.map((k) => `${k.kind} (${k.id})`).join(', ');
}

function groupOf(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function resolveName(text: string): ResourceKind | undefined {
  const exact = BY_ID.get(text);
  if (exact !== undefined) return exact;
  const lower = text.toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot === -1 ? lower : lower.slice(0, dot);
  // `<name>.<group>` or `<name>.<version>.<group>`, as kubectl reads a fully qualified name.
  const qualifier = dot === -1 ? undefined : lower.slice(dot + 1);
  return RESOURCE_KINDS.find((kind) => {
    if (!names(kind).includes(name)) return false;
    if (qualifier === undefined) return true;
    if (qualifier === kind.group) return true;
    return kind.apiVersions.some((apiVersion) => {
      const { group, version } = groupOf(apiVersion);
      return qualifier === group || qualifier === `${version}.${group}`;
    });
  });
}

/**
 * The kind a user means. Accepts a kind id (`networkpolicies.projectcalico.org`), a
 * plural, singular, kind or short name in any case (`NetworkPolicy`, `networkpolicy`,
 * `netpol`, `gnp`), optionally qualified by group or version and group
 * (`networkpolicy.projectcalico.org`, `networkpolicies.v3.projectcalico.org`), or a
 * document's `apiVersion` and `kind`. A bare name several kinds answer to is the first of
 * {@link RESOURCE_KINDS} (Kubernetes before Calico: qualify it for Calico's).
 * @throws UnknownResourceKindError listing the known kinds.
 */
export function resolveKind(text: string | { readonly apiVersion: string; readonly kind: string }): ResourceKind {
  if (typeof text !== 'string') {
    const { apiVersion, kind } = text;
    const candidates = RESOURCE_KINDS.filter((k) => k.kind === kind);
    if (candidates.length === 0) {
      throw new UnknownResourceKindError('', 'kind', `unknown kind ${JSON.stringify(kind)}: the known kinds are ${knownKindsText()}`);
    }
    const match = candidates.find((k) => k.apiVersions.includes(apiVersion));
    if (match === undefined) {
      const expected = [...new Set(candidates.flatMap((k) => k.apiVersions))].map((v) => JSON.stringify(v)).join(', ');
      throw new UnknownResourceKindError('', 'apiVersion', `${kind} is not served as ${JSON.stringify(apiVersion)}: expected one of ${expected}`);
    }
    return match;
  }
  const kind = resolveName(text.trim());
  if (kind === undefined) {
    throw new UnknownResourceKindError('', '', `unknown resource kind ${JSON.stringify(text)}: the known kinds are ${knownKindsText()}`);
  }
  return kind;
}
