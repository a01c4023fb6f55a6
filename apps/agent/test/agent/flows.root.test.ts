// Flows end to end, as root, for both dataplanes: the real `twill-agent` (from the
// sources) in a scratch node namespace, pods added through the installed conflist, an
// allow and a deny policy from the datastore, real TCP connections allowed and denied;
// then a @twill/flows client on the agent's observer socket reads what a user of
// `twill observe` would: each flow's verdict, endpoints and deciding rule, filtered
// streams, a followed stream, and a burst beyond the budget counted as lost.
import { execFile } from 'node:child_process';
import { BlockList } from 'node:net';

import { loadNetworkConfigListFromDir } from '@twill/cni-core';
import { connectObserver, type Flow, type GetFlowsRequest, type GetFlowsResponse, type ObserverClient } from '@twill/flows';
import { rootSkipReason, type ScratchNetns } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { type AgentResource } from '../../src/agent/ports.js';
import { NodeLab, podIp, startTcpServer, tcpConnect } from '../plugin/node-lab.js';
import { RealAgent } from './real-agent.js';

const reason = rootSkipReason();
// The smallest budget the configuration takes: a burst of a few thousand packets is over it.
const BUDGET = 1000;

const POLICIES: AgentResource[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
  ...[['p0', 'server'], ['p1', 'client'], ['p2', 'other']].map(([name, app]) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: name!, namespace: 'shop', labels: { app: app! } },
    spec: { containers: [{ name: 'c', image: 'img' }] },
  })),
  // Allow: the server takes TCP 8080 from the client only (Kubernetes).
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'server-from-client', namespace: 'shop' },
    spec: { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }] },
  },
  // Deny: nobody reaches the server's TCP 9090 (Calico, before the Kubernetes policy).
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'NetworkPolicy',
    metadata: { name: 'deny-9090', namespace: 'shop' },
    spec: { order: 100, selector: "app == 'server'", types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [9090] } }] },
  },
];

// Sends `count` UDP datagrams from inside `ns` to host:port as fast as it can.
const BURST = `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(8);let n=+process.argv[3];const go=()=>{for(let i=0;i<256&&n>0;i++,n--)s.send(b,+process.argv[2],process.argv[1]);if(n>0)setImmediate(go);else setTimeout(()=>process.exit(0),200)};go()`;
function udpBurst(ns: ScratchNetns, host: string, port: number, count: number): Promise<void> {
  return new Promise((resolve) => execFile('ip', ['netns', 'exec', ns.name, process.execPath, '-e', BURST, host, String(port), String(count)], () => resolve()));
}

async function collect(client: ObserverClient, request: GetFlowsRequest): Promise<GetFlowsResponse[]> {
  const responses: GetFlowsResponse[] = [];
  for await (const response of client.getFlows(request)) responses.push(response);
  return responses;
}

const flowsOf = (responses: readonly GetFlowsResponse[]): Flow[] => responses.flatMap((r) => ('flow' in r ? [r.flow] : []));
const port = (flow: Flow): number | undefined => (flow.l4 !== undefined && 'TCP' in flow.l4 ? flow.l4.TCP.destinationPort : flow.l4 !== undefined && 'UDP' in flow.l4 ? flow.l4.UDP.destinationPort : undefined);

describe.skipIf(reason).each(['nftables', 'ebpf'] as const)(`twill-agent flows on a scratch node with the %s dataplane, as root${reason ? ` (skipped: ${reason})` : ''}`, (driver) => {
  let lab: NodeLab;
  let agent: RealAgent;
  let client: ObserverClient | undefined;
  const stops: (() => void)[] = [];

  beforeEach(async () => {
    lab = await NodeLab.create();
    // Dual-stack: each pod gets an IPv4 and an IPv6 address.
    agent = new RealAgent(lab, { dataplane: driver, dualStack: true, flows: `capacity: 8192, budgetPerSecond: ${BUDGET}` });
    client = undefined;
  });

  afterEach(async () => {
    client?.close();
    for (const stop of stops.splice(0)) stop();
    await agent.kill();
    // The nft table, the tc programs and (eBPF) the agent's private bpffs go with the namespaces.
    await lab.cleanup();
  });

  it('records allowed and denied connections with their endpoints and deciding rules, filters them, follows new ones, and counts a burst over the budget as lost', { timeout: 240_000 }, async () => {
    const confDir = agent.confDir;
    const socket = agent.flowsSocket;
    const install = await agent.installCni();
    expect(install.code).toBe(0);

    // Policies and pods' labels first: enforcement is in place from each pod's ADD.
    // The stored objects' resourceVersions: what flows carry as their policies' revisions.
    const revisions = new Map<string, number>((await agent.apply(POLICIES)).map(({ resource }) => [resource.metadata.name, Number(resource.metadata.resourceVersion)]));

    await agent.start();
    expect(JSON.parse((await agent.http('/readyz')).body)).toMatchObject({ parts: expect.arrayContaining([{ name: 'flows', ready: true }]) });

    const list = await loadNetworkConfigListFromDir('twill-test', confDir);
    const runtime = lab.runtime();
    const pods = [lab.scratch.netns(), lab.scratch.netns(), lab.scratch.netns()];
    const results = await Promise.all(pods.map((pod, i) => runtime.add(list, { containerId: `pod-${i}`, netns: pod.path, ifName: 'eth0', args: [['K8S_POD_NAMESPACE', 'shop'], ['K8S_POD_NAME', `p${i}`]] })));
    const ips = results.map((result) => podIp(result));
    const ips6 = results.map((result) => podIp(result, 1));
    expect(ips6.every((ip) => ip.startsWith('fd00:10:244:'))).toBe(true);
    const [server, clientPod, other] = pods as [ScratchNetns, ScratchNetns, ScratchNetns];
    stops.push(await startTcpServer(server, 8080), await startTcpServer(server, 9090));

    // Allowed, denied by isolation, denied by the Deny rule.
    expect(await tcpConnect(clientPod, ips[0]!, 8080)).toBe(`hello from ${server.name}`);
    expect(await tcpConnect(other, ips[0]!, 8080)).toMatch(/^(timeout|E[A-Z]+)$/u);
    expect(await tcpConnect(clientPod, ips[0]!, 9090)).toMatch(/^(timeout|E[A-Z]+)$/u);
    // The same over IPv6 (neighbour discovery to the isolated server passes: no static entries), allowed, and denied by the Deny rule.
    expect(await tcpConnect(clientPod, ips6[0]!, 8080)).toBe(`hello from ${server.name}`);
    expect(await tcpConnect(clientPod, ips6[0]!, 9090)).toMatch(/^(timeout|E[A-Z]+)$/u);

    client = connectObserver(`unix://${socket}`, { timeoutMs: 10_000 });
    const attribution = driver === 'ebpf' ? 'kernel' : 'evaluated';
    const atServer = (flows: readonly Flow[], from: string, to: number, verdict: string, ipVersion = 'IPv4'): Flow[] =>
      flows.filter((f) => f.trafficDirection === 'INGRESS' && f.IP.ipVersion === ipVersion && f.source.podName === from && f.destination.podName === 'p0' && port(f) === to && f.verdict === verdict);
    let all: Flow[] = [];
    await vi.waitFor(
      async () => {
        all = flowsOf(await collect(client!, { number: 8192 }));
        expect(atServer(all, 'p1', 8080, 'FORWARDED')).not.toEqual([]);
        expect(atServer(all, 'p2', 8080, 'DROPPED')).not.toEqual([]);
        expect(atServer(all, 'p1', 9090, 'DROPPED')).not.toEqual([]);
        expect(atServer(all, 'p1', 8080, 'FORWARDED', 'IPv6')).not.toEqual([]);
        expect(atServer(all, 'p1', 9090, 'DROPPED', 'IPv6')).not.toEqual([]);
      },
      { timeout: 30_000, interval: 500 },
    );

    const [allowed] = atServer(all, 'p1', 8080, 'FORWARDED');
    expect(allowed).toMatchObject({
      nodeName: 'node-a',
      IP: { source: ips[1], destination: ips[0], ipVersion: 'IPv4' },
      source: { namespace: 'shop', podName: 'p1', labels: expect.arrayContaining(['k8s:app=client']) },
      destination: { namespace: 'shop', podName: 'p0', labels: expect.arrayContaining(['k8s:app=server']) },
      ingressAllowedBy: [{ name: 'server-from-client', namespace: 'shop', kind: 'NetworkPolicy' }],
      decidedBy: { reason: 'rule', direction: 'ingress', action: 'allow', rulePath: expect.stringMatching(/^spec\.ingress\[0\]/u), attribution, policy: { name: 'server-from-client' } },
    });
    const [isolated] = atServer(all, 'p2', 8080, 'DROPPED');
    // Both policies select the server for ingress, so both isolate it.
    expect(isolated).toMatchObject({
      dropReasonDesc: 'POLICY_DENIED',
      source: { podName: 'p2', labels: expect.arrayContaining(['k8s:app=other']) },
      decidedBy: { reason: 'isolated', attribution },
    });
    expect(isolated!.decidedBy!.isolatedBy!.map((p) => p.name).sort()).toEqual(['deny-9090', 'server-from-client']);
    expect(isolated!.ingressDeniedBy.map((p) => p.name).sort()).toEqual(['deny-9090', 'server-from-client']);
    const [denied] = atServer(all, 'p1', 9090, 'DROPPED');
    expect(denied).toMatchObject({
      dropReasonDesc: 'POLICY_DENY',
      ingressDeniedBy: [{ name: 'deny-9090', namespace: 'shop' }],
      decidedBy: { reason: 'rule', action: 'deny', rulePath: 'spec.ingress[0]', attribution, policy: { name: 'deny-9090' } },
    });
    // Each policy is named with its stored object's revision and its dialect.
    expect(denied!.decidedBy!.policy).toMatchObject({ revision: revisions.get('deny-9090'), labels: expect.arrayContaining(['k8s:io.twill.policy.dialect=calico', 'k8s:io.twill.policy.kind=NetworkPolicy']) });
    expect(allowed!.decidedBy!.policy).toMatchObject({ revision: revisions.get('server-from-client'), labels: expect.arrayContaining(['k8s:io.twill.policy.dialect=kubernetes']) });
    expect(revisions.get('deny-9090')).toBeGreaterThan(0);

    // IPv6: the same endpoints and deciding rules, with the pods' IPv6 addresses.
    const [allowed6] = atServer(all, 'p1', 8080, 'FORWARDED', 'IPv6');
    expect(allowed6).toMatchObject({
      IP: { source: ips6[1], destination: ips6[0], ipVersion: 'IPv6' },
      source: { namespace: 'shop', podName: 'p1', labels: expect.arrayContaining(['k8s:app=client']) },
      destination: { namespace: 'shop', podName: 'p0', labels: expect.arrayContaining(['k8s:app=server']) },
      ingressAllowedBy: [{ name: 'server-from-client', namespace: 'shop', kind: 'NetworkPolicy' }],
      decidedBy: { reason: 'rule', direction: 'ingress', action: 'allow', rulePath: expect.stringMatching(/^spec\.ingress\[0\]/u), attribution, policy: { name: 'server-from-client' } },
    });
    const [denied6] = atServer(all, 'p1', 9090, 'DROPPED', 'IPv6');
    expect(denied6).toMatchObject({
      IP: { source: ips6[1], destination: ips6[0], ipVersion: 'IPv6' },
      source: { namespace: 'shop', podName: 'p1' },
      destination: { namespace: 'shop', podName: 'p0' },
      dropReasonDesc: 'POLICY_DENY',
      ingressDeniedBy: [{ name: 'deny-9090', namespace: 'shop' }],
      decidedBy: { reason: 'rule', action: 'deny', rulePath: 'spec.ingress[0]', attribution, policy: { name: 'deny-9090' } },
    });

    // The kernel's verdict is never overridden: nothing says the kernel and the agent differ.
    expect(all.filter((f) => f.decidedBy?.message.includes('differ'))).toEqual([]);
    // Every drop says what decided it.
    expect(all.filter((f) => f.verdict === 'DROPPED' && f.decidedBy === undefined)).toEqual([]);

    // Filters give exactly the flows that match, of the same ring.
    const uuids = (flows: readonly Flow[]): string[] => flows.map((f) => f.uuid).sort();
    const dropped = flowsOf(await collect(client, { number: 8192, whitelist: [{ verdict: ['DROPPED'] }] }));
    const toServer = flowsOf(await collect(client, { number: 8192, whitelist: [{ destinationPod: ['shop/p0'] }] }));
    const to9090 = flowsOf(await collect(client, { number: 8192, whitelist: [{ destinationPort: ['9090'] }] }));
    const everything = flowsOf(await collect(client, { number: 8192 }));
    expect(dropped.length).toBeGreaterThan(0);
    expect(uuids(dropped)).toEqual(uuids(everything.filter((f) => f.verdict === 'DROPPED')));
    expect(uuids(toServer)).toEqual(uuids(everything.filter((f) => f.destination.namespace === 'shop' && f.destination.podName === 'p0')));
    expect(uuids(to9090)).toEqual(uuids(everything.filter((f) => port(f) === 9090)));
    // IPv6 address and CIDR filters: exactly the flows with those IPv6 addresses, the two above among them
    // (compared over the flows of one snapshot taken first, as below).
    const pool6 = new BlockList();
    pool6.addSubnet('fd00:10:244::', 116, 'ipv6');
    const snapshot6 = flowsOf(await collect(client, { number: 8192 }));
    const inSnapshot6 = new Set(uuids(snapshot6));
    const fromClient6 = flowsOf(await collect(client, { number: 8192, whitelist: [{ sourceIp: [ips6[1]!] }] })).filter((f) => inSnapshot6.has(f.uuid));
    const toPods6 = flowsOf(await collect(client, { number: 8192, whitelist: [{ destinationIp: ['fd00:10:244::/116'] }] })).filter((f) => inSnapshot6.has(f.uuid));
    expect(uuids(fromClient6)).toEqual(uuids(snapshot6.filter((f) => f.IP.source === ips6[1])));
    expect(uuids(toPods6)).toEqual(uuids(snapshot6.filter((f) => f.IP.ipVersion === 'IPv6' && pool6.check(f.IP.destination, 'ipv6'))));
    expect(uuids(fromClient6)).toEqual(expect.arrayContaining([allowed6!.uuid, denied6!.uuid]));
    expect(uuids(toPods6)).toEqual(expect.arrayContaining([allowed6!.uuid, denied6!.uuid]));
    // Replies: eBPF reports each connection's first reply at each end (the SYN-ACK), in the
    // connection's direction and allowed by its rule; nftables none (its allow events are
    // conntrack NEW events, its drops logged packets: neither is a reply).
    // Compared over the flows of one snapshot taken first (flows may still come in meanwhile: a retransmitted SYN).
    const snapshot = flowsOf(await collect(client, { number: 8192 }));
    const inSnapshot = new Set(uuids(snapshot));
    const replies = flowsOf(await collect(client, { number: 8192, whitelist: [{ reply: [true] }] })).filter((f) => inSnapshot.has(f.uuid));
    const requests = flowsOf(await collect(client, { number: 8192, whitelist: [{ reply: [false] }] })).filter((f) => inSnapshot.has(f.uuid));
    expect(uuids(replies)).toEqual(uuids(snapshot.filter((f) => f.isReply)));
    expect(uuids(requests)).toEqual(uuids(snapshot.filter((f) => !f.isReply)));
    if (driver === 'ebpf') {
      const serverReply = replies.find((f) => f.source.podName === 'p0' && f.destination.podName === 'p1' && f.l4 !== undefined && 'TCP' in f.l4 && f.l4.TCP.sourcePort === 8080 && f.trafficDirection === 'INGRESS');
      expect(serverReply, JSON.stringify(replies)).toMatchObject({
        verdict: 'FORWARDED',
        isReply: true,
        IP: { source: ips[0], destination: ips[1] },
        l4: { TCP: { flags: { SYN: true, ACK: true } } },
        ingressAllowedBy: [{ name: 'server-from-client', namespace: 'shop' }],
        decidedBy: { reason: 'rule', direction: 'ingress', action: 'allow', attribution: 'kernel', policy: { name: 'server-from-client' } },
      });
      // Drops are never replies, and only replies come from the server's port.
      expect(replies.filter((f) => f.verdict !== 'FORWARDED')).toEqual([]);
    } else {
      expect(replies).toEqual([]);
    }
    // Into the server, 9090 is only ever dropped (the client's own egress may be recorded as allowed).
    const into9090 = to9090.filter((f) => f.trafficDirection === 'INGRESS');
    expect(into9090.length).toBeGreaterThan(0);
    expect(into9090.filter((f) => f.verdict !== 'DROPPED')).toEqual([]);

    // follow: a new connection is seen as it happens.
    const abort = new AbortController();
    const followed = (async () => {
      for await (const response of client!.getFlows({ follow: true, number: 0, whitelist: [{ sourcePod: ['shop/p1'], destinationPort: ['8080'], trafficDirection: ['INGRESS'] }] }, abort.signal)) {
        if ('flow' in response) return response.flow;
      }
      return undefined;
    })();
    expect(await tcpConnect(clientPod, ips[0]!, 8080)).toBe(`hello from ${server.name}`);
    const next = await followed;
    abort.abort();
    expect(next).toMatchObject({ verdict: 'FORWARDED', source: { podName: 'p1' }, destination: { podName: 'p0' } });
    expect(uuids(all)).not.toContain(next!.uuid);

    // A burst of denied datagrams, well over the budget of a second: sampled, the rest lost.
    await udpBurst(other, ips[0]!, 8080, 20 * BUDGET);
    await vi.waitFor(
      async () => {
        const metrics = (await agent.http('/metrics')).body;
        const lost = Number(/^twill_flow_events_lost_total\{source="observer"\} (\d+)$/mu.exec(metrics)?.[1] ?? 0);
        expect(lost).toBeGreaterThan(0);
      },
      { timeout: 30_000, interval: 500 },
    );
    const stream = await collect(client, { number: 8192 });
    const lostEvents = stream.flatMap((r) => ('lostEvents' in r ? [r.lostEvents] : []));
    expect(lostEvents.filter((l) => l.source === 'observer').reduce((sum, l) => sum + l.numEventsLost, 0)).toBeGreaterThan(0);
    const metrics = (await agent.http('/metrics')).body;
    expect(metrics).toMatch(/^twill_flows_total\{verdict="FORWARDED"\} [1-9]\d*$/mu);
    expect(metrics).toMatch(/^twill_policy_drops_total\{reason="POLICY_DENY",policy="NetworkPolicy shop\/deny-9090"\} [1-9]\d*$/mu);
    expect(metrics).toMatch(/^twill_policy_drops_total\{reason="POLICY_DENIED",policy=""\} [1-9]\d*$/mu);

    const status = JSON.parse((await agent.http('/v1/status')).body) as { flows: { socket: string; listening: boolean; seen: number; lost: number; capacity: number } };
    expect(status.flows).toMatchObject({ socket, listening: true, capacity: 8192 });
    expect(status.flows.seen).toBeGreaterThan(0);
    expect(status.flows.lost).toBeGreaterThan(0);
  });
});
