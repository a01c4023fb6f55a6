// Shared set-up of the pool allocator tests: a fake clock, retries that never sleep, and
// an allocator over a memory store.
import { MemoryStore, parsePoolIpamConfig, PoolAllocator, type PoolIpamConfig, type Store } from '@twill/ipam';

/** A clock the test moves by hand, in milliseconds. */
export interface FakeClock {
  now: () => number;
  advance(ms: number): void;
}

/** A fake clock starting at 2030-01-01T00:00:00Z. */
export function fakeClock(start = Date.UTC(2030, 0, 1)): FakeClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Retries that do not wait (the tests never sleep). */
export const noSleep = { sleep: async (): Promise<void> => undefined, random: () => 0.5, maxAttempts: 200 };

/** Parses an `ipam` section for network `net`. */
export function poolConfig(ipam: Record<string, unknown>): PoolIpamConfig {
  return parsePoolIpamConfig(ipam, { network: 'net' });
}

/** An allocator, its store and its clock. */
export function setup(ipam: Record<string, unknown>, store: Store = new MemoryStore()): { allocator: PoolAllocator; store: Store; clock: FakeClock } {
  const clock = fakeClock();
  const allocator = new PoolAllocator({ config: poolConfig(ipam), store, now: clock.now, retry: noSleep });
  return { allocator, store, clock };
}

/** The IPv4 address of an allocation. */
export function ipOf(allocation: { readonly addresses: readonly { readonly ip: string }[] }): string {
  return allocation.addresses[0]?.ip ?? '';
}
