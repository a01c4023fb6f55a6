// The nftables dataplane's pure half: effective rules → chains, sets and nft scripts.
export { checkLogGroup, DROP_KIND, dropLogPrefix, dropStatement, parseDropLogPrefix, type DropKind, type DropLogPrefix } from './drop-log.js';
export { compileEndpointNft, failClosedEndpointNft, l7MarkMatch, l7RedirectedMatch, type CompileEndpointOptions, type L7Mark } from './endpoint.js';
export { NftablesNameError } from './errors.js';
export { EMPTY_TABLE_MODEL, type EndpointNft, type NftRedirectedModel, type NftSet, type NftSetChanges, type NftTableModel } from './model.js';
export { directionChain, endpointHash, endpointStem, NFT_BASE, NFT_FAMILY, NFT_TABLE, quoteInterface, tierChain } from './names.js';
export { type IdentityAddresses } from './peers.js';
export { renderDeleteTable, renderDelta, renderFullSync, type NftKernelState } from './script.js';
export { buildTableModel, identityAddresses, type AttachedEndpointNft } from './table.js';
