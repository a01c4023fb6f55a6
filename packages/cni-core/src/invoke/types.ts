// The runtime's ports and arguments. The runtime itself (runtime.ts) is pure: it finds
// and runs plugins and keeps results through these ports, whose Linux implementations
// live in sys/.

/** Per-attachment arguments of one call, as libcni's `RuntimeConf`. */
export interface RuntimeConf {
  /** The container's id (CNI_CONTAINERID). */
  readonly containerId: string;
  /** Path of the container's network namespace (CNI_NETNS); may be empty for DEL. */
  readonly netns: string;
  /** The interface name inside the container (CNI_IFNAME), such as `eth0`. */
  readonly ifName: string;
  /** Extra `CNI_ARGS` pairs, in order (`[['K8S_POD_NAME', 'web-0']]`). */
  readonly args?: readonly (readonly [string, string])[];
  /** Capability arguments, passed to plugins that declare the capability (`portMappings`, ...). */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
}

/** One plugin execution request. */
export interface ExecRequest {
  /** Absolute path of the plugin executable. */
  readonly file: string;
  /** The CNI_* variables of the call; the exec port adds the caller's environment. */
  readonly env: Readonly<Record<string, string>>;
  /** The plugin's stdin. */
  readonly stdin: Uint8Array;
  /** Kill the plugin (SIGKILL) after this many milliseconds. */
  readonly timeoutMs: number;
}

/** What a plugin execution gave back. */
export interface ExecResult {
  /** Exit code, or null when killed by a signal. */
  readonly exitCode: number | null;
  /** The signal that ended it, if any. */
  readonly signal: string | null;
  /** Everything written to stdout. */
  readonly stdout: Uint8Array;
  /** Everything written to stderr, as text. */
  readonly stderr: string;
  /** Whether it was killed for running past the timeout. */
  readonly timedOut: boolean;
}

/** Finds and runs plugin executables. `nodePluginExec()` in sys/ is the real one. */
export interface PluginExec {
  /** The executable for plugin `type` in the first of `paths` that has it, or undefined. */
  find(type: string, paths: readonly string[]): Promise<string | undefined>;
  /** Runs a plugin to completion. Rejects only when it cannot be started. */
  exec(request: ExecRequest): Promise<ExecResult>;
}

/** One cached attachment, as libcni stores it (`cniCacheV1`). */
export interface CacheRecord {
  /** The format, always libcni's `cniCacheV1`. */
  readonly kind: 'cniCacheV1';
  /** The container ID of the attachment. */
  readonly containerId: string;
  /** The network configuration bytes the attachment was made with. */
  readonly config: Uint8Array;
  /** The interface name of the attachment. */
  readonly ifName: string;
  /** The network's name. */
  readonly networkName: string;
  /** The network namespace path of the ADD. */
  readonly netns?: string;
  /** The CNI_ARGS pairs of the ADD. */
  readonly cniArgs?: readonly (readonly [string, string])[];
  /** The capability arguments of the ADD (`runtimeConfig`). */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
  /** The ADD result, as JSON. */
  readonly result?: Readonly<Record<string, unknown>>;
}

/** The key of a cached attachment: libcni's file name `<network>-<containerId>-<ifName>`. */
export interface CacheKey {
  /** The network's name. */
  readonly networkName: string;
  /** The container ID. */
  readonly containerId: string;
  /** The interface name. */
  readonly ifName: string;
}

/** Where results are kept between ADD and CHECK/DEL/GC. `fileResultCache()` in sys/ is libcni's on-disk cache. */
export interface ResultCache {
  /** The raw cache file bytes for a key, or undefined when there is none. */
  read(key: CacheKey): Promise<Uint8Array | undefined>;
  /** Writes (replaces) the cache file for a key atomically. */
  write(key: CacheKey, bytes: Uint8Array): Promise<void>;
  /** Removes the cache file for a key; no error when there is none. */
  remove(key: CacheKey): Promise<void>;
  /** Every cache file: its name and bytes, in lexical order of names. */
  list(): Promise<
    {
      /** The cache file's name (`<network>-<containerId>-<ifName>`). */
      name: string;
      /** Its contents. */
      bytes: Uint8Array;
    }[]
  >;
}
