/**
 * `NetworkSet` (namespaced) and `GlobalNetworkSet`: labelled lists of CIDRs that rule
 * selectors match like endpoints. Their `nets` use Calico's lenient `cidr` check (host
 * bits are masked off, not rejected), unlike rule `nets`.
 */
import { asObject, checkKnownFields, child, fail, item, optional, optList, type Fields } from './internal/fields.js';
import { DNS_SUBDOMAIN, readMetadata } from './metadata.js';
import { type CalicoApiVersion, type CalicoNetworkSet } from './types.js';
import { readNet } from './values.js';

/**
 * Reads a `NetworkSet` or `GlobalNetworkSet` document.
 *
 * @throws {@link CalicoError} naming the field path and the reason.
 */
export function readNetworkSet(
  doc: Fields,
  kind: 'NetworkSet' | 'GlobalNetworkSet',
  apiVersion: CalicoApiVersion,
): CalicoNetworkSet {
  checkKnownFields(doc, '', ['apiVersion', 'kind', 'metadata', 'spec']);
  const metadata = readMetadata(optional(doc, 'metadata'), { kind, namespaced: kind === 'NetworkSet' });
  if (metadata.name.length > 253 || !DNS_SUBDOMAIN.test(metadata.name)) {
    fail('metadata.name', `invalid name ${JSON.stringify(metadata.name)}: must be a DNS-1123 subdomain`);
  }
  if (Object.hasOwn(metadata.labels, 'projectcalico.org/namespace')) {
    // Calico reserves this label for the namespace it maps into its data model.
    fail('metadata.labels.projectcalico.org/namespace', 'projectcalico.org/namespace is not a valid label name');
  }
  const specValue = optional(doc, 'spec');
  const spec = specValue === undefined ? {} : asObject(specValue, 'spec');
  checkKnownFields(spec, 'spec', ['nets']);
  const nets = optList(spec, 'nets', 'spec').map((n, i) => readNet(n, item(child('spec', 'nets'), i), false));
  return { kind, apiVersion, metadata, nets };
}
