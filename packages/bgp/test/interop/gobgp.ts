// GoBGP as an interop peer: `gobgpd -f CONF` inside the namespace, its API on the
// namespace's own loopback (so every instance may use the default port), queried with
// the `gobgp` CLI run in the same namespace (JSON). Announcements go into its global
// RIB with `gobgp global rib add`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { type DaemonAdapter, type DaemonRoute, type DaemonSpec, type RunningDaemon, familyOf, killPid, runIn, spawnIn, until } from './daemon.js';

const API = ['-u', '127.0.0.1', '-p', '50051'];

function gobgpConfig(spec: DaemonSpec): string {
  const lines = ['[global.config]', `  as = ${spec.asn}`, `  router-id = "${spec.routerId}"`, '  port = 179'];
  for (const n of spec.neighbors) {
    const family = familyOf(n.address) === 4 ? 'ipv4-unicast' : 'ipv6-unicast';
    lines.push('[[neighbors]]', '  [neighbors.config]', `    neighbor-address = "${n.address}"`, `    peer-as = ${n.asn}`);
    if (n.password !== undefined) lines.push(`    auth-password = "${n.password}"`);
    lines.push('  [neighbors.transport.config]', `    local-address = "${n.localAddress}"`, `    passive-mode = ${n.passive !== false}`);
    lines.push('  [neighbors.timers.config]', `    hold-time = ${n.holdTime ?? 9}`, '    keepalive-interval = 3', '    connect-retry = 1');
    if (n.gracefulRestart) lines.push('  [neighbors.graceful-restart.config]', '    enabled = true', `    restart-time = ${n.restartTime ?? 30}`);
    lines.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${family}"`);
    if (n.gracefulRestart) lines.push('    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true');
  }
  return `${lines.join('\n')}\n`;
}

interface GobgpPath {
  readonly best?: boolean;
  readonly stale?: boolean;
  readonly 'source-id'?: string;
  readonly 'neighbor-ip'?: string;
  readonly attrs?: readonly { readonly type: number; readonly nexthop?: string; readonly value?: unknown }[];
}

class Gobgp implements RunningDaemon {
  private pid = 0;

  constructor(readonly spec: DaemonSpec) {}

  async start(): Promise<void> {
    const conf = join(this.spec.dir, 'gobgpd.toml');
    writeFileSync(conf, gobgpConfig(this.spec));
    this.pid = spawnIn(this.spec.ns, 'gobgpd', ['-f', conf, '--api-hosts', '127.0.0.1:50051', '--log-level', 'info'], join(this.spec.dir, 'gobgpd.log'));
    await until('gobgpd to answer', () => {
      this.gobgp('global');
      return true;
    });
    for (const p of this.spec.announce) this.announce(p);
  }

  gobgp(...args: string[]): string {
    return runIn(this.spec.ns, 'gobgp', [...API, ...args]);
  }

  established(neighbor: string): boolean {
    const json = JSON.parse(this.gobgp('neighbor', neighbor, '-j')) as { state?: { session_state?: number | string } };
    const state = json.state?.session_state;
    // The API's enum: 6 = ESTABLISHED.
    return state === 6 || state === 'ESTABLISHED' || state === 'established';
  }

  private paths(family: 4 | 6): Record<string, GobgpPath[]> {
    return JSON.parse(this.gobgp('global', 'rib', '-a', family === 4 ? 'ipv4' : 'ipv6', '-j')) as Record<string, GobgpPath[]>;
  }

  keepsStaleRoutes(neighbor: string): boolean {
    return Object.values(this.paths(familyOf(neighbor))).some((paths) => paths.some((p) => p['neighbor-ip'] === neighbor && p.stale === true));
  }

  routes(family: 4 | 6): Map<string, DaemonRoute> {
    const json = this.paths(family);
    const out = new Map<string, DaemonRoute>();
    for (const [prefix, paths] of Object.entries(json)) {
      const learned = paths.filter((p) => p['neighbor-ip'] !== undefined && p['neighbor-ip'] !== '<nil>' && p['source-id'] !== '<nil>');
      const best = learned.find((p) => p.best) ?? learned[0];
      if (!best) continue;
      const nextHop = best.attrs?.find((a) => a.type === 3 || a.type === 14)?.nexthop ?? '';
      out.set(prefix, { nextHop, detail: JSON.stringify(best) });
    }
    return out;
  }

  announce(prefix: string): void {
    this.gobgp('global', 'rib', 'add', '-a', familyOf(prefix) === 4 ? 'ipv4' : 'ipv6', prefix);
  }

  withdraw(prefix: string): void {
    this.gobgp('global', 'rib', 'del', '-a', familyOf(prefix) === 4 ? 'ipv4' : 'ipv6', prefix);
  }

  async stop(): Promise<void> {
    if (this.pid > 0) await killPid(this.pid);
    this.pid = 0;
  }
}

/** GoBGP as a matrix entry. */
export const GOBGP: DaemonAdapter = {
  name: 'GoBGP',
  async start(spec) {
    const gobgp = new Gobgp(spec);
    try {
      await gobgp.start();
    } catch (error) {
      await gobgp.stop();
      throw error;
    }
    return gobgp;
  },
};
