// The pool allocator (the Calico model). Re-exported by name from the package root.
export { type NodeLabels, type NodeSelector, type SelectorTerm, ALL_NODES, parseNodeSelector, selectsNode } from './node-selector.js';
export {
  type IpPool,
  type PoolIpamConfig,
  type ParsePoolIpamOptions,
  BLOCK_SIZE,
  DEFAULT_RELEASE_COOLDOWN_MS,
  parsePool,
  parsePoolIpamConfig,
  overlappingPools,
  subnetsOverlap,
} from './pool-config.js';
export { type BlockRef, blockAt, blockOf, blockCount, blockAddressCount } from './block.js';
export {
  type BlockDocument,
  type AffinityDocument,
  type AllocationAttributes,
  type HandleAddress,
  type HandleDocument,
  type PoolKeys,
  DEFAULT_POOL_ROOT,
  poolKeys,
  decodeBlock,
  encodeBlock,
  decodeAffinity,
  encodeAffinity,
  decodeHandle,
  encodeHandle,
} from './documents.js';
export {
  type PoolAllocatorOptions,
  type PoolAllocationRequest,
  type PoolAllocatedAddress,
  type PoolAllocation,
  handleId,
  PoolAllocator,
} from './allocator.js';
export {
  type GcReleased,
  type PoolProblem,
  type PoolCheckReport,
  type PoolCheckOptions,
  type PoolAddressStatus,
  type PoolUsage,
} from './audit.js';
