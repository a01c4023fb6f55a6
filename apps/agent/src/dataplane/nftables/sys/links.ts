// The ifindexes of host-side interfaces in the driver's namespace (rtnetlink), for flow
// events of endpoints whose attachment did not say.

import { Netlink } from '@twill/cni-core/net';

/**
 * The ifindex of each of `names` that exists in `netns` (the caller's namespace when absent).
 * @throws {NetError} when the links cannot be listed.
 */
export async function resolveIfindexes(netns: string | undefined, names: readonly string[]): Promise<Map<string, number>> {
  const wanted = new Set(names);
  const nl = Netlink.open(netns === undefined ? {} : { netns });
  try {
    return new Map((await nl.listLinks()).filter((l) => wanted.has(l.name)).map((l) => [l.name, l.index as number]));
  } finally {
    nl.close();
  }
}
