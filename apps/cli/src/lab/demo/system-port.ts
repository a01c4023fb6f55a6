// What the demonstration needs from the machine, as a port: sys/system.ts is the real one.

/** A probe the prober makes: a TCP connect, or with `http` one HTTP GET. */
export interface PodProbe {
  readonly address: string;
  readonly port: number;
  readonly http?: { readonly path: string };
}

/** What a probe saw. */
export interface PodProbeResult {
  /** Whether the TCP connection was established. */
  readonly connected: boolean;
  /** Why not, or why the HTTP exchange failed: `timeout`, `ECONNREFUSED`, ... */
  readonly error?: string;
  /** The HTTP status, for an HTTP probe that got an answer. */
  readonly status?: number;
  /** The start of the HTTP answer's body. */
  readonly body?: string;
}

/** A pod server that runs, as recorded for `lab down`. */
export interface ServerRecord {
  /** `namespace/name`. */
  readonly pod: string;
  readonly role: string;
  readonly port: number;
  readonly netns: string;
  /** The Unix socket its prober answers on (pod-server.mjs), on the host's file system. */
  readonly controlSocket: string;
  readonly pid: number;
  /** The process's start time (field 22 of /proc/PID/stat), so a recycled PID is not taken for it. */
  readonly startTime?: string;
}

/** The machine as the demonstration uses it. */
export interface DemoSystem {
  /** The folder of the step policy files (absolute). */
  readonly policiesDir: string;
  /** Starts a role's server (and prober) in a pod's namespace; resolves once both listen. */
  startServer(options: { netns: string; pod: string; role: string; port: number; controlSocket: string; logFile: string }): Promise<ServerRecord>;
  /** Has a pod's server run every probe from inside its namespace at once, each bounded by `timeoutMs`; results in order. */
  probe(server: ServerRecord, probes: readonly PodProbe[], timeoutMs: number): Promise<PodProbeResult[]>;
  writeText(path: string, text: string): Promise<void>;
  readText(path: string): Promise<string>;
  sleep(ms: number): Promise<void>;
  /** A monotonic clock in milliseconds. */
  now(): number;
}
