/**
 * The Calico front end of `@twill/policy-engine`: the selector language, and parsing and
 * validation of `projectcalico.org/v3` documents into typed Calico objects, and their
 * compilation to the IR (`compileCalicoDocuments`).
 * @packageDocumentation
 */
export { CalicoError, SelectorSyntaxError } from '../errors.js';
export * from './selector/index.js';
export { CALICO_KINDS, parseCalicoDocument, type CalicoKind } from './document.js';
export { inferPolicyTypes } from './policy.js';
export { calicoPolicySortName, compareCalicoOrder, createCalicoPolicyComparator, sortCalicoTiers } from './order.js';
export { protocolHasPorts, protocolIsIcmp } from './values.js';
export {
  CALICO_ACTIONS,
  CALICO_API_VERSIONS,
  CALICO_DEFAULT_TIER,
  CALICO_DEFAULT_TIER_ORDER,
  CALICO_PROTOCOL_NUMBERS,
  type CalicoAction,
  type CalicoApiVersion,
  type CalicoDocument,
  type CalicoEntityRule,
  type CalicoGlobalNetworkPolicy,
  type CalicoHttpMatch,
  type CalicoHttpPath,
  type CalicoIcmp,
  type CalicoMetadata,
  type CalicoNet,
  type CalicoNetworkPolicy,
  type CalicoNetworkSet,
  type CalicoPolicy,
  type CalicoPolicyBase,
  type CalicoPolicyType,
  type CalicoPort,
  type CalicoProtocol,
  type CalicoProtocolName,
  type CalicoRule,
  type CalicoSelector,
  type CalicoServiceAccountMatch,
  type CalicoServiceMatch,
  type CalicoTier,
  type CalicoTierDefaultAction,
} from './types.js';
export {
  compileCalicoDocuments,
  compileCalicoNetworkSet,
  compileCalicoPolicy,
  compileCalicoTier,
  type CompiledCalicoDocuments,
} from './compile.js';
export {
  CALICO_NAMESPACE_LABEL,
  CALICO_NAMESPACE_LABEL_PREFIX,
  CALICO_NAMESPACE_NAME_LABEL,
  CALICO_ORCHESTRATOR_LABEL,
  CALICO_SERVICE_ACCOUNT_LABEL,
  CALICO_SERVICE_ACCOUNT_LABEL_PREFIX,
  compileCalicoSelector,
  type CalicoSelectorContext,
} from './compile-selector.js';
