/**
 * `Tier`: an ordered group of policies. Tiers are applied by `order` (lower first, absent
 * last, ties by name); a packet that reaches the end of a tier that has policies for the
 * endpoint gets the tier's `defaultAction` (`Deny` unless set to `Pass`). Calico fixes
 * the default tier's order at 1,000,000.
 */
import { asObject, checkKnownFields, child, describeValue, fail, optional, optNumber, type Fields } from './internal/fields.js';
import { DNS_LABEL, readMetadata } from './metadata.js';
import {
  CALICO_DEFAULT_TIER,
  CALICO_DEFAULT_TIER_ORDER,
  type CalicoApiVersion,
  type CalicoTier,
  type CalicoTierDefaultAction,
} from './types.js';

/**
 * Reads a `Tier` document.
 *
 * @throws {@link CalicoError} naming the field path and the reason.
 */
export function readTier(doc: Fields, apiVersion: CalicoApiVersion): CalicoTier {
  checkKnownFields(doc, '', ['apiVersion', 'kind', 'metadata', 'spec']);
  const metadata = readMetadata(optional(doc, 'metadata'), { kind: 'Tier', namespaced: false });
  if (metadata.name.length > 63 || !DNS_LABEL.test(metadata.name)) {
    // Tier names appear as the prefix of policy names, so they hold no dots.
    fail('metadata.name', `invalid tier name ${JSON.stringify(metadata.name)}: must be a DNS-1123 label (no dots)`);
  }
  const specValue = optional(doc, 'spec');
  const spec = specValue === undefined ? {} : asObject(specValue, 'spec');
  checkKnownFields(spec, 'spec', ['order', 'defaultAction']);
  const order = optNumber(spec, 'order', 'spec');
  if (metadata.name === CALICO_DEFAULT_TIER && order !== CALICO_DEFAULT_TIER_ORDER) {
    fail(child('spec', 'order'), `default tier order must be ${CALICO_DEFAULT_TIER_ORDER}`);
  }
  const actionValue = optional(spec, 'defaultAction');
  if (actionValue !== undefined && actionValue !== 'Deny' && actionValue !== 'Pass') {
    fail(child('spec', 'defaultAction'), `invalid default action ${describeValue(actionValue)}: expected Deny or Pass`);
  }
  const defaultAction: CalicoTierDefaultAction = actionValue ?? 'Deny';
  return { kind: 'Tier', apiVersion, metadata, ...(order === undefined ? {} : { order }), defaultAction };
}
