// Three network namespaces in a line for benchmarks that measure what sits in the middle:
// client ── node ── server, one veth pair on each side, the node routing between two /24s.
// Everything is made inside the namespaces (the host's interfaces, routes and firewall are
// never touched) and `close` removes the namespaces, which takes their veths with them.
import { execFileSync } from 'node:child_process';

/** Options for {@link createRoutedLine}. */
export interface RoutedLineOptions {
  /** Start of every namespace's name (`twb-l7-`); the process id and a role follow it. */
  readonly prefix: string;
  /** The second octet of the two /24s, `10.<octet>.1.0/24` (client side) and `10.<octet>.2.0/24` (server side). */
  readonly octet: number;
}

/** The line's namespaces and addresses. */
export interface RoutedLine {
  /** Namespace names, as `ip netns` lists them. */
  readonly client: string;
  readonly node: string;
  readonly server: string;
  /** The client's address (on its `eth0`). */
  readonly clientIp: string;
  /** The server's address (on its `eth0`). */
  readonly serverIp: string;
  /** The node's address on the client side (the client's gateway). */
  readonly nodeClientSideIp: string;
  /** The node's address on the server side (the server's gateway). */
  readonly nodeServerSideIp: string;
  /** Runs a program in one of the namespaces and gives its standard output. */
  exec(netns: string, file: string, args: readonly string[], input?: string): string;
  /** Deletes the three namespaces (and so their veths); safe to call twice. */
  close(): void;
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes `<prefix><pid>-<role>` namespaces whose process has died (a run killed before its cleanup). */
function sweepStale(prefix: string): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (!name.startsWith(prefix)) continue;
    const pid = Number.parseInt(name.slice(prefix.length).split('-')[0] ?? '', 36);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) ip('netns', 'del', name);
  }
}

/**
 * Creates the three namespaces, the veths (`eth0` in client and server, `to-client` and
 * `to-server` in the node) and routes; forwarding on in the node only. Namespaces with
 * the same prefix left by a process that has died are deleted first.
 * @throws {Error} the failing `ip` command's error, after removing what was made.
 */
export function createRoutedLine(options: RoutedLineOptions): RoutedLine {
  const { prefix, octet } = options;
  if (!Number.isInteger(octet) || octet < 0 || octet > 255) throw new Error(`createRoutedLine: octet ${octet} is not 0-255`);
  sweepStale(prefix);
  const base = `${prefix}${process.pid.toString(36)}`;
  const names = { client: `${base}-client`, node: `${base}-node`, server: `${base}-server` };
  const made: string[] = [];
  const close = (): void => {
    for (const ns of made.splice(0).reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Already gone.
      }
    }
  };
  const addr = { client: `10.${octet}.1.1`, nodeClient: `10.${octet}.1.254`, server: `10.${octet}.2.1`, nodeServer: `10.${octet}.2.254` };
  try {
    for (const ns of [names.client, names.node, names.server]) {
      ip('netns', 'add', ns);
      made.push(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    ip('-n', names.client, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'to-client', 'netns', names.node);
    ip('-n', names.server, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'to-server', 'netns', names.node);
    const up = (ns: string, dev: string, cidr: string): void => {
      ip('-n', ns, 'addr', 'add', cidr, 'dev', dev);
      ip('-n', ns, 'link', 'set', dev, 'up');
    };
    up(names.client, 'eth0', `${addr.client}/24`);
    up(names.node, 'to-client', `${addr.nodeClient}/24`);
    up(names.server, 'eth0', `${addr.server}/24`);
    up(names.node, 'to-server', `${addr.nodeServer}/24`);
    ip('-n', names.client, 'route', 'add', 'default', 'via', addr.nodeClient);
    ip('-n', names.server, 'route', 'add', 'default', 'via', addr.nodeServer);
    ip('netns', 'exec', names.node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  } catch (error) {
    close();
    throw error;
  }
  return {
    ...names,
    clientIp: addr.client,
    serverIp: addr.server,
    nodeClientSideIp: addr.nodeClient,
    nodeServerSideIp: addr.nodeServer,
    exec: (netns, file, args, input) => execFileSync('ip', ['netns', 'exec', netns, file, ...args], { encoding: 'utf8', input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'] }),
    close,
  };
}
