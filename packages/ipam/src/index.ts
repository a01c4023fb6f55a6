/**
 * @twill/ipam: IP address management: host-local compatible ranges and Calico-style block pools over a compare-and-swap store.
 *
 * Nothing is exported yet; the package's issue builds its API.
 * @packageDocumentation
 */
export {};
