// The nftables driver's flow reader against the kernel: a node namespace with pods over
// veths, a Kubernetes policy that isolates x/b (TCP/80 from x/a only), a Calico Deny of
// x/c's UDP, and x/d attached without rules (fail closed). Denied packets come back as
// deny events of the right endpoint, direction and drop kind; an allowed connection as
// one allow event per enforcement point; a burst the socket cannot hold as a lost count
// that, with the events delivered, adds up to what the kernel reported. The conntrack
// sockets' filters keep only the endpoints' connections: the node's own are neither read
// nor counted as lost.

import { execFileSync, spawnSync } from 'node:child_process';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  compileCalicoDocuments,
  compileNetworkPolicy,
  parseCalicoDocument,
  parseNetworkPolicy,
  PolicyIndex,
  type Endpoint,
  type PolicyIndexChange,
} from '@twill/policy-engine';
import { rootSkipReason } from '@twill/sys/testing';

import { createNftablesDataplane } from '../../../src/dataplane/nftables/index.js';
import { type NftablesDataplane } from '../../../src/dataplane/nftables/index.js';
import { type DataplaneFlowEvent, type DataplaneFlowReader } from '../../../src/dataplane/port.js';
import { DataplaneLab } from '../harness/index.js';

const reason = rootSkipReason('creates network namespaces, nft tables and netlink sockets in them');

const pod = (name: string, ip: string): Endpoint => ({ kind: 'workload', namespace: 'x', name, labels: { pod: name }, ips: [ip] });
const PODS = [pod('a', '10.1.1.1'), pod('b', '10.1.1.2'), pod('c', '10.1.1.3')];
const DROP_GROUP = 23;

const POLICIES: PolicyIndexChange[] = [
  { kind: 'upsert-policy', policy: compileNetworkPolicy(parseNetworkPolicy({
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'only-a', namespace: 'x' },
    spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ port: 80 }] }] },
  })) },
  ...compileCalicoDocuments([parseCalicoDocument({
    apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'default.no-udp', namespace: 'x' },
    spec: { selector: "pod == 'c'", types: ['Egress'], egress: [{ action: 'Deny', protocol: 'UDP' }, { action: 'Allow' }] },
  })]).policies.map((policy) => ({ kind: 'upsert-policy' as const, policy })),
];

/** Netlink sockets of NETLINK_NETFILTER (12) open in a namespace (/proc/net/netlink is the reader's namespace's). */
const netfilterSockets = (netns: string): number =>
  execFileSync('ip', ['netns', 'exec', netns, 'cat', '/proc/net/netlink'], { encoding: 'utf8' }).split('\n').slice(1).filter((l) => l.trim().split(/\s+/)[1] === '12').length;

/** Connections conntrack tracks in a namespace (net.netfilter.nf_conntrack_count; Linux 6.x no longer counts insertions in /proc/net/stat/nf_conntrack). */
const trackedConnections = (netns: string): number =>
  Number(execFileSync('ip', ['netns', 'exec', netns, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count'], { encoding: 'utf8' }).trim());

/** Waits, in loop turns, until `done` holds; fails naming `what` if it never does. */
async function until(what: string, done: () => boolean, turns = 400): Promise<void> {
  for (let i = 0; i < turns; i += 1) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never saw ${what}`);
}

describe.skipIf(reason)(`nftables flow reader as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: DataplaneLab;
  let reader: DataplaneFlowReader | undefined;
  let dataplane: NftablesDataplane;
  const events: DataplaneFlowEvent[] = [];
  const lost: [number, string][] = [];
  const errors: unknown[] = [];
  const handler = { events: (batch: readonly DataplaneFlowEvent[]) => events.push(...batch), lost: (count: number, source: string) => lost.push([count, source]), error: (error: unknown) => errors.push(error) };

  beforeEach(async () => {
    events.length = 0;
    lost.length = 0;
    errors.length = 0;
    lab = await DataplaneLab.create({ pods: [...PODS, pod('d', '10.1.1.4')].map((p) => ({ key: `x/${p.name}`, ip: p.ips[0] as string })), ports: [80] });
  });
  afterEach(async () => {
    reader?.close();
    reader = undefined;
    await dataplane.cleanup();
    lab.close();
  });

  async function start(options: { flowRecvBufferSize?: number } = {}): Promise<NftablesDataplane> {
    dataplane = await createNftablesDataplane({ netns: lab.node, dropLogGroup: DROP_GROUP, ...options });
    const index = new PolicyIndex();
    // x/d is attached but the index never hears of it: fail closed.
    await dataplane.apply({ policy: index.apply([...PODS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })), ...POLICIES]), attach: lab.attachments() });
    return dataplane;
  }

  const ifindexOf = (hostInterface: string): number =>
    Number(execFileSync('ip', ['netns', 'exec', lab.node, 'cat', `/sys/class/net/${hostInterface}/ifindex`], { encoding: 'utf8' }).trim());

  it('reports denied TCP and UDP as deny events and an allowed connection once per enforcement point', async () => {
    await start();
    // The nft -i session of the driver holds one already.
    const before = netfilterSockets(lab.node);
    const flows = dataplane.readFlows(handler);
    reader = flows;
    await flows.ready;
    // NFLOG, and a conntrack socket per direction.
    expect(netfilterSockets(lab.node)).toBe(before + 3);
    const ports = { tcpDenied: lab.nextSourcePort(), udpDenied: lab.nextSourcePort(), allowed: lab.nextSourcePort(), noEntry: lab.nextSourcePort() };
    expect(await lab.attempt({ from: 'x/c', to: 'x/b', port: 80, protocol: 'TCP' }, 300, ports.tcpDenied)).toBe(false);
    expect(await lab.attempt({ from: 'x/c', to: 'x/a', port: 80, protocol: 'UDP' }, 300, ports.udpDenied)).toBe(false);
    expect(await lab.attempt({ from: 'x/a', to: 'x/b', port: 80, protocol: 'TCP' }, 2000, ports.allowed)).toBe(true);
    expect(await lab.attempt({ from: 'x/d', to: 'x/a', port: 80, protocol: 'TCP' }, 300, ports.noEntry)).toBe(false);
    const of = (sourcePort: number) => events.filter((e) => e.sourcePort === sourcePort);
    await until('the events of all four probes', () => of(ports.tcpDenied).length > 0 && of(ports.udpDenied).length > 0 && of(ports.allowed).length >= 2 && of(ports.noEntry).length > 0);

    const [b, c, a, d] = ['x/b', 'x/c', 'x/a', 'x/d'].map((key) => ifindexOf(lab.pod(key).hostInterface));
    // A SYN retransmitted within the probe's wait is dropped (and logged) again: every event is the same.
    expect(new Set(of(ports.tcpDenied).map((e) => JSON.stringify({ ...e, timeMs: 0 })))).toEqual(new Set([JSON.stringify({
      timeMs: 0, ifindex: b, endpoint: 'x/b', direction: 'ingress', verdict: 'deny', reason: 'policy', dropKind: 'isolated',
      protocol: 6, source: '10.1.1.3', destination: '10.1.1.2', sourcePort: ports.tcpDenied, destinationPort: 80, tcpFlags: 0x02,
    })]));
    expect(of(ports.udpDenied).map((e) => ({ ...e, timeMs: 0 }))).toEqual([{
      timeMs: 0, ifindex: c, endpoint: 'x/c', direction: 'egress', verdict: 'deny', reason: 'policy', dropKind: 'deny',
      protocol: 17, source: '10.1.1.3', destination: '10.1.1.1', sourcePort: ports.udpDenied, destinationPort: 80,
    }]);
    // Each direction from its own socket: in whichever order the event loop read them.
    expect(of(ports.allowed).map((e) => ({ ...e, timeMs: 0 })).sort((x, y) => x.direction.localeCompare(y.direction))).toEqual([
      { timeMs: 0, ifindex: a, endpoint: 'x/a', direction: 'egress', verdict: 'allow', reason: 'policy', protocol: 6, source: '10.1.1.1', destination: '10.1.1.2', sourcePort: ports.allowed, destinationPort: 80 },
      { timeMs: 0, ifindex: b, endpoint: 'x/b', direction: 'ingress', verdict: 'allow', reason: 'policy', protocol: 6, source: '10.1.1.1', destination: '10.1.1.2', sourcePort: ports.allowed, destinationPort: 80 },
    ]);
    expect(of(ports.noEntry)[0]).toMatchObject({ ifindex: d, endpoint: 'x/d', direction: 'egress', verdict: 'deny', reason: 'no-entry', dropKind: 'no-entry', sourcePort: ports.noEntry });
    // Times are the kernel's wall clock, around now.
    for (const e of events) expect(Math.abs(e.timeMs - Date.now())).toBeLessThan(60_000);
    expect(lost).toEqual([]);
    expect(errors).toEqual([]);

    flows.close();
    reader = undefined;
    expect(netfilterSockets(lab.node)).toBe(before);
    const seen = events.length;
    expect(await lab.attempt({ from: 'x/c', to: 'x/b', port: 80, protocol: 'TCP' }, 300)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toHaveLength(seen);
  }, 60_000);

  it('counts what a burst beyond the socket\'s queue lost, so that events and lost add up to the packets dropped', async () => {
    const flows = (await start()).readFlows(handler);
    reader = flows;
    await flows.ready;
    // The NFLOG socket keeps the namespace's default receive buffer (net.core.rmem_default,
    // 208 KiB): 5,000 messages of ~200 bytes in skbs of ~4 KiB do not fit.
    const burst = 5000;
    // The sender runs while this process is blocked in spawnSync: nothing reads the socket.
    const sender = `
      const s = require('node:dgram').createSocket('udp4');
      let done = 0;
      for (let i = 0; i < ${burst}; i += 1) s.send(Buffer.from('x'), 80, '10.1.1.1', () => { done += 1; if (done === ${burst}) s.close(); });
    `;
    const run = spawnSync('ip', ['netns', 'exec', lab.pod('x/c').netns, process.execPath, '-e', sender], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    // Every drop rule logs to the group, and the sequence numbers count them all (the node's
    // IPv6 neighbour discovery into isolated x/b too): the sum is over all of them.
    const denied = () => events.filter((e) => e.verdict === 'deny').length;
    const nflogLost = () => lost.filter(([, source]) => source === 'nflog').reduce((n, [count]) => n + count, 0);
    // What the kernel dropped (and logged): the packets counters of the drop rules.
    const dropped = (): number => {
      const listing = JSON.parse(execFileSync('ip', ['netns', 'exec', lab.node, 'nft', '-j', 'list', 'table', 'inet', 'twill'], { encoding: 'utf8' })) as { nftables: { rule?: { expr: Record<string, { packets?: number; prefix?: string }>[] } }[] };
      return listing.nftables.reduce((n, o) => {
        const expr = o.rule?.expr ?? [];
        return expr.some((e) => e.log?.prefix?.startsWith('twill:') === true) ? n + (expr.find((e) => e.counter !== undefined)?.counter?.packets ?? 0) : n;
      }, 0);
    };
    let last: [number, number, number, string] = [0, 0, 0, ''];
    let added = false;
    for (let check = 0; check < 60 && !added; check += 1) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      last = [denied(), nflogLost(), dropped(), JSON.stringify(lost.slice(-6))];
      added = last[0] + last[1] === last[2];
      // Messages lost after the last one read show as a gap only when a later one comes: one
      // more denied packet, awaited, so that none is in flight at the next check.
      if (!added) await lab.attempt({ from: 'x/c', to: 'x/a', port: 80, protocol: 'UDP' }, 200);
    }
    if (!added) throw new Error(`never saw deny events and lost counts adding up to the packets the Deny rule dropped: ${last[0]} events + ${last[1]} lost, ${last[2]} dropped; last lost counts ${last[3]}`);
    expect(events.filter((e) => e.endpoint === 'x/c' && e.dropKind === 'deny').length + nflogLost()).toBeGreaterThan(burst / 2);
    expect(nflogLost()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  }, 60_000);

  it('counts exactly the conntrack events a burst beyond a small receive buffer lost, none of the node\'s own connections, and keeps reading after it', async () => {
    // 2 x 128 KiB (the kernel doubles it) hold some 200 events of the 1,000 (an event's skb is about 1.3 KiB), on each socket.
    const flows = (await start({ flowRecvBufferSize: 128 * 1024 })).readFlows(handler);
    reader = flows;
    await flows.ready;
    // The neighbours resolved first, so that no packet of the burst waits for ARP (and is dropped by its queue).
    expect(await lab.attempt({ from: 'x/b', to: 'x/a', port: 80, protocol: 'UDP' }, 2000)).toBe(true);
    await until('the warm-up\'s allow events', () => events.filter((e) => e.protocol === 17 && e.source === '10.1.1.2').length === 2);
    // x/b's egress and x/a's ingress of each flow of the burst (the warm-up's two left out).
    const burstEvents = (): number => events.filter((e) => e.protocol === 17 && e.source === '10.1.1.2' && e.destination === '10.1.1.1').length - 2;
    const conntrackLost = (): number => lost.filter(([, source]) => source === 'conntrack').reduce((n, [count]) => n + count, 0);
    const tracked = trackedConnections(lab.node);
    // 1,000 UDP flows x/b -> x/a:80 (allowed: neither side isolates UDP), each from its own socket, and 500 of the
    // node's own to its loopback, while this process is blocked.
    const burst = 1000;
    const nodeFlows = 500;
    const sender = (count: number, to: string) => `
      const dgram = require('node:dgram');
      for (let i = 0; i < ${count}; i += 1) { const s = dgram.createSocket('udp4'); s.send(Buffer.from('x'), 80, '${to}', () => s.close()); }
    `;
    for (const [netns, count, to] of [[lab.node, nodeFlows, '127.0.0.1'], [lab.pod('x/b').netns, burst, '10.1.1.1']] as const) {
      const run = spawnSync('ip', ['netns', 'exec', netns, process.execPath, '-e', sender(count, to)], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
    }
    // Every flow reached the node's conntrack (none expires this soon: UDP's timeout is 30 s). Each of the burst is
    // a message on each socket, read or counted by its drop counter; the node's are on neither, and no drop.
    const confirmed = trackedConnections(lab.node) - tracked;
    expect(confirmed).toBe(burst + nodeFlows);
    let last = '';
    await until('delivered and lost conntrack events adding up to two per connection of the burst', () => {
      last = `${burstEvents()} delivered + ${conntrackLost()} lost, ${2 * burst} made`;
      return burstEvents() + conntrackLost() === 2 * burst;
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}: ${last}`);
    });
    expect(conntrackLost()).toBeGreaterThan(0);
    expect(burstEvents()).toBeGreaterThan(0);
    // Reading goes on: a new allowed connection is reported.
    const sourcePort = lab.nextSourcePort();
    expect(await lab.attempt({ from: 'x/a', to: 'x/b', port: 80, protocol: 'TCP' }, 2000, sourcePort)).toBe(true);
    await until('an allow event after the overrun', () => events.some((e) => e.sourcePort === sourcePort && e.endpoint === 'x/b' && e.direction === 'ingress'));
    expect(errors).toEqual([]);
  }, 60_000);
});
