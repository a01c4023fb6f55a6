// The agent's privileges on the Kubernetes API, least privilege: each rule is one thing
// the agent does, with the reason as a comment in the manifest. And `rbacAllows`, the
// RBAC authorizer's decision for one request, so tests check the manifests against the
// requests the agent really makes (Kubernetes docs, "Using RBAC Authorization").
import { withComment } from './render.js';

/** One rule of a Role or ClusterRole (rbac.authorization.k8s.io/v1 PolicyRule, resource rules only). */
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  /** When present and not empty, only these objects. */
  readonly resourceNames?: readonly string[];
}

/** One API request as the authorizer sees it: the verb as RBAC names it, `''` for the core group. */
export interface ApiRequest {
  readonly verb: string;
  readonly group: string;
  /** The plural: `pods`. */
  readonly resource: string;
  /** `status`, `log`, ...: a rule must name `pods/status` to allow it. */
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

const WATCH = ['list', 'watch'];

function rule(why: string, apiGroups: readonly string[], resources: readonly string[], verbs: readonly string[]): PolicyRule {
  return withComment({ apiGroups: [...apiGroups], resources: [...resources], verbs: [...verbs] }, why);
}

/** Calico's policy and routing kinds the agent reads (crd.projectcalico.org/v1 plurals). */
export const CALICO_READ_RESOURCES = ['networkpolicies', 'globalnetworkpolicies', 'networksets', 'globalnetworksets', 'tiers', 'ippools', 'bgppeers', 'bgpconfigurations'] as const;

/** Cilium's policy kinds the agent reads (cilium.io/v2 plurals). */
export const CILIUM_READ_RESOURCES = ['ciliumnetworkpolicies', 'ciliumclusterwidenetworkpolicies'] as const;

/** Twill's own kinds (twill.io/v1alpha1 plurals), which the agents write. */
export const TWILL_RESOURCES = ['ippools', 'ipamblocks', 'blockaffinities', 'ipamhandles', 'bgppeers', 'bgpconfigurations', 'storeentries'] as const;

/** The cluster-wide rules of the agent's ClusterRole. */
export function agentClusterRules(): PolicyRule[] {
  return [
    rule('Informers: pods (labels, node, IPs, named ports) and their namespaces (labels) select policy endpoints.', [''], ['namespaces', 'pods'], WATCH),
    rule(
      "Pod IPs are written on the pod as an annotation (where kubelet and users expect them);\nthe node's BGP settings as annotations on its Node. Through the status subresource, as\ncalico-node does: it may change a pod's or node's status and metadata but never a pod's\nspec (its image) or a node's taints; the agent never creates, replaces or deletes either.",
      [''],
      ['pods/status', 'nodes/status'],
      ['patch'],
    ),
    rule(
      "Informer: every node's addresses, podCIDRs and BGP annotations (the node-to-node mesh);\nget: its own Node read fresh before its annotations are patched (the patch carries the\nresourceVersion read, as a precondition).",
      [''],
      ['nodes'],
      ['get', ...WATCH],
    ),
    rule('Informer: Kubernetes NetworkPolicies, enforced by the dataplane.', ['networking.k8s.io'], ['networkpolicies'], WATCH),
    rule("Informer: Calico's policy and routing kinds, read when their CRDs are installed (read only).", ['crd.projectcalico.org'], CALICO_READ_RESOURCES, WATCH),
    rule("Informer: Cilium's policy kinds, read when their CRDs are installed (read only).", ['cilium.io'], CILIUM_READ_RESOURCES, WATCH),
    rule(
      'Which policy kinds are installed: the agent starts and stops their informers as CRDs come and go.\nRead only: the agent installs no CRD (these manifests do).',
      ['apiextensions.k8s.io'],
      ['customresourcedefinitions'],
      WATCH,
    ),
    rule(
      "Twill's own kinds: IPAM blocks, affinities and handles are claimed with compare-and-swap on\nresourceVersion (create, update, delete; get to re-read after a conflict); pools, BGP peers and\nconfiguration are read; StoreEntry holds the CNI plugin's endpoint records.",
      ['twill.io'],
      TWILL_RESOURCES,
      ['get', 'list', 'watch', 'create', 'update', 'delete'],
    ),
  ];
}

/** The rules of the agent's Role in its own namespace. */
export function agentNamespaceRules(): PolicyRule[] {
  return [
    rule(
      "BGP MD5 passwords (BGPPeer spec.password.secretKeyRef, BGPConfiguration spec.nodeMeshPassword):\nget, by name, only Secrets in the agent's own namespace; never list, never another namespace.",
      [''],
      ['secrets'],
      ['get'],
    ),
  ];
}

function matches(list: readonly string[], value: string): boolean {
  return list.includes('*') || list.includes(value);
}

/**
 * Whether any of `rules` allows `request`, as the RBAC authorizer decides: the verb, the
 * API group and the resource (`<resource>/<subresource>` for a subresource) must each be
 * listed or `*`, and a rule with `resourceNames` allows only requests that name one of
 * them (a list, watch or create naming no object is refused). Rules only add: there is no deny.
 */
export function rbacAllows(rules: readonly PolicyRule[], request: ApiRequest): boolean {
  const resource = request.subresource === undefined ? request.resource : `${request.resource}/${request.subresource}`;
  return rules.some((r) => {
    if (!matches(r.verbs, request.verb) || !matches(r.apiGroups, request.group)) return false;
    if (!r.resources.includes('*') && !r.resources.includes(resource) && !(request.subresource !== undefined && r.resources.includes(`*/${request.subresource}`))) return false;
    if (r.resourceNames === undefined || r.resourceNames.length === 0) return true;
    return request.name !== undefined && r.resourceNames.includes(request.name);
  });
}

type ManifestObject = Readonly<Record<string, unknown>>;

interface Subject {
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

function bindsServiceAccount(binding: ManifestObject, namespace: string, name: string): boolean {
  const subjects = (binding['subjects'] ?? []) as readonly Subject[];
  return subjects.some((s) => s.kind === 'ServiceAccount' && s.name === name && s.namespace === namespace);
}

function metadataOf(object: ManifestObject): { name?: string; namespace?: string } {
  return (object['metadata'] ?? {}) as { name?: string; namespace?: string };
}

/**
 * Whether the ServiceAccount `namespace/name` may make `request`, given every object of a
 * manifest: the ClusterRoles its ClusterRoleBindings grant (anywhere), and the Roles (or
 * ClusterRoles) its RoleBindings grant in their namespace only.
 */
export function serviceAccountAllows(objects: readonly ManifestObject[], serviceAccount: { readonly namespace: string; readonly name: string }, request: ApiRequest): boolean {
  const role = (kind: string, name: string, namespace?: string): readonly PolicyRule[] => {
    const found = objects.find((o) => o['kind'] === kind && metadataOf(o).name === name && (namespace === undefined || metadataOf(o).namespace === namespace));
    return (found?.['rules'] ?? []) as readonly PolicyRule[];
  };
  return objects.some((binding) => {
    if (!bindsServiceAccount(binding, serviceAccount.namespace, serviceAccount.name)) return false;
    const ref = (binding['roleRef'] ?? {}) as { kind?: string; name?: string };
    if (ref.kind === undefined || ref.name === undefined) return false;
    if (binding['kind'] === 'ClusterRoleBinding') return ref.kind === 'ClusterRole' && rbacAllows(role('ClusterRole', ref.name), request);
    if (binding['kind'] !== 'RoleBinding') return false;
    const namespace = metadataOf(binding).namespace;
    if (request.namespace !== namespace) return false;
    const rules = ref.kind === 'ClusterRole' ? role('ClusterRole', ref.name) : role('Role', ref.name, namespace);
    return rbacAllows(rules, request);
  });
}

/** Names and labels the access objects share with the rest of the manifest. */
export interface AccessObjectsOptions {
  readonly namespace: string;
  /** The ServiceAccount, the ClusterRole and the Role are all named this. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The agent's ServiceAccount, its ClusterRole and ClusterRoleBinding (cluster-wide rules),
 * and its Role and RoleBinding (its namespace's Secrets).
 */
export function accessObjects(options: AccessObjectsOptions): Record<string, unknown>[] {
  const { namespace, name } = options;
  const metadata = (namespaced: boolean): Record<string, unknown> => ({ name, ...(namespaced ? { namespace } : {}), labels: { ...options.labels } });
  const subjects = [{ kind: 'ServiceAccount', name, namespace }];
  return [
    withComment({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(true) }, 'The identity of every twill-agent pod on the API server.'),
    withComment(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: metadata(false), rules: agentClusterRules() },
      'Only what the agent does, one rule per reason. No Secrets cluster-wide, no create or delete of pods,\nnodes or anything outside twill.io, no write to the policy kinds it enforces.',
    ),
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: metadata(false), roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects },
    withComment(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: metadata(true), rules: agentNamespaceRules() },
      `Secrets only in ${namespace}, the agent's own namespace: put BGP passwords there.`,
    ),
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: metadata(true), roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects },
  ];
}
