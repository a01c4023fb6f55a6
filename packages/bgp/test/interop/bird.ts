// BIRD 2 as an interop peer: `bird -c CONF -s SOCKET -P PIDFILE` inside the namespace,
// queried with `birdc -s SOCKET`. Announcements are static blackhole routes; changing
// them rewrites the configuration and runs `birdc configure` (the BGP sessions stay up).
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { type DaemonAdapter, type DaemonNeighbor, type DaemonRoute, type DaemonSpec, type RunningDaemon, familyOf, killPid, readPidFile, runIn, until } from './daemon.js';

/** BIRD-only settings of a neighbour. */
export interface BirdNeighborExtras {
  /** This neighbour is a route-reflector client (BIRD as reflector). */
  readonly rrClient?: boolean;
  /** The channel's export filter body, instead of "static and BGP routes". */
  readonly exportFilter?: string;
}

/** The BIRD protocol name of a neighbour: `n_10_99_0_1`. */
export function birdProtocol(address: string): string {
  return `n_${address.replace(/[.:]/g, '_')}`;
}

function neighborBlock(spec: DaemonSpec, n: DaemonNeighbor & BirdNeighborExtras): string {
  const family = familyOf(n.address) === 4 ? 'ipv4' : 'ipv6';
  const ibgp = n.asn === spec.asn;
  return `protocol bgp ${birdProtocol(n.address)} {
  local ${n.localAddress} as ${spec.asn};
  neighbor ${n.address} as ${n.asn};
  ${n.passive === false ? '' : 'passive on;'}
  hold time ${n.holdTime ?? 9};
  connect retry time 1;
  error wait time 1, 2;
  ${n.password === undefined ? '' : `password "${n.password}";`}
  ${n.gracefulRestart ? `graceful restart on; graceful restart time ${n.restartTime ?? 30};` : ''}
  ${n.rrClient ? 'rr client;' : ''}
  ${n.ttlSecurity ? 'ttl security on;' : ''}
  ${family} { import all; export ${n.exportFilter === undefined ? 'where source = RTS_STATIC || source = RTS_BGP' : `filter { ${n.exportFilter} }`}; ${ibgp ? 'next hop self;' : ''} ${n.gracefulRestart ? 'long lived graceful restart off;' : ''} };
}
`;
}

/** The whole bird.conf for `spec` announcing `routes`. */
export function birdConfig(spec: DaemonSpec, routes: ReadonlySet<string>, extras: (n: DaemonNeighbor) => BirdNeighborExtras = () => ({})): string {
  const statics = (family: 4 | 6): string =>
    [...routes]
      .filter((r) => familyOf(r) === family)
      .map((r) => `route ${r} blackhole;`)
      .join(' ');
  return `router id ${spec.routerId};
protocol device {}
protocol direct { ipv4; ipv6; }
protocol static s4 { ipv4; ${statics(4)} }
protocol static s6 { ipv6; ${statics(6)} }
${spec.neighbors.map((n) => neighborBlock(spec, { ...n, ...extras(n) })).join('\n')}
`;
}

/** Parses `birdc show route ... all`: prefix → next hop and the attribute lines. */
export function parseBirdRoutes(text: string): Map<string, DaemonRoute> {
  const routes = new Map<string, DaemonRoute>();
  let prefix: string | undefined;
  let lines: string[] = [];
  const finish = (): void => {
    if (prefix === undefined) return;
    const detail = lines.join('\n');
    const nextHop = /BGP\.next_hop: (\S+)/.exec(detail)?.[1] ?? '';
    if (!routes.has(prefix)) routes.set(prefix, { nextHop, detail });
  };
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f.:]+\/\d+)\s/.exec(line);
    if (head?.[1]) {
      finish();
      prefix = head[1];
      lines = [line];
    } else if (prefix !== undefined) lines.push(line);
  }
  finish();
  return routes;
}

/** A BIRD process with its control socket, started by {@link startBird}. */
export class Bird implements RunningDaemon {
  private pid = 0;
  private readonly routes4and6: Set<string>;

  constructor(
    readonly spec: DaemonSpec,
    private readonly extras: (n: DaemonNeighbor) => BirdNeighborExtras = () => ({}),
  ) {
    this.routes4and6 = new Set(spec.announce);
  }

  get socket(): string {
    return join(this.spec.dir, 'bird.ctl');
  }

  /** Writes the configuration and starts BIRD (`-R`: recover after a graceful restart). */
  async start(options: { recover?: boolean } = {}): Promise<void> {
    const conf = join(this.spec.dir, 'bird.conf');
    const pidFile = join(this.spec.dir, 'bird.pid');
    rmSync(pidFile, { force: true });
    writeFileSync(conf, birdConfig(this.spec, this.routes4and6, this.extras));
    runIn(this.spec.ns, 'bird', ['-c', conf, '-s', this.socket, '-P', pidFile, ...(options.recover ? ['-R'] : [])]);
    this.pid = await readPidFile(pidFile, 'bird');
    // BIRD opens its BGP listening socket once its protocols start, a moment after it
    // daemonises: a speaker connecting before that is refused, which is not what the
    // tests are about.
    if (this.spec.neighbors.length > 0) {
      await until('BIRD to listen on port 179', () => runIn(this.spec.ns, 'ss', ['-Hltn', 'sport = :179']).trim() !== '');
    }
  }

  /** Runs `birdc -s SOCKET ARGS...`. */
  birdc(...args: string[]): string {
    return execFileSync('birdc', ['-s', this.socket, ...args], { encoding: 'utf8', timeout: 10_000 });
  }

  established(neighbor: string): boolean {
    return /BGP state:\s+Established/.test(this.birdc('show', 'protocols', 'all', birdProtocol(neighbor)));
  }

  keepsStaleRoutes(neighbor: string): boolean {
    return /Neighbor graceful restart active/.test(this.birdc('show', 'protocols', 'all', birdProtocol(neighbor)));
  }

  routes(family: 4 | 6): Map<string, DaemonRoute> {
    return parseBirdRoutes(this.birdc('show', 'route', 'table', family === 4 ? 'master4' : 'master6', 'where', 'source', '=', 'RTS_BGP', 'all'));
  }

  /** Routes BIRD learned from one neighbour. */
  routesFrom(neighbor: string, family: 4 | 6): Map<string, DaemonRoute> {
    return parseBirdRoutes(this.birdc('show', 'route', 'table', family === 4 ? 'master4' : 'master6', 'protocol', birdProtocol(neighbor), 'all'));
  }

  announce(prefix: string): void {
    this.routes4and6.add(prefix);
    this.reconfigure();
  }

  withdraw(prefix: string): void {
    this.routes4and6.delete(prefix);
    this.reconfigure();
  }

  /** Leaves a prefix out of the configuration the next {@link Bird.start} writes, without telling BIRD now. */
  forget(prefix: string): void {
    this.routes4and6.delete(prefix);
  }

  private reconfigure(): void {
    writeFileSync(join(this.spec.dir, 'bird.conf'), birdConfig(this.spec, this.routes4and6, this.extras));
    const out = this.birdc('configure');
    if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`birdc configure: ${out}`);
  }

  /** BIRD shuts down announcing a graceful restart to its neighbours (`birdc graceful restart`). */
  async gracefulRestartShutdown(): Promise<void> {
    this.birdc('graceful', 'restart');
    const pid = this.pid;
    await until('BIRD to exit after graceful restart', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  }

  /** Sends a signal to BIRD (SIGSTOP to make it silent, SIGCONT to wake it). */
  signal(signal: NodeJS.Signals): void {
    if (this.pid > 0) process.kill(this.pid, signal);
  }

  async stop(): Promise<void> {
    // A stopped BIRD would not see the SIGTERM; one that already exited needs nothing.
    if (this.pid > 0) await killPid(this.pid, { wakeFirst: true });
    this.pid = 0;
  }
}

/** Starts BIRD for `spec`. */
export async function startBird(spec: DaemonSpec, extras?: (n: DaemonNeighbor) => BirdNeighborExtras): Promise<Bird> {
  const bird = new Bird(spec, extras);
  await bird.start();
  return bird;
}

/** BIRD 2 as a matrix entry. */
export const BIRD: DaemonAdapter = { name: 'BIRD 2', start: startBird };
