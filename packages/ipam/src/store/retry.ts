// Compare-and-swap retries: read, decide, commit; on a conflict wait a little and start
// again. The wait is "full jitter" exponential backoff (a random delay between 0 and a
// cap that doubles per attempt), so processes that collided once do not collide again in
// lock step. Time and randomness are injected so tests never sleep.
import { StoreContendedError } from '../errors.js';

/** How a conflicting operation is retried. */
export interface RetryPolicy {
  /** The most attempts, the first included (default 20). */
  readonly maxAttempts?: number;
  /** The backoff cap of the first retry in milliseconds (default 2). */
  readonly baseDelayMs?: number;
  /** The backoff cap never grows past this, in milliseconds (default 100). */
  readonly maxDelayMs?: number;
  /** Waits `ms` milliseconds (default: a timer). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** A uniform random number in [0, 1) (default `Math.random`). */
  readonly random?: () => number;
}

/** One attempt's outcome: done with a value, or a conflict to retry. */
export type AttemptOutcome<T> = { readonly done: true; readonly value: T } | { readonly done: false; readonly cause?: unknown };

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The delay before retry number `retry` (1 for the first retry), in milliseconds:
 * uniform in [0, min(maxDelayMs, baseDelayMs * 2^(retry-1))].
 */
export function backoffDelay(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'> = {}): number {
  const base = policy.baseDelayMs ?? 2;
  const cap = Math.min(policy.maxDelayMs ?? 100, base * 2 ** Math.max(0, retry - 1));
  return (policy.random ?? Math.random)() * cap;
}

/**
 * Runs `attempt` until it is done, waiting a jittered backoff after each conflict.
 * Errors thrown by `attempt` end the loop at once. An attempt may answer synchronously
 * (over a store's `sync` face): a first attempt that is done then costs no promise but
 * the one returned.
 * @param operation - what is being done, for the error message (`allocate`).
 * @throws StoreContendedError (CNI code 11) after `maxAttempts` conflicts.
 */
export function retryOnConflict<T>(
  operation: string,
  attempt: (attemptNumber: number) => AttemptOutcome<T> | Promise<AttemptOutcome<T>>,
  policy: RetryPolicy = {},
): Promise<T> {
  let first: AttemptOutcome<T> | Promise<AttemptOutcome<T>>;
  try {
    first = attempt(1);
  } catch (error) {
    return Promise.reject(error);
  }
  if (!(first instanceof Promise) && first.done) return Promise.resolve(first.value);
  return retryLoop(operation, attempt, policy, first);
}

async function retryLoop<T>(
  operation: string,
  attempt: (attemptNumber: number) => AttemptOutcome<T> | Promise<AttemptOutcome<T>>,
  policy: RetryPolicy,
  first: AttemptOutcome<T> | Promise<AttemptOutcome<T>>,
): Promise<T> {
  const maxAttempts = policy.maxAttempts ?? 20;
  const sleep = policy.sleep ?? realSleep;
  let lastCause: unknown;
  for (let n = 1; n <= maxAttempts; n++) {
    const outcome = n === 1 ? await first : await attempt(n);
    if (outcome.done) return outcome.value;
    lastCause = outcome.cause;
    if (n < maxAttempts) await sleep(backoffDelay(n, policy));
  }
  throw new StoreContendedError(maxAttempts, operation, { cause: lastCause });
}

/**
 * A {@link RetryPolicy} for work that must finish synchronously (opening a SQLite
 * database in a synchronous factory): the wait between attempts blocks the thread, as
 * SQLite's own busy wait already does.
 */
export interface BlockingRetryPolicy extends Omit<RetryPolicy, 'sleep'> {
  /** Blocks the thread for `ms` milliseconds (default: `Atomics.wait`). */
  readonly sleep?: (ms: number) => void;
}

const blockingSleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * As {@link retryOnConflict}, but synchronous: runs `attempt` until it is done, blocking
 * for a jittered backoff ({@link backoffDelay}) after each conflict. Errors thrown by
 * `attempt` end the loop at once.
 * @param operation - what is being done, for the error message (`open /var/lib/twill.db`).
 * @throws StoreContendedError (CNI code 11) after `maxAttempts` conflicts (default 20).
 */
export function retryOnConflictBlocking<T>(
  operation: string,
  attempt: (attemptNumber: number) => AttemptOutcome<T>,
  policy: BlockingRetryPolicy = {},
): T {
  const maxAttempts = policy.maxAttempts ?? 20;
  const sleep = policy.sleep ?? blockingSleep;
  let lastCause: unknown;
  for (let n = 1; n <= maxAttempts; n++) {
    const outcome = attempt(n);
    if (outcome.done) return outcome.value;
    lastCause = outcome.cause;
    if (n < maxAttempts) sleep(backoffDelay(n, policy));
  }
  throw new StoreContendedError(maxAttempts, operation, { cause: lastCause });
}
