/**
 * The entry point of the Calico front end: one decoded document (from YAML or JSON) to a
 * typed, validated Calico object, dispatched on `apiVersion` and `kind`.
 */
import { POLICY_ERROR_CODE } from '../errors.js';
import { asObject, describeValue, fail, optional } from './internal/fields.js';
import { readNetworkSet } from './network-set.js';
import { readGlobalNetworkPolicy, readNetworkPolicy } from './policy.js';
import { readTier } from './tier.js';
import { CALICO_API_VERSIONS, type CalicoApiVersion, type CalicoDocument } from './types.js';

/** The kinds {@link parseCalicoDocument} reads. */
export const CALICO_KINDS = ['NetworkPolicy', 'GlobalNetworkPolicy', 'NetworkSet', 'GlobalNetworkSet', 'Tier'] as const;

/** One of {@link CALICO_KINDS}. */
export type CalicoKind = (typeof CALICO_KINDS)[number];

/**
 * Parses and validates one Calico document: `NetworkPolicy`, `GlobalNetworkPolicy`,
 * `NetworkSet`, `GlobalNetworkSet` or `Tier`, in `projectcalico.org/v3` or the
 * `crd.projectcalico.org/v1` storage form. Pure: the same input gives the same output.
 *
 * @param doc - The decoded document (a plain object, e.g. from the `yaml` package).
 * @throws {@link CalicoError} naming the field path and reason (`spec.ingress[0].source.ports[1]:
 *   invalid port range "90:80"`); unknown fields are errors (`CALICO_UNKNOWN_FIELD`), and a
 *   selector syntax error is a {@link SelectorSyntaxError} located at its field.
 */
export function parseCalicoDocument(doc: unknown): CalicoDocument {
  const fields = asObject(doc, '');
  const apiVersion = optional(fields, 'apiVersion');
  if (typeof apiVersion !== 'string' || !CALICO_API_VERSIONS.includes(apiVersion as CalicoApiVersion)) {
    fail(
      'apiVersion',
      `unsupported API version ${describeValue(apiVersion)}: expected ${CALICO_API_VERSIONS.join(' or ')}`,
      POLICY_ERROR_CODE.UNSUPPORTED_KIND,
    );
  }
  const version = apiVersion as CalicoApiVersion;
  const kind = optional(fields, 'kind');
  switch (kind) {
    case 'NetworkPolicy':
      return readNetworkPolicy(fields, version);
    case 'GlobalNetworkPolicy':
      return readGlobalNetworkPolicy(fields, version);
    case 'NetworkSet':
    case 'GlobalNetworkSet':
      return readNetworkSet(fields, kind, version);
    case 'Tier':
      return readTier(fields, version);
    default:
      return fail('kind', `unsupported kind ${describeValue(kind)} for ${version}: expected ${CALICO_KINDS.join(', ')}`, POLICY_ERROR_CODE.UNSUPPORTED_KIND);
  }
}
