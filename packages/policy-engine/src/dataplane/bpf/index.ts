// The eBPF dataplane's pure map generation (see compiler.ts).
export { BpfMapCompiler, type BpfEndpointChange, type BpfMapDiff } from './compiler.js';
export { FIRST_PEER_CLASS, type IpcacheEntry, type PeerClass } from './peer-classes.js';
export { lookupBpfVerdict, lookupPeerClass, lookupPolicyEntry, keyPort, type BpfPacket } from './lookup.js';
export { rangeToPrefixes, type PortPrefix } from './port-set.js';
export {
  BPF_ANY_IDENTITY, BPF_DEFAULT_RULE, BPF_VERDICT, bpfEntryKey, diffBpfEntries,
  type BpfEntryDiff, type BpfPolicyEntry, type BpfRuleRef,
} from './types.js';
