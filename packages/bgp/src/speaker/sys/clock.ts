// The real clock: performance.now() and setTimeout.
import { type SpeakerClock } from '../ports.js';

/**
 * The process's monotonic clock and timers. Timers are unref'd: a speaker alone does
 * not keep Node running (its sockets do).
 */
export const systemClock: SpeakerClock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return () => clearTimeout(handle);
  },
};
