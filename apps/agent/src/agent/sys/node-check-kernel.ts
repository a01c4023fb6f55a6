// The kernel side of the node check: the node namespace's links and main-table routes
// over rtnetlink (cni-core's Netlink).
import { Netlink, type NetnsRef } from '@twill/cni-core/net';

import { type NodeKernelReader, type NodeKernelState } from '../node-check.js';

/** Options of {@link nodeKernelReader}. */
export interface NodeKernelReaderOptions {
  /** The node's namespace (default: this process's). */
  readonly netns?: NetnsRef;
}

/**
 * Reads the links and both families' main-table routes of the node's namespace, each
 * route with its output link's name. Needs no privilege in the caller's own namespace;
 * CAP_SYS_ADMIN to enter another.
 * @throws SysError when the namespace cannot be entered; NetError from netlink.
 */
export function nodeKernelReader(options: NodeKernelReaderOptions = {}): NodeKernelReader {
  return {
    async read(): Promise<NodeKernelState> {
      const netlink = Netlink.open(options.netns === undefined ? {} : { netns: options.netns });
      try {
        const links = await netlink.listLinks();
        const names = new Map<number, string>(links.map((l) => [l.index, l.name]));
        const routes = [...(await netlink.listRoutes({ family: 4 })), ...(await netlink.listRoutes({ family: 6 }))];
        return {
          links: links.map((l) => ({ name: l.name, index: l.index, up: l.up, ...(l.kind === undefined ? {} : { kind: l.kind }) })),
          routes: routes.map((r) => {
            const link = r.index === undefined ? undefined : names.get(r.index);
            return { dst: r.dst, type: r.type, ...(link === undefined ? {} : { link }) };
          }),
        };
      } finally {
        netlink.close();
      }
    },
  };
}
