/**
 * The Cilium front end of `@twill/policy-engine`: parsing and validation of
 * `cilium.io/v2` CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy documents, and
 * their compilation to the IR.
 * @packageDocumentation
 */
export { compileCiliumPolicy } from './compile.js';
export { parseCiliumPolicy, validateCiliumPolicy, type ParseCiliumPolicyOptions } from './parse.js';
export { CILIUM_MAX_PORTS } from './parse-ports.js';
export {
  CILIUM_NAMESPACE_LABEL,
  CILIUM_NAMESPACE_LABELS_PREFIX,
  CILIUM_SERVICE_ACCOUNT_LABEL,
  ciliumSelectorToSelector,
  splitCiliumKey,
} from './selector.js';
export {
  CILIUM_API_VERSION,
  CILIUM_ENTITIES,
  CILIUM_KINDS,
  CILIUM_PROTOCOLS,
  type CiliumCidrRule,
  type CiliumEndpointSelector,
  type CiliumEntity,
  type CiliumHttpRule,
  type CiliumIcmpField,
  type CiliumKind,
  type CiliumL7Rules,
  type CiliumPolicy,
  type CiliumPolicyRule,
  type CiliumPortProtocol,
  type CiliumPortRule,
  type CiliumProtocol,
  type CiliumRule,
} from './types.js';
