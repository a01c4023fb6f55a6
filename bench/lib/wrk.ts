// wrk (Debian's, 4.1): an HTTP load generator with keep-alive connections. `parseWrk` reads
// its text report (with `--latency`); `runWrk` runs it, inside a network namespace when
// asked, and parses what it printed.
import { execFile } from 'node:child_process';

/** What one wrk run measured. */
export interface WrkResult {
  /** Requests completed (any status). */
  readonly requests: number;
  /** The run's length as wrk measured it, seconds. */
  readonly seconds: number;
  /** Requests per second as wrk printed it (`Requests/sec`). */
  readonly requestsPerSecond: number;
  /** Latency percentiles from `Latency Distribution`, milliseconds. */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** Socket errors: connect + read + write + timeout. */
  readonly errors: number;
  /** Responses with a status outside 2xx and 3xx. */
  readonly non2xx: number;
}

const TIME_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `1.23ms` → 1.23 (milliseconds); `812.00us` → 0.812. */
function timeMs(text: string, what: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (m === null) throw new Error(`wrk output: ${what} is ${JSON.stringify(text)}, not a time like 1.23ms`);
  return Number(m[1]) * (TIME_MS[m[2] as string] as number);
}

function duration(text: string): number {
  return timeMs(text, 'the run length') / 1000;
}

/**
 * Parses wrk's report (run with `--latency`).
 * @throws {Error} naming the line that is missing or malformed (the output is quoted).
 */
export function parseWrk(output: string): WrkResult {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(output);
    if (m === null) throw new Error(`wrk output has no ${what} line (run with --latency?): ${JSON.stringify(output.slice(0, 400))}`);
    return m;
  };
  const percentile = (p: number): number => timeMs(need(new RegExp(`^\\s+${p}%\\s+(\\S+)\\s*$`, 'm'), `${p}% latency`)[1] as string, `the ${p}% latency`);
  const total = need(/^\s+(\d+) requests in ([\d.]+\w+),/m, '"N requests in T"');
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  return {
    requests: Number(total[1]),
    seconds: duration(total[2] as string),
    requestsPerSecond: Number(need(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]),
    p50Ms: percentile(50),
    p90Ms: percentile(90),
    p99Ms: percentile(99),
    errors: socket === null ? 0 : socket.slice(1, 5).reduce((sum, n) => sum + Number(n), 0),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
  };
}

/** Options for {@link runWrk}. */
export interface WrkOptions {
  /** The URL to load (`http://10.0.0.1:8080/path`). */
  readonly url: string;
  /** Open connections, kept alive (wrk's default). */
  readonly connections: number;
  /** wrk threads (each an event loop over its share of the connections). */
  readonly threads: number;
  /** Length of the run, seconds (whole). */
  readonly seconds: number;
  /** Run inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  /** A request that takes longer counts as a timeout error, seconds (wrk's default 2). */
  readonly timeoutSeconds?: number;
}

/**
 * Runs wrk with `--latency` and parses its report.
 * @throws {Error} when wrk fails (its stderr quoted) or prints no report.
 */
export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const wrk = ['wrk', '--latency', '-t', String(options.threads), '-c', String(options.connections), '-d', `${options.seconds}s`, '--timeout', `${options.timeoutSeconds ?? 2}s`, options.url];
  const [file, ...args] = options.netns === undefined ? wrk : ['ip', 'netns', 'exec', options.netns, ...wrk];
  return new Promise((resolve, reject) => {
    execFile(file as string, args, { encoding: 'utf8', timeout: (options.seconds + 30) * 1000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${wrk.join(' ')} failed: ${error.message} ${stderr.trim()}`));
      else {
        try {
          resolve(parseWrk(stdout));
        } catch (parseError) {
          reject(parseError as Error);
        }
      }
    });
  });
}
