/**
 * @twill/policy-engine: Kubernetes, Calico and Cilium network policies in one model: parse, validate, evaluate with explanations, compile.
 *
 * Nothing is exported yet; the package's issue builds its API.
 * @packageDocumentation
 */
export {};
