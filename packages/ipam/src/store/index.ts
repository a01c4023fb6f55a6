// The Store port and its adapters. Re-exported by name from the package root.
export {
  type Revision,
  type StoreEntry,
  type StoreCondition,
  type StoreOp,
  type CommitOutcome,
  type ExclusiveOutcome,
  type Store,
  type SyncStore,
  type SyncStoreOp,
  type StoreDocument,
  checkStoreKey,
  checkStorePrefix,
} from './store.js';
export { MemoryStore } from './memory-store.js';
export { type BlockingRetryPolicy, type RetryPolicy, type AttemptOutcome, backoffDelay, retryOnConflict, retryOnConflictBlocking } from './retry.js';
export { type SqliteStoreOptions, SqliteStore } from './sys/sqlite-store.js';
export { type FileStoreOptions, type FileLockMode, FileStore } from './sys/file-store.js';
