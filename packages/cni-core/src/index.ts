/**
 * @twill/cni-core: The CNI specification (0.1.0 to 1.1.0) in TypeScript: types, version conversion, config parsing, the plugin exec protocol, a libcni-compatible runtime and plumbing helpers.
 *
 * Nothing is exported yet; the package's issue builds its API.
 * @packageDocumentation
 */
export {};
