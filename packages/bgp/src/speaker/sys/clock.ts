// The real clock: performance.now(), and setTimeout or, for 0 ms, setImmediate.
import { type SpeakerClock } from '../ports.js';

/**
 * The process's monotonic clock and timers. Timers are unref'd: a speaker alone does
 * not keep Node running (its sockets do). A timer of 0 ms (a flush of a large change,
 * the next slice of one) runs once the I/O already read is handled (`setImmediate`),
 * not after setTimeout's 1 ms at least, during which a table's last read would wait
 * idle for its flush; it keeps Node running until then (an unref'd immediate waits
 * for the next event instead).
 */
export const systemClock: SpeakerClock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    if (ms <= 0) {
      // Not unref'd: libuv would then block in its poll until some other event came.
      const immediate = setImmediate(fn);
      return () => clearImmediate(immediate);
    }
    const handle = setTimeout(fn, ms);
    handle.unref();
    return () => clearTimeout(handle);
  },
};
