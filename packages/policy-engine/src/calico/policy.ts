/**
 * `NetworkPolicy` and `GlobalNetworkPolicy` (`projectcalico.org/v3`, also read in their
 * `crd.projectcalico.org/v1` storage form, whose spec is the same).
 *
 * Calico semantics kept here:
 * - `types` absent or empty is inferred from the rules (Calico's `PolicySpec.Types`
 *   defaulting): `[Ingress]` when there are no egress rules (including no rules at all),
 *   `[Egress]` when there are egress rules but no ingress rules, both when both.
 * - A policy is in `spec.tier` (default `default`). Its name may carry the tier as a
 *   prefix (`platform.allow-dns`); a prefix naming another tier is an error.
 * - An absent or empty `spec.selector` is `all()`.
 */
import {
  asObject,
  checkKnownFields,
  child,
  describeValue,
  fail,
  item,
  optBool,
  optional,
  optList,
  optNumber,
  optSelector,
  optString,
  type Fields,
} from './internal/fields.js';
import { DNS_LABEL, readMetadata } from './metadata.js';
import { readRule } from './rule.js';
import { selectorUsesGlobal } from './selector/ast.js';
import {
  CALICO_DEFAULT_TIER,
  type CalicoApiVersion,
  type CalicoGlobalNetworkPolicy,
  type CalicoMetadata,
  type CalicoNetworkPolicy,
  type CalicoPolicyBase,
  type CalicoPolicyType,
  type CalicoRule,
  type CalicoSelector,
} from './types.js';

const COMMON_SPEC_FIELDS = ['tier', 'order', 'selector', 'types', 'ingress', 'egress', 'serviceAccountSelector', 'performanceHints'];
const GLOBAL_SPEC_FIELDS = [...COMMON_SPEC_FIELDS, 'namespaceSelector', 'doNotTrack', 'preDNAT', 'applyOnForward'];

/** A policy name: a DNS label, optionally prefixed by `<tier>.` (Calico's name regexes). */
const POLICY_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The Calico type inference for an absent `types` field (see the module comment).
 */
export function inferPolicyTypes(ingressCount: number, egressCount: number): CalicoPolicyType[] {
  if (egressCount === 0) return ['Ingress'];
  return ingressCount === 0 ? ['Egress'] : ['Ingress', 'Egress'];
}

function readTypes(fields: Fields, path: string): CalicoPolicyType[] | undefined {
  const list = optList(fields, 'types', path, 2);
  if (list.length === 0) return undefined;
  const at = child(path, 'types');
  const types: CalicoPolicyType[] = [];
  list.forEach((t, i) => {
    if (t !== 'Ingress' && t !== 'Egress') fail(item(at, i), `invalid policy type ${describeValue(t)}: expected Ingress or Egress`);
    if (types.includes(t)) fail(item(at, i), `'${t}' type specified more than once`);
    types.push(t);
  });
  return types;
}

function noGlobal(selector: CalicoSelector | undefined, path: string): void {
  if (selector && selectorUsesGlobal(selector.ast)) fail(path, 'global() can only be used in an EntityRule namespaceSelector');
}

interface ReadSpec {
  readonly base: Omit<CalicoPolicyBase, 'apiVersion' | 'metadata'>;
  readonly fields: Fields;
}

function readPolicySpec(value: unknown, metadata: CalicoMetadata, global: boolean): ReadSpec {
  const path = 'spec';
  const fields = value === undefined || value === null ? {} : asObject(value, path);
  checkKnownFields(fields, path, global ? GLOBAL_SPEC_FIELDS : COMMON_SPEC_FIELDS);

  const tierText = optString(fields, 'tier', path);
  const tier = tierText === undefined || tierText === '' ? CALICO_DEFAULT_TIER : tierText;
  if (tier.length > 63 || !DNS_LABEL.test(tier)) fail(child(path, 'tier'), `invalid tier name ${JSON.stringify(tier)}: must be a DNS-1123 label`);
  const name = metadata.name;
  if (name.length > 253 || !POLICY_NAME.test(name)) {
    fail('metadata.name', `invalid policy name ${JSON.stringify(name)}: expected a DNS-1123 label, optionally prefixed by "<tier>."`);
  }
  const dot = name.indexOf('.');
  let policyName = name;
  if (dot !== -1) {
    const prefix = name.slice(0, dot);
    if (prefix !== tier) {
      fail('metadata.name', `policy name ${JSON.stringify(name)} has tier prefix ${JSON.stringify(prefix)} but the policy is in tier ${JSON.stringify(tier)}`);
    }
    policyName = name.slice(dot + 1);
  }

  const order = optNumber(fields, 'order', path);
  const selector = optSelector(fields, 'selector', path) ?? { source: optString(fields, 'selector', path) ?? '', ast: { kind: 'all' } };
  noGlobal(selector, child(path, 'selector'));
  const serviceAccountSelector = optSelector(fields, 'serviceAccountSelector', path);
  noGlobal(serviceAccountSelector, child(path, 'serviceAccountSelector'));
  const writtenTypes = readTypes(fields, path);
  const rules = (direction: CalicoPolicyType): CalicoRule[] => {
    const key = direction === 'Ingress' ? 'ingress' : 'egress';
    return optList(fields, key, path, 1024).map((r, i) => readRule(r, item(child(path, key), i), { direction, global }));
  };
  const ingress = rules('Ingress');
  const egress = rules('Egress');
  const hintsPath = child(path, 'performanceHints');
  const performanceHints = optList(fields, 'performanceHints', path).map((h, i, all) => {
    if (h !== 'AssumeNeededOnEveryNode') fail(item(hintsPath, i), `invalid performance hint ${describeValue(h)}: expected AssumeNeededOnEveryNode`);
    if (all.indexOf(h) !== i) fail(item(hintsPath, i), `duplicate performance hint ${JSON.stringify(h)}`);
    return h;
  });
  return {
    fields,
    base: {
      tier,
      policyName,
      qualifiedName: `${tier}.${policyName}`,
      ...(order === undefined ? {} : { order }),
      selector,
      ...(serviceAccountSelector ? { serviceAccountSelector } : {}),
      types: writtenTypes ?? inferPolicyTypes(ingress.length, egress.length),
      typesInferred: writtenTypes === undefined,
      ingress,
      egress,
      performanceHints,
    },
  };
}

const TOP_LEVEL_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/**
 * Reads a Calico `NetworkPolicy` document (already decoded from YAML or JSON).
 *
 * @throws {@link CalicoError} naming the field path and the reason.
 */
export function readNetworkPolicy(doc: Fields, apiVersion: CalicoApiVersion): CalicoNetworkPolicy {
  checkKnownFields(doc, '', TOP_LEVEL_FIELDS);
  const metadata = readMetadata(optional(doc, 'metadata'), { kind: 'NetworkPolicy', namespaced: true });
  const { base } = readPolicySpec(optional(doc, 'spec'), metadata, false);
  return { kind: 'NetworkPolicy', apiVersion, metadata, namespace: metadata.namespace ?? 'default', ...base };
}

/**
 * Reads a Calico `GlobalNetworkPolicy` document, with its extra rules: `preDNAT` and
 * `doNotTrack` exclude each other and need `applyOnForward`; a `preDNAT` policy has no
 * egress rules or type.
 *
 * @throws {@link CalicoError} naming the field path and the reason.
 */
export function readGlobalNetworkPolicy(doc: Fields, apiVersion: CalicoApiVersion): CalicoGlobalNetworkPolicy {
  checkKnownFields(doc, '', TOP_LEVEL_FIELDS);
  const metadata = readMetadata(optional(doc, 'metadata'), { kind: 'GlobalNetworkPolicy', namespaced: false });
  const { base, fields } = readPolicySpec(optional(doc, 'spec'), metadata, true);
  const path = 'spec';
  const namespaceSelector = optSelector(fields, 'namespaceSelector', path);
  noGlobal(namespaceSelector, child(path, 'namespaceSelector'));
  const doNotTrack = optBool(fields, 'doNotTrack', path);
  const preDNAT = optBool(fields, 'preDNAT', path);
  const applyOnForward = optBool(fields, 'applyOnForward', path);
  if (doNotTrack && preDNAT) fail(child(path, 'preDNAT'), 'preDNAT and doNotTrack cannot both be true');
  if (preDNAT && base.egress.length > 0) fail(child(path, 'egress'), 'a preDNAT policy cannot have egress rules');
  if (preDNAT && base.types.includes('Egress')) fail(child(path, 'types'), "a preDNAT policy cannot have the 'Egress' type");
  if ((doNotTrack || preDNAT) && !applyOnForward) {
    fail(child(path, 'applyOnForward'), 'applyOnForward must be true if either preDNAT or doNotTrack is true');
  }
  return {
    kind: 'GlobalNetworkPolicy',
    apiVersion,
    metadata,
    ...base,
    ...(namespaceSelector ? { namespaceSelector } : {}),
    doNotTrack,
    preDNAT,
    applyOnForward,
  };
}
