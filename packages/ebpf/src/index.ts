/**
 * @twill/ebpf: eBPF from TypeScript: maps, programs, links, pinning and an ELF loader for clang-built objects.
 *
 * Nothing is exported yet; the package's issue builds its API.
 * @packageDocumentation
 */
export {};
