// The runtime side: running network configuration lists as libcni does.
export {
  type RuntimeConf,
  type ExecRequest,
  type ExecResult,
  type PluginExec,
  type CacheRecord,
  type CacheKey,
  type ResultCache,
} from './types.js';
export { CACHE_KIND, cacheFileName, encodeCacheRecord, decodeCacheRecord } from './cache-record.js';
export { pluginEnvironment, callPlugin, type PluginCall } from './plugin-call.js';
export { CniRuntime, type CniRuntimeOptions, type GcArgs, type CachedAttachment } from './runtime.js';
export { nodePluginExec, type NodePluginExecOptions } from './sys/node-exec.js';
export { fileResultCache, DEFAULT_CNI_CACHE_DIR } from './sys/file-cache.js';
export { delegateAdd, delegateCheck, delegateDel, type DelegateOptions } from './delegate.js';
