/**
 * `@twill/cni-core`: the CNI specification (0.1.0 to 1.1.0) in TypeScript.
 *
 * - Plugin side: result types per version and conversions between them, and
 *   {@link runPlugin}, the exec protocol (environment and stdin in, result or error out).
 * - Runtime side: network configuration lists (parse, validate, load from a folder,
 *   build each plugin's stdin) and {@link CniRuntime}, a libcni-compatible runtime
 *   with libcni's own result cache.
 * - Errors are {@link CniError}s carrying the spec's codes; {@link PluginError} when a
 *   called plugin failed.
 *
 * Linux plumbing for plugin authors (namespaces, veth, addresses, routes, sysctls) is
 * the `@twill/cni-core/net` subpath.
 * @packageDocumentation
 */
export {
  CNI_ERROR,
  type CniErrorCode,
  type CniErrorJson,
  CniError,
  PLUGIN_FAILURE,
  type PluginFailure,
  PluginError,
} from './errors.js';
export * from './spec/index.js';
export * from './skel/index.js';
export * from './config/index.js';
export * from './invoke/index.js';
export * from './conformance/index.js';
export * from './serve/index.js';
