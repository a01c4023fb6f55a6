// FRR as an interop peer: zebra and bgpd started with `-N <name>` (their own path space
// under /var/run/frr/<name>, owned by the frr user, so instances never collide) inside
// the namespace, queried with `vtysh -N <name>` (JSON). FRR sends nothing over eBGP
// without `no bgp ebgp-requires-policy`; `no bgp network import-check` lets `network`
// statements announce prefixes that are in no table.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { testName } from '@twill/sys/testing';

import { type DaemonAdapter, type DaemonRoute, type DaemonSpec, type RunningDaemon, familyOf, killPid, readPidFile, runIn, until } from './daemon.js';

function frrIds(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'frr'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function frrConfig(spec: DaemonSpec, runDir: string): string {
  const lines = ['frr defaults traditional', `hostname ${spec.ns.name}`, `log file ${join(runDir, 'frr.log')}`, 'debug bgp neighbor-events', `router bgp ${spec.asn}`, ` bgp router-id ${spec.routerId}`];
  lines.push(' no bgp ebgp-requires-policy', ' no bgp default ipv4-unicast', ' no bgp network import-check');
  if (spec.neighbors.some((n) => n.gracefulRestart)) lines.push(' bgp graceful-restart');
  for (const n of spec.neighbors) {
    lines.push(` neighbor ${n.address} remote-as ${n.asn}`, ` neighbor ${n.address} timers 3 ${n.holdTime ?? 9}`, ` neighbor ${n.address} timers connect 1`);
    lines.push(` neighbor ${n.address} update-source ${n.localAddress}`, ` neighbor ${n.address} advertisement-interval 0`);
    if (n.passive !== false) lines.push(` neighbor ${n.address} passive`);
    if (n.password !== undefined) lines.push(` neighbor ${n.address} password ${n.password}`);
  }
  for (const family of [4, 6] as const) {
    lines.push(` address-family ${family === 4 ? 'ipv4' : 'ipv6'} unicast`);
    for (const p of spec.announce.filter((r) => familyOf(r) === family)) lines.push(`  network ${p}`);
    for (const n of spec.neighbors.filter((x) => familyOf(x.address) === family)) {
      lines.push(`  neighbor ${n.address} activate`);
      if (n.asn === spec.asn) lines.push(`  neighbor ${n.address} next-hop-self`);
    }
    lines.push(' exit-address-family');
  }
  return `${lines.join('\n')}\n`;
}

interface FrrPath {
  readonly bestpath?: boolean;
  readonly stale?: boolean;
  readonly peerId?: string;
  readonly path?: string;
  readonly nexthops?: readonly { readonly ip: string; readonly scope?: string }[];
}

/** zebra and bgpd of one test, in their own path space. */
class Frr implements RunningDaemon {
  private readonly name = testName().replace(/-/g, '');
  private readonly runDir = join('/var/run/frr', this.name);
  private readonly pids: number[] = [];

  constructor(readonly spec: DaemonSpec) {}

  async start(): Promise<void> {
    const { uid, gid } = frrIds();
    mkdirSync(this.runDir, { recursive: true });
    chownSync(this.runDir, uid, gid);
    // The daemons read their configuration as the frr user.
    chmodSync(this.spec.dir, 0o755);
    const conf = join(this.spec.dir, 'frr.conf');
    writeFileSync(conf, frrConfig(this.spec, this.runDir), { mode: 0o644 });
    for (const daemon of ['zebra', 'bgpd']) {
      runIn(this.spec.ns, `/usr/lib/frr/${daemon}`, ['-N', this.name, '-d', '-f', conf, '-P', '0']);
      this.pids.push(await readPidFile(join(this.runDir, `${daemon}.pid`), daemon));
    }
    // bgpd resets sessions that arrive before zebra told it about the interfaces
    // ("nexthop_set failed"): wait for its zebra client to be registered.
    await until('bgpd to register with zebra', () => /\bbgp\b/.test(this.vtysh('show zebra client summary')));
  }

  vtysh(...commands: string[]): string {
    return runIn(this.spec.ns, 'vtysh', ['-N', this.name, ...commands.flatMap((c) => ['-c', c])]);
  }

  established(neighbor: string): boolean {
    const json = JSON.parse(this.vtysh(`show bgp neighbors ${neighbor} json`)) as Record<string, { bgpState?: string }>;
    return json[neighbor]?.bgpState === 'Established';
  }

  private paths(family: 4 | 6): Record<string, FrrPath[]> {
    return (JSON.parse(this.vtysh(`show bgp ${family === 4 ? 'ipv4' : 'ipv6'} unicast json`)) as { routes?: Record<string, FrrPath[]> }).routes ?? {};
  }

  keepsStaleRoutes(neighbor: string): boolean {
    return Object.values(this.paths(familyOf(neighbor))).some((paths) => paths.some((p) => p.peerId === neighbor && p.stale === true));
  }

  routes(family: 4 | 6): Map<string, DaemonRoute> {
    const out = new Map<string, DaemonRoute>();
    for (const [prefix, paths] of Object.entries(this.paths(family))) {
      // Only what BGP learned from a neighbour; FRR's own `network` routes have no peer.
      const learned = paths.filter((p) => p.peerId !== undefined && p.peerId !== '(unspec)');
      const best = learned.find((p) => p.bestpath) ?? learned[0];
      if (!best) continue;
      const global = best.nexthops?.find((h) => h.scope !== 'link-local') ?? best.nexthops?.[0];
      out.set(prefix, { nextHop: global?.ip ?? '', detail: JSON.stringify(best) });
    }
    return out;
  }

  private network(prefix: string, add: boolean): void {
    this.vtysh('configure terminal', `router bgp ${this.spec.asn}`, `address-family ${familyOf(prefix) === 4 ? 'ipv4' : 'ipv6'} unicast`, `${add ? '' : 'no '}network ${prefix}`);
  }

  announce(prefix: string): void {
    this.network(prefix, true);
  }

  withdraw(prefix: string): void {
    this.network(prefix, false);
  }

  async stop(): Promise<void> {
    for (const pid of this.pids.splice(0).reverse()) await killPid(pid);
    rmSync(this.runDir, { recursive: true, force: true });
  }
}

/** FRR (zebra + bgpd) as a matrix entry. */
export const FRR: DaemonAdapter = {
  name: 'FRR',
  async start(spec) {
    const frr = new Frr(spec);
    try {
      await frr.start();
    } catch (error) {
      await frr.stop();
      throw error;
    }
    return frr;
  },
};
