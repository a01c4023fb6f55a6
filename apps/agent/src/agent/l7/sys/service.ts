// The agent's L7 enforcement, put together: the proxy's transparent listener on the node
// (one dual-stack socket on `::`: tproxy finds it for IPv4 too; `0.0.0.0` on a node
// without IPv6), the proxy (upstream connections from the client's own address,
// marked), and the tproxy redirect of the traffic L7 rules decide. The agent feeds it the
// policy controller's redirect targets; everything else it owns and closes.
import { closeSync, fstatSync } from 'node:fs';
import net from 'node:net';

import { openTransparentListener } from '@twill/sys';

import { type AgentL7Config } from '../../config.js';
import { type L7FlowSink, type L7Logger, type L7PolicySource } from '../ports.js';
import { type L7RedirectFamilies, errorText } from '../redirect.js';
import { type L7RedirectTargets, NO_L7_TARGETS } from '../redirect-targets.js';
import { L7Proxy, type L7ProxyOptions, type L7ProxyStats } from './proxy.js';
import { L7Redirect, type L7RedirectStatus } from './redirect.js';

/** What {@link startL7Service} needs. */
export interface L7ServiceOptions {
  /** Ports, marks and the route table (the agent's `l7` configuration). */
  readonly config: Omit<AgentL7Config, 'enabled'>;
  /** Asked about every redirected connection. */
  readonly policy: L7PolicySource;
  /** Receives a record per request. */
  readonly onFlow?: L7FlowSink;
  /** Told of each connection L3/L4 policy denies in the proxy (see L7ProxyOptions.onConnectionDenied). */
  readonly onConnectionDenied?: L7ProxyOptions['onConnectionDenied'];
  /** Where the proxy, the listener and failed redirect updates log (debug and warn). */
  readonly logger: L7Logger;
  /** The named network namespace (under /run/netns) of the listener, the proxy's upstream sockets and the redirect; default the agent's own. */
  readonly netns?: string;
}

/** The running L7 enforcement. */
export interface L7Service {
  /**
   * Redirects exactly `targets` from now on (the latest call wins; calls are applied in
   * order). A failure is logged and kept for {@link status}, never thrown: the targets'
   * traffic then stays denied by the dataplane (it carries no proxy mark).
   */
  update(targets: L7RedirectTargets): void;
  /** Settles once every update given so far was applied (or failed). */
  settled(): Promise<void>;
  /** The listeners, the proxy's counters and the redirect as the kernel holds it. */
  status(): Promise<L7ServiceStatus>;
  /**
   * Closes the listener and the proxy's connections. The redirect (table, rules, routes)
   * is removed first, unless `keepRedirect`: the agent keeps it across a restart, as it
   * keeps all enforcement (connections to its targets are reset meanwhile, never let past).
   */
  close(options?: { readonly keepRedirect?: boolean }): Promise<void>;
}

/** What {@link L7Service.status} reports. */
export interface L7ServiceStatus {
  /** The proxy's port and the address it listens on (`::`, or `0.0.0.0` without IPv6). */
  readonly listening: { readonly port: number; readonly address: string };
  /** The proxy's counters: connections served now, and those denied or refused so far. */
  readonly proxy: L7ProxyStats;
  /** The redirect as the kernel holds it now (read back), its targets' counts and its last failure. */
  readonly redirect: L7RedirectStatus;
}

/**
 * The transparent listening server on `port`, serving with `proxy`: dual-stack `::`, or
 * `0.0.0.0` where IPv6 is off; and the families it serves.
 */
async function listenTransparent(proxy: L7Proxy, port: number, logger: L7Logger, netns: string | undefined): Promise<{ server: net.Server; families: L7RedirectFamilies }> {
  let fd: number;
  let address = '::';
  const inNetns = netns === undefined ? {} : { netns };
  try {
    fd = openTransparentListener({ address, port, ...inNetns });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw error;
    address = '0.0.0.0';
    fd = openTransparentListener({ address, port, ...inNetns });
  }
  // The socket's inode tells, after a failure, whether the descriptor is still ours or was
  // closed by Node (and its number perhaps reused since).
  const inode = fstatSync(fd).ino;
  const server = net.createServer({ noDelay: true }, (socket) => proxy.serve(socket));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    // Node closes the descriptor when listen(2) fails (its handle owned it), not when it
    // refused the descriptor before making a handle: close it only then, and throw the
    // original error whatever happens here.
    try {
      if (fstatSync(fd).ino === inode) closeSync(fd);
    } catch {
      // EBADF: Node closed it.
    }
    throw error;
  }
  server.on('error', (error) => logger.warn({ err: error, address, port }, 'l7: listener error'));
  return { server, families: address === '::' ? [4, 6] : [4] };
}

function redirectOf(config: L7ServiceOptions['config'], netns: string | undefined, families: L7RedirectFamilies): L7Redirect {
  return new L7Redirect({
    ...(netns === undefined ? {} : { netns }),
    proxyPort: config.proxyPort,
    mark: config.mark,
    mask: config.mask,
    routeTable: config.routeTable,
    rulePriority: config.rulePriority,
    families,
  });
}

/**
 * Removes the redirect an earlier run kept (its table, `fwmark` rules and `local` routes,
 * by the names and numbers in `config`), for an agent that runs without L7: left in place,
 * it would send connections to a port nobody listens on, and the node would reset them.
 * Removing what is not there does nothing. Needs root (CAP_NET_ADMIN).
 * @throws {L7RedirectError} `apply-failed` when something that exists cannot be removed.
 */
export async function removeL7Redirect(config: L7ServiceOptions['config'], netns?: string): Promise<void> {
  try {
    await redirectOf(config, netns, [4, 6]).close();
  } catch (error) {
    // A kernel without IPv6 (ipv6.disable=1): only the IPv4 rule and route can exist.
    if ((error as { cause?: { code?: unknown } }).cause?.code !== 'EAFNOSUPPORT') throw error;
    await redirectOf(config, netns, [4]).close();
  }
}

// A server's close() settles only once its last connection is gone: the proxy, closed
// meanwhile, ends them (an open HTTP/2 session or gRPC stream would hold it forever).
async function closeWith(server: net.Server, proxy: L7Proxy): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await proxy.close();
  await closed;
}

/**
 * Starts L7 enforcement: listeners first (so the redirect never sends to a port nobody
 * holds), then the redirect's routing and table, for the families the listener serves
 * (IPv4 only where it fell back to `0.0.0.0`), keeping the targets a previous run's kept
 * redirect holds until the first {@link L7Service.update} replaces them. Needs root (CAP_NET_ADMIN) and a kernel with nft_tproxy and nft_socket.
 * @throws when a listener cannot be bound or the redirect cannot be installed (all that
 *   was made is removed again).
 */
export async function startL7Service(options: L7ServiceOptions): Promise<L7Service> {
  const { config, logger } = options;
  const proxy = new L7Proxy({
    policy: options.policy,
    ...(options.onFlow === undefined ? {} : { onFlow: options.onFlow }),
    ...(options.onConnectionDenied === undefined ? {} : { onConnectionDenied: options.onConnectionDenied }),
    logger,
    upstream: { source: 'client', mark: config.upstreamMark, ...(options.netns === undefined ? {} : { netns: options.netns }) },
  });
  let server: net.Server | undefined;
  let redirect: L7Redirect | undefined;
  try {
    const listening = await listenTransparent(proxy, config.proxyPort, logger, options.netns);
    server = listening.server;
    // The redirect serves the families the listener does: no IPv6 rule or route on a node without IPv6.
    redirect = redirectOf(config, options.netns, listening.families);
    await redirect.start();
  } catch (error) {
    await redirect?.close().catch(() => undefined);
    if (server === undefined) await proxy.close();
    else await closeWith(server, proxy);
    throw error;
  }
  const listener = server;
  const installed = redirect;
  let queue: Promise<void> = Promise.resolve();
  let latest: L7RedirectTargets = NO_L7_TARGETS;
  let closed = false;
  return {
    update(targets) {
      latest = targets;
      queue = queue.then(async () => {
        // Only the newest targets matter once this step runs.
        if (closed || targets !== latest) return;
        try {
          await installed.update(targets);
        } catch (error) {
          logger.warn({ err: error }, `l7: the redirect was not updated (its traffic stays denied): ${errorText(error)}`);
        }
      });
    },
    settled: () => queue,
    async status() {
      return {
        listening: { port: config.proxyPort, address: (listener.address() as net.AddressInfo | null)?.address ?? '' },
        proxy: proxy.stats,
        redirect: await installed.status(),
      };
    },
    async close(how) {
      closed = true;
      await queue;
      // The redirect first: new connections to its targets are then denied by the dataplane, not reset by a closed port.
      if (how?.keepRedirect !== true) await installed.close();
      await closeWith(listener, proxy);
    },
  };
}
