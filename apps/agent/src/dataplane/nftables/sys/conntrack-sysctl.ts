// net.netfilter.nf_conntrack_events of the driver's namespace. A file under /proc/sys/net
// belongs to the namespace of the thread that opens it, so it is read inside runInNetns.

import { readFileSync } from 'node:fs';

import { runInNetns } from '@twill/sys';

/**
 * The value of net.netfilter.nf_conntrack_events in `netns` (the caller's namespace when
 * absent): `0` off, `1` on, `2` on while a listener is subscribed (Linux 6.0+ default);
 * `undefined` when conntrack is not loaded there (no such file).
 * @throws {SysError} from `setns`, or the read's error other than ENOENT.
 */
export function readConntrackEventsSetting(netns: string | undefined): string | undefined {
  const read = (): string | undefined => {
    try {
      return readFileSync('/proc/sys/net/netfilter/nf_conntrack_events', 'utf8').trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  return netns === undefined ? read() : runInNetns(netns, read);
}
