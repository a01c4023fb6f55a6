// The flow reader over fake sockets: datagrams in, batches of events, lost counts and
// errors out. The garbled-message corpus must never throw out of the reader; each
// message it cannot read is reported through handler.error and reading goes on.

import { afterEach, describe, expect, it } from 'vitest';

import { compileNetworkPolicy, endpointHash, parseNetworkPolicy, PolicyIndex, type Endpoint } from '@twill/policy-engine';
import type { SocketFilterInstruction } from '@twill/sys';

import { encodeAttribute, encodeNfMessage } from '../../../../src/dataplane/nftables/flows/netlink.js';
import { FlowEndpoints, NftablesDataplane, readKernelTable, startFlowReader, type NetfilterSocketEvents, type NftPort, type OpenNetfilterSocket } from '../../../../src/dataplane/nftables/index.js';
import { type DataplaneFlowEvent } from '../../../../src/dataplane/port.js';
import { runFilter } from './cbpf.js';
import { CT_NEW_TCP, ipv4Tcp, NFLOG_TCP_SYN, NFLOG_UDP, nflogPacket } from './fixtures.js';

/** Fake sockets: what the reader sent and joined, and a way to deliver datagrams and errors. */
class FakeKernel {
  readonly sockets: { groups: readonly number[]; recvBufferSize?: number; filter?: readonly SocketFilterInstruction[]; name?: string; events: NetfilterSocketEvents; sent: Uint8Array[]; resized: number[]; filters: (readonly SocketFilterInstruction[] | undefined)[]; closed: boolean }[] = [];
  /** What the fake kernel reads back as the receive buffer: twice what was asked, at most `cap`. */
  cap = Number.POSITIVE_INFINITY;
  refuse: 'nflog' | 'conntrack' | undefined;
  readonly open: OpenNetfilterSocket = (options, events) => {
    const kind = options.groups.length === 0 ? 'nflog' : 'conntrack';
    if (this.refuse === kind) throw Object.assign(new Error('socket: Operation not permitted'), { code: 'EPERM' });
    const socket = { ...options, events, sent: [] as Uint8Array[], resized: [] as number[], filters: [] as (readonly SocketFilterInstruction[] | undefined)[], closed: false };
    this.sockets.push(socket);
    let size = options.recvBufferSize;
    const cap = (): number => this.cap;
    return {
      send: (m) => socket.sent.push(m),
      setReceiveBuffer: (bytes) => {
        socket.resized.push(bytes);
        size = bytes;
      },
      get receiveBuffer() {
        return size === undefined ? undefined : { requested: size, effective: Math.min(2 * size, cap()) };
      },
      setFilter: (program) => socket.filters.push(program),
      close: () => { socket.closed = true; },
    };
  };

  get nflog(): NetfilterSocketEvents {
    const s = this.sockets.find((x) => x.groups.length === 0);
    if (s === undefined) throw new Error('no NFLOG socket');
    return s.events;
  }

  /** The conntrack socket of one direction, delivered to as is (its filter bypassed). */
  conntrackSocket(direction: 'egress' | 'ingress'): NetfilterSocketEvents {
    const s = this.sockets.find((x) => x.groups.length > 0 && x.name === `conntrack socket (${direction})`);
    if (s === undefined) throw new Error(`no conntrack socket (${direction})`);
    return s.events;
  }

  /** The conntrack sockets as the kernel delivers: each message to each socket whose (last) filter keeps it. */
  get conntrack(): { datagram(bytes: Uint8Array): void } {
    return {
      datagram: (bytes) => {
        for (const s of this.sockets.filter((x) => x.groups.length > 0 && !x.closed)) {
          // The last filter set (undefined: removed), else the one it was opened with.
          const filter = s.filters.length > 0 ? s.filters.at(-1) : s.filter;
          if (filter === undefined || runFilter(filter, bytes) !== 0) s.events.datagram(bytes);
        }
      },
    };
  }
}

interface Seen {
  batches: DataplaneFlowEvent[][];
  lost: [number, string][];
  errors: string[];
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** x/b attached on ifindex 3 at 10.1.1.2 (the fixtures' destination), x/a on 2 at 10.1.1.1. */
function lab(): FlowEndpoints {
  const endpoints = new FlowEndpoints();
  endpoints.attach('x/a', 'twa', 2);
  endpoints.attach('x/b', 'twb');
  endpoints.setAddresses('x/a', ['10.1.1.1']);
  endpoints.setAddresses('x/b', ['10.1.1.2/32', 'FD00:0:0::2']);
  return endpoints;
}

let reader: ReturnType<typeof startFlowReader> | undefined;
afterEach(() => reader?.close());

function start(kernel: FakeKernel, endpoints = lab(), dropLogGroup: number | null = 9): Seen {
  const seen: Seen = { batches: [], lost: [], errors: [] };
  reader = startFlowReader({ open: kernel.open, endpoints, now: () => 1000.5, recvBufferSize: 4096, ...(dropLogGroup === null ? {} : { dropLogGroup }) }, {
    events: (batch) => seen.batches.push([...batch]),
    lost: (count, source) => seen.lost.push([count, source]),
    error: (error) => seen.errors.push((error as Error).message),
  });
  return seen;
}

const hashB = endpointHash('x/b');

describe('nftables flow reader', () => {
  it('opens an NFLOG socket and configures the group, and a conntrack socket per direction on the new-connection group', () => {
    const kernel = new FakeKernel();
    start(kernel);
    // NFLOG's receive buffer is set once its setup is acknowledged (below), so a small one cannot lose the acknowledgements.
    expect(kernel.sockets.map((s) => [s.groups, s.recvBufferSize, s.name])).toEqual([[[], undefined, undefined], [[1], 4096, 'conntrack socket (egress)'], [[1], 4096, 'conntrack socket (ingress)']]);
    expect(kernel.sockets.slice(1).every((s) => s.filter !== undefined)).toBe(true);
    expect(kernel.sockets[0]?.resized).toEqual([]);
    const nflog = kernel.sockets[0];
    expect(nflog?.sent.map((m) => (m[4] ?? 0) | ((m[5] ?? 0) << 8))).toEqual([0x401, 0x401, 0x401, 0x401, 0x401, 0x401]);
    // Without a drop log group: conntrack only.
    const other = new FakeKernel();
    start(other, lab(), null);
    expect(other.sockets.map((s) => s.groups)).toEqual([[1], [1]]);
  });

  it('turns logged drops into deny events of the endpoint the prefix names, one batch per loop turn', async () => {
    const kernel = new FakeKernel();
    const endpoints = lab();
    const seen = start(kernel, endpoints);
    kernel.nflog.datagram(NFLOG_TCP_SYN);
    kernel.nflog.datagram(NFLOG_UDP);
    expect(seen.batches).toEqual([]);
    await turn();
    // The fixtures' prefix names dbcc90ee, the lab's x/b hash; the reader's lab is keyed the same.
    expect(hashB).toBe('dbcc90ee');
    expect(seen.batches).toEqual([[
      { timeMs: 1795893676876.287, ifindex: 3, endpoint: 'x/b', direction: 'ingress', verdict: 'deny', reason: 'policy', dropKind: 'isolated', protocol: 6, source: '10.1.1.3', destination: '10.1.1.2', sourcePort: 20716, destinationPort: 80, tcpFlags: 2 },
      { timeMs: 1795893677182.178, ifindex: 3, endpoint: 'x/b', direction: 'ingress', verdict: 'deny', reason: 'policy', dropKind: 'isolated', protocol: 17, source: '10.1.1.3', destination: '10.1.1.2', sourcePort: 20717, destinationPort: 80 },
    ]]);
    expect(seen.lost).toEqual([]);
    expect(seen.errors).toEqual([]);
    // The drop taught the reader x/b's ifindex: allow events carry it.
    kernel.conntrack.datagram(CT_NEW_TCP);
    await turn();
    expect(seen.batches[1]?.map((e) => [e.endpoint, e.direction, e.ifindex, e.verdict, e.rule])).toEqual([['x/a', 'egress', 2, 'allow', undefined], ['x/b', 'ingress', 3, 'allow', undefined]]);
    expect(seen.batches[1]?.[0]).toEqual({ timeMs: 1000.5, ifindex: 2, endpoint: 'x/a', direction: 'egress', verdict: 'allow', reason: 'policy', protocol: 6, source: '10.1.1.1', destination: '10.1.1.2', sourcePort: 20715, destinationPort: 80 });
  });

  it('survives a handler that throws: the error is reported and the batch counted as lost, and reading goes on', async () => {
    const kernel = new FakeKernel();
    const seen: Seen = { batches: [], lost: [], errors: [] };
    let calls = 0;
    reader = startFlowReader({ open: kernel.open, endpoints: lab(), now: () => 1000.5, dropLogGroup: 9 }, {
      events: (batch) => {
        calls += 1;
        if (calls === 1) throw new Error('the policy view failed');
        seen.batches.push([...batch]);
      },
      lost: (count, source) => seen.lost.push([count, source]),
      error: (error) => seen.errors.push((error as Error).message),
    });
    kernel.nflog.datagram(NFLOG_TCP_SYN);
    kernel.nflog.datagram(NFLOG_UDP);
    // Delivered from setImmediate: a throw there would be an uncaught exception.
    await turn();
    expect(seen.errors).toEqual(['the policy view failed']);
    expect(seen.lost).toEqual([[2, 'nftables-reader']]);
    kernel.nflog.datagram(NFLOG_UDP);
    await turn();
    expect(seen.batches.map((b) => b.map((e) => e.protocol))).toEqual([[17]]);
  });

  it('maps a no-entry drop to its reason, an egress drop to the incoming interface, and ignores other prefixes', async () => {
    const kernel = new FakeKernel();
    const seen = start(kernel);
    const payload = ipv4Tcp([10, 1, 1, 1], [8, 8, 8, 8], 40000, 53);
    kernel.nflog.datagram(nflogPacket({ seq: 0, prefix: `twill:no-entry:egress:${endpointHash('x/a')}`, indev: 2, payload }));
    kernel.nflog.datagram(nflogPacket({ seq: 1, prefix: 'twill:deny:egress:00000000', indev: 2, payload }));
    kernel.nflog.datagram(nflogPacket({ seq: 2, prefix: 'audit', indev: 2, payload }));
    kernel.nflog.datagram(nflogPacket({ seq: 3, indev: 2, payload }));
    await turn();
    expect(seen.batches.flat().map((e) => [e.endpoint, e.direction, e.ifindex, e.reason, e.dropKind, e.timeMs])).toEqual([
      ['x/a', 'egress', 2, 'no-entry', 'no-entry', 1000.5],
      // An unknown hash: the interface says which endpoint.
      ['x/a', 'egress', 2, 'policy', 'deny', 1000.5],
    ]);
    expect(seen.lost).toEqual([]);
  });

  it('counts lost NFLOG messages from sequence gaps, and at least one per ENOBUFS without counting twice; conntrack ones from the drop counter', async () => {
    const kernel = new FakeKernel();
    const seen = start(kernel);
    const drop = (seq: number) => nflogPacket({ seq, prefix: `twill:deny:ingress:${hashB}`, outdev: 3, payload: ipv4Tcp([10, 1, 1, 3], [10, 1, 1, 2], 1, 80) });
    kernel.nflog.datagram(drop(10));
    kernel.nflog.datagram(drop(11));
    kernel.nflog.datagram(drop(15)); // 12, 13, 14 lost
    kernel.nflog.error({ code: 'ENOBUFS', message: 'recvmsg ENOBUFS' });
    kernel.nflog.datagram(drop(20)); // 16-19 lost: 4, one of them reported with the ENOBUFS
    kernel.nflog.error({ code: 'ENOBUFS', message: 'recvmsg ENOBUFS' });
    kernel.nflog.error({ code: 'ENOBUFS', message: 'recvmsg ENOBUFS' });
    kernel.nflog.datagram(drop(22)); // 21 lost, already counted by the ENOBUFS (one too many, the kernel said twice)
    kernel.nflog.datagram(drop(0xffffffff));
    kernel.nflog.datagram(drop(0)); // wraps: no gap
    // NFLOG's drop counter counts batches: the gaps above counted their packets already.
    kernel.nflog.dropped(2);
    // Each conntrack socket's drops are events of its direction; ENOBUFS (no drop counter) is at least one.
    kernel.conntrackSocket('egress').dropped(37);
    kernel.conntrack.datagram(CT_NEW_TCP);
    kernel.conntrackSocket('ingress').dropped(1);
    kernel.conntrackSocket('ingress').error({ code: 'ENOBUFS', message: 'read conntrack socket (ingress): ENOBUFS' });
    await turn();
    expect(seen.lost).toEqual([[3, 'nflog'], [1, 'nflog'], [3, 'nflog'], [1, 'nflog'], [1, 'nflog'], [37, 'conntrack'], [1, 'conntrack'], [1, 'conntrack']]);
    expect(seen.lost.filter(([, s]) => s === 'nflog').reduce((n, [c]) => n + c, 0)).toBe(3 + 4 + 2);
    expect(seen.batches.flat()).toHaveLength(7 + 2);
    expect(seen.errors).toEqual([]);
  });

  it('reports a group another socket holds, and a socket it cannot open, and goes on with the other', async () => {
    const kernel = new FakeKernel();
    const seen = start(kernel);
    // NLMSG_ERROR EBUSY answering seq 5 (the group bind), and a refused family bind (seq 2), which does not matter.
    const answer = (seq: number, errno: number) => encodeNfMessage({ type: 2, flags: 0, seq, family: 0, resourceId: 0, attributes: [] }).map((b, i) => (i >= 16 && i < 20 ? (i === 16 ? (-errno & 0xff) : errno === 0 ? 0 : 0xff) : b));
    kernel.nflog.datagram(answer(2, 22));
    kernel.nflog.datagram(answer(5, 16));
    kernel.nflog.datagram(answer(6, 0));
    expect(seen.errors).toEqual(['NFLOG bind group 9: EBUSY (another socket of this network namespace is bound to the group)']);
    // Every required step answered: ready (the conntrack socket receives once opened), and the receive buffer set.
    await expect(reader?.ready).resolves.toBeUndefined();
    expect(kernel.sockets[0]?.resized).toEqual([4096]);
    kernel.nflog.datagram(answer(6, 0));
    expect(kernel.sockets[0]?.resized).toEqual([4096]);

    const refused = new FakeKernel();
    refused.refuse = 'nflog';
    const seen2 = start(refused);
    expect(seen2.errors).toEqual(['cannot open the NFLOG socket for group 9: socket: Operation not permitted']);
    refused.conntrack.datagram(CT_NEW_TCP);
    await turn();
    expect(seen2.batches.flat()).toHaveLength(2);
    kernel.nflog.error({ code: 'EIO', message: 'recvmsg EIO' });
    expect(seen.errors.at(-1)).toBe('NFLOG socket: recvmsg EIO');
  });

  it('reports every garbled message of the corpus without throwing, and reads the good ones around them', async () => {
    const kernel = new FakeKernel();
    const seen = start(kernel);
    const attr = (type: number, bytes: number[]) => encodeAttribute(type, new Uint8Array(bytes));
    const nfmsg = (type: number, attributes: Uint8Array[]) => encodeNfMessage({ type, flags: 0, seq: 0, family: 2, resourceId: 9, attributes });
    const conntrackEgress = kernel.conntrackSocket('egress');
    const sockets = { nflog: kernel.nflog, conntrack: conntrackEgress };
    const corpus: [string, Uint8Array, 'nflog' | 'conntrack'][] = [
      ['a header cut short', NFLOG_UDP.subarray(0, 12), 'nflog'],
      ['a length beyond the datagram', NFLOG_UDP.subarray(0, 150), 'nflog'],
      ['a length below the header', new Uint8Array([4, 0, 0, 0, 0, 4, ...new Uint8Array(10)]), 'nflog'],
      ['no nfgenmsg', new Uint8Array([17, 0, 0, 0, 0, 4, ...new Uint8Array(11)]), 'nflog'],
      ['an attribute overrunning the message', nfmsg(0x400, [new Uint8Array([0x40, 0, 9, 0, 1, 2, 3, 4])]), 'nflog'],
      ['a short packet header', nfmsg(0x400, [attr(1, [8])]), 'nflog'],
      ['a short timestamp', nfmsg(0x400, [attr(3, [0, 0, 0, 1])]), 'nflog'],
      ['a 3-byte ifindex', nfmsg(0x400, [attr(4, [0, 0, 1])]), 'nflog'],
      ['a drop without payload', nfmsg(0x400, [attr(10, [...Buffer.from(`twill:deny:ingress:${hashB}\0`)])]), 'nflog'],
      ['a drop whose payload is not IP', nfmsg(0x400, [attr(10, [...Buffer.from(`twill:deny:ingress:${hashB}\0`)]), attr(9, [0x12, 0x34])]), 'nflog'],
      ['a drop with a cut IPv4 header', nfmsg(0x400, [attr(10, [...Buffer.from(`twill:deny:ingress:${hashB}\0`)]), attr(9, [0x45, 0, 0, 40])]), 'nflog'],
      ['a short NLMSG_ERROR', new Uint8Array([18, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 'nflog'],
      ['a conntrack event without a tuple', nfmsg(0x100, []), 'conntrack'],
      ['a conntrack tuple of garbage', nfmsg(0x100, [attr(0x8001, [0xff, 0xff, 1, 0, 9, 9])]), 'conntrack'],
      ['a conntrack event cut in the middle', CT_NEW_TCP.subarray(0, 60), 'conntrack'],
      ['a conntrack event whose length field lies', Uint8Array.from(CT_NEW_TCP).fill(0xff, 0, 2), 'conntrack'],
      ['an empty datagram... then garbage', new Uint8Array([0xde, 0xad, 0xbe, 0xef]), 'conntrack'],
    ];
    for (const [name, bytes, socket] of corpus) {
      const before = seen.errors.length;
      // As the socket delivers it: the filter would have discarded most of these.
      expect(() => sockets[socket].datagram(bytes), name).not.toThrow();
      expect(seen.errors.length, name).toBe(before + 1);
    }
    // Truncations of a good message at every length: never a throw, an error for each cut.
    for (let cut = 1; cut < NFLOG_TCP_SYN.length; cut += 1) expect(() => kernel.nflog.datagram(NFLOG_TCP_SYN.subarray(0, cut))).not.toThrow();
    for (let cut = 1; cut < CT_NEW_TCP.length; cut += 1) expect(() => conntrackEgress.datagram(CT_NEW_TCP.subarray(0, cut))).not.toThrow();
    const errors = seen.errors.length;
    kernel.nflog.datagram(NFLOG_TCP_SYN);
    kernel.conntrack.datagram(CT_NEW_TCP);
    await turn();
    expect(seen.errors).toHaveLength(errors);
    expect(seen.batches.flat().map((e) => e.verdict)).toEqual(['deny', 'allow', 'allow']);
    expect(seen.errors.every((m) => m.length > 0)).toBe(true);
    expect(seen.errors.slice(0, 3)).toEqual([
      'NFLOG: netlink message at byte 0: 12 bytes left, shorter than the 16-byte header',
      'NFLOG: netlink message at byte 0: length 200 is outside 16..150',
      'NFLOG: netlink message at byte 0: length 4 is outside 16..16',
    ]);
  });

  it('hands over a batch early when it is full, and delivers what is pending when closed; nothing after', async () => {
    const kernel = new FakeKernel();
    const seen = start(kernel);
    // Each connection between two local endpoints is two events.
    for (let i = 0; i < 2048 + 10; i += 1) kernel.conntrack.datagram(CT_NEW_TCP);
    expect(seen.batches.map((b) => b.length)).toEqual([4096]);
    reader?.close();
    expect(seen.batches.map((b) => b.length)).toEqual([4096, 20]);
    expect(kernel.sockets.every((s) => s.closed)).toBe(true);
    await turn();
    expect(seen.batches).toHaveLength(2);
  });
});

describe('nftables flow reader, conntrack sockets', () => {
  it('filters each socket to the endpoints\' addresses and follows them: a connection of no endpoint is never an event', async () => {
    const kernel = new FakeKernel();
    const endpoints = lab();
    const seen = start(kernel, endpoints, null);
    kernel.conntrack.datagram(CT_NEW_TCP);
    await turn();
    // One message per socket whose filter kept it: x/a's egress, x/b's ingress.
    expect(seen.batches.flat().map((e) => [e.endpoint, e.direction])).toEqual([['x/a', 'egress'], ['x/b', 'ingress']]);
    // x/a leaves: both filters are replaced; its egress is no longer kept.
    endpoints.detach('x/a');
    expect(kernel.sockets.map((s) => s.filters.length)).toEqual([1, 1]);
    kernel.conntrack.datagram(CT_NEW_TCP);
    await turn();
    expect(seen.batches.flat().slice(2).map((e) => [e.endpoint, e.direction])).toEqual([['x/b', 'ingress']]);
    // Setting the same addresses again replaces nothing.
    endpoints.setAddresses('x/b', ['10.1.1.2', 'fd00::2']);
    expect(kernel.sockets.map((s) => s.filters.length)).toEqual([1, 1]);
    endpoints.setAddresses('x/b', []);
    kernel.conntrack.datagram(CT_NEW_TCP);
    await turn();
    expect(seen.batches.flat()).toHaveLength(3);
    reader?.close();
    // Closed: no more filter changes.
    endpoints.attach('x/c', 'twc');
    endpoints.setAddresses('x/c', ['10.1.1.3']);
    expect(kernel.sockets.map((s) => s.filters.length)).toEqual([2, 2]);
    expect(seen.errors).toEqual([]);
  });

  it('removes a filter it cannot replace (too many addresses for one program) rather than keep a stale one, and says so', async () => {
    const kernel = new FakeKernel();
    const endpoints = lab();
    const seen = start(kernel, endpoints, null);
    // x/a leaves (its egress no longer kept), then x/b gets more addresses than one program holds.
    endpoints.detach('x/a');
    const many = Array.from({ length: 2000 }, (_, i) => `10.2.${Math.floor(i / 250)}.${(i % 250) + 1}`);
    endpoints.setAddresses('x/b', ['10.1.1.2', ...many]);
    expect(kernel.sockets.filter((s) => s.groups.length > 0).map((s) => [s.filters.length > 0, s.filters.at(-1)])).toEqual([[true, undefined], [true, undefined]]);
    expect(seen.errors.length).toBeGreaterThan(0);
    // Unfiltered, the socket reads every message again: x/b's ingress event is not lost.
    kernel.conntrack.datagram(CT_NEW_TCP);
    await turn();
    expect(seen.batches.flat().map((e) => [e.endpoint, e.direction])).toEqual([['x/b', 'ingress']]);
    reader?.close();
  });

  it('says when a receive buffer is smaller than asked for, and gives the sizes in effect', () => {
    const kernel = new FakeKernel();
    kernel.cap = 6000;
    const seen = start(kernel, lab(), null);
    expect(seen.errors).toEqual([
      'conntrack socket (egress): receive buffer of 6000 bytes, not the 8192 asked for (4096, doubled): net.core.rmem_max caps it without CAP_NET_ADMIN, and a burst beyond it is lost',
      'conntrack socket (ingress): receive buffer of 6000 bytes, not the 8192 asked for (4096, doubled): net.core.rmem_max caps it without CAP_NET_ADMIN, and a burst beyond it is lost',
    ]);
    expect(reader?.receiveBuffers()).toEqual({ 'conntrack-egress': 6000, 'conntrack-ingress': 6000 });
  });
});

describe('nftables driver readFlows', () => {
  const pod = (name: string, ip: string): Endpoint => ({ kind: 'workload', namespace: 'x', name, labels: { pod: name }, ips: [ip] });
  const nft: NftPort = { apply: async () => undefined, check: async () => undefined, listTable: async () => undefined };

  it('learns attached endpoints\' addresses from their rules and ifindexes by lookup, one reader at a time', async () => {
    const kernel = new FakeKernel();
    const scripts: string[] = [];
    let setting = '2';
    const dataplane = new NftablesDataplane({
      nft: { ...nft, apply: async (s) => { scripts.push(s); } },
      adopted: readKernelTable(undefined), logGroup: 1, dropLogGroup: 9, now: () => 0,
      flows: { open: kernel.open, now: () => 7, resolveIfindexes: async (names) => new Map(names.map((n) => [n, n === 'twa' ? 12 : 13])), conntrackEventsSetting: () => setting },
    });
    const index = new PolicyIndex();
    const policy = compileNetworkPolicy(parseNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'x' }, spec: { podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Ingress'] } }));
    await dataplane.apply({ policy: index.apply([{ kind: 'upsert-endpoint', endpoint: pod('a', '10.1.1.1') }, { kind: 'upsert-endpoint', endpoint: pod('b', '10.1.1.2') }, { kind: 'upsert-policy', policy }]), attach: [{ key: 'x/a', hostInterface: 'twa' }, { key: 'x/b', hostInterface: 'twb' }] });
    expect(scripts.join('')).toContain(`counter log prefix "twill:isolated:ingress:${hashB}" group 9 drop`);
    const batches: DataplaneFlowEvent[][] = [];
    const errors: unknown[] = [];
    const handler = { events: (b: readonly DataplaneFlowEvent[]) => batches.push([...b]), lost: () => undefined, error: (e: unknown) => errors.push(e) };
    const flows = dataplane.readFlows(handler);
    expect(() => dataplane.readFlows(handler)).toThrow('a flow reader is open already: close it first');
    await turn();
    kernel.conntrack.datagram(CT_NEW_TCP);
    await turn();
    expect(batches.flat().map((e) => [e.endpoint, e.direction, e.ifindex, e.timeMs])).toEqual([['x/a', 'egress', 12, 7], ['x/b', 'ingress', 13, 7]]);
    // x/a leaves the node: its connections are no longer its events.
    await dataplane.apply({ policy: { changed: [], removed: [], ipcache: { set: [], removed: [] } }, detach: ['x/a'] });
    kernel.conntrack.datagram(CT_NEW_TCP);
    await turn();
    expect(batches.flat().slice(2).map((e) => [e.endpoint, e.direction])).toEqual([['x/b', 'ingress']]);
    flows.close();
    expect(kernel.sockets.every((s) => s.closed)).toBe(true);
    expect(errors).toEqual([]);
    // Conntrack events turned off in the namespace: said once, at the start.
    setting = '0';
    dataplane.readFlows(handler).close();
    expect(errors.map((e) => (e as Error).message)).toEqual(['net.netfilter.nf_conntrack_events is 0 where the driver enforces: no allow events until it is 1 (or 2, on while someone listens)']);
  });
});
