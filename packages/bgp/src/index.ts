/**
 * @twill/bgp: A BGP-4 speaker in TypeScript: wire codec, per-peer FSM, RIBs with best-path selection, policy, route reflection, graceful restart.
 *
 * Nothing is exported yet; the package's issue builds its API.
 * @packageDocumentation
 */
export {};
