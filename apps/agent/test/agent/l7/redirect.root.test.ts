// The L7 redirect against the kernel, in scratch namespaces: a "node" namespace routing
// between two pod namespaces over veths (pod eth0 with one /32 and /128, default via the
// node; the node with a host route per pod), a transparent listener standing for the proxy
// in the node, and plain servers in pod B. Everything is removed after each test.
import { execFileSync } from 'node:child_process';
import { type AddressInfo, type Server, Socket, createServer } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { AF, SOCK, openSocket, openTransparentListener } from '@twill/sys';
import { NetworkScratch, type ScratchNetns, rootSkipReason } from '@twill/sys/testing';

import { L7Redirect } from '../../../src/agent/l7/sys/redirect.js';
import { type L7RedirectTargets, NO_L7_TARGETS } from '../../../src/agent/l7/redirect-targets.js';

const reason = rootSkipReason('creates network namespaces, nft tables, ip rules and routes');

const A = { 4: '10.71.0.1', 6: 'fd71::1' } as const;
const B = { 4: '10.71.0.2', 6: 'fd71::2' } as const;
const PROXY_PORT = 15001;

interface Lab {
  node: ScratchNetns;
  podA: ScratchNetns;
  podB: ScratchNetns;
  /** Pod A's host-side interface in the node. */
  hostA: string;
}

/** One connection's outcome: the first line the server answered, or the error code. */
interface Outcome {
  reply?: string;
  error?: string;
  socket?: Socket;
}

describe.skipIf(reason)(`L7 redirect as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  const redirects: L7Redirect[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    for (const r of redirects.splice(0)) await r.close().catch(() => undefined);
    scratch.cleanup();
  });

  /** The lab; `ipv6: false` turns IPv6 off in every namespace (`disable_ipv6`) before the links are made. */
  function lab(how: { ipv6?: boolean } = {}): Lab {
    const ipv6 = how.ipv6 !== false;
    const node = scratch.netns();
    const podA = scratch.netns();
    const podB = scratch.netns();
    if (!ipv6) for (const ns of [node, podA, podB]) scratch.exec(ns, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv6.conf.lo.disable_ipv6=1']);
    const a = scratch.veth(node, podA);
    const b = scratch.veth(node, podB);
    for (const [pod, link, self] of [[podA, a, A], [podB, b, B]] as const) {
      scratch.ip(pod, 'address', 'add', `${self[4]}/32`, 'dev', link.b);
      if (ipv6) scratch.ip(pod, 'address', 'add', `${self[6]}/128`, 'dev', link.b, 'nodad');
      scratch.ip(pod, 'route', 'add', '169.254.1.1', 'dev', link.b, 'scope', 'link');
      scratch.ip(pod, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', link.b);
      if (ipv6) scratch.ip(pod, '-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', link.b);
      // The node answers for the gateways on every pod link (the same address on each).
      scratch.ip(node, 'address', 'add', '169.254.1.1/32', 'dev', link.a);
      if (ipv6) scratch.ip(node, 'address', 'add', 'fe80::1/64', 'dev', link.a, 'nodad');
      scratch.ip(node, 'route', 'add', `${self[4]}/32`, 'dev', link.a);
      if (ipv6) scratch.ip(node, '-6', 'route', 'add', `${self[6]}/128`, 'dev', link.a);
    }
    scratch.exec(node, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', ...(ipv6 ? ['net.ipv6.conf.all.forwarding=1'] : [])]);
    return { node, podA, podB, hostA: a.a };
  }

  /** A server answering each line with `LABEL LOCAL-ADDRESS LOCAL-PORT REMOTE-ADDRESS`, on `address:port` in `ns`. */
  async function serve(ns: ScratchNetns, address: string, port: number, label: string): Promise<{ server: Server; accepted: () => number }> {
    let accepted = 0;
    const server = createServer((socket) => {
      accepted += 1;
      sockets.push(socket);
      socket.on('error', () => socket.destroy());
      socket.on('data', () => socket.write(`${label} ${socket.localAddress} ${socket.localPort} ${socket.remoteAddress}\n`));
    });
    servers.push(server);
    // A transparent socket is an ordinary one where nothing diverts to it: it serves pod B too.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd: openTransparentListener({ address, port, netns: ns.handle }) }, resolve);
    });
    expect((server.address() as AddressInfo).port).toBe(port);
    return { server, accepted: () => accepted };
  }

  /** Connects from `ns` to `address:port`, sends a line, and gives the first answer (or the error). */
  function attempt(ns: ScratchNetns, family: 4 | 6, address: string, port: number): Promise<Outcome> {
    const socket = new Socket({ fd: openSocket({ domain: family === 4 ? AF.INET : AF.INET6, type: SOCK.STREAM, netns: ns.handle }), readable: true, writable: true });
    sockets.push(socket);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ error: 'TIMEOUT' });
      }, 3000);
      socket.once('data', (data) => {
        clearTimeout(timer);
        resolve({ reply: data.toString().trim(), socket });
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ error: error.code ?? error.message });
      });
      socket.connect(port, address, () => socket.write('hello\n'));
    });
  }

  /** The next answer on an open connection, or its error. */
  function again(socket: Socket): Promise<Outcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ error: 'TIMEOUT' }), 3000);
      socket.once('data', (data) => {
        clearTimeout(timer);
        resolve({ reply: data.toString().trim() });
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ error: error.code ?? error.message });
      });
      socket.write('again\n');
    });
  }

  function start(node: ScratchNetns, options: ConstructorParameters<typeof L7Redirect>[0] = {}): L7Redirect {
    const redirect = new L7Redirect({ netns: node.name, proxyPort: PROXY_PORT, ...options });
    redirects.push(redirect);
    return redirect;
  }

  const tables = (ns: ScratchNetns): string => scratch.exec(ns, 'nft', ['list', 'tables']);
  const rules = (ns: ScratchNetns, family: 4 | 6): { priority: number; table: string; fwmark?: string; fwmask?: string }[] =>
    JSON.parse(scratch.ip(ns, '-j', `-${family}`, 'rule', 'show')) as { priority: number; table: string }[];
  const routes = (ns: ScratchNetns, family: 4 | 6, table: number): { type?: string; dst: string; dev?: string }[] =>
    JSON.parse(scratch.ip(ns, '-j', `-${family}`, 'route', 'show', 'table', String(table))) as { dst: string }[];

  const ingress = (address: string, port: number): L7RedirectTargets => ({ ingress: [{ address, ports: [{ first: port, last: port }] }], egress: [] });

  it.each([4, 6] as const)('sends protected connections to the proxy with their destination kept, and only those (IPv%i)', async (family) => {
    const { node, podA, podB, hostA } = lab();
    const any = family === 4 ? '0.0.0.0' : '::';
    const proxy = await serve(node, any, PROXY_PORT, 'proxy');
    const b8080 = await serve(podB, any, 8080, 'podB');
    await serve(podB, any, 9090, 'podB');
    const redirect = start(node);
    await redirect.start();
    expect(await redirect.status()).toEqual({ installed: true, missing: [], targets: { ingress4: 0, ingress6: 0, egress: 0 } });
    // Before any target, everything goes straight to pod B.
    expect((await attempt(podA, family, B[family], 8080)).reply).toBe(`podB ${B[family]} 8080 ${A[family]}`);

    await redirect.update(ingress(B[family], 8080));
    const held = await attempt(podA, family, B[family], 8080);
    // The proxy accepted it as if it were pod B: the original destination, and pod A's address as the peer.
    expect(held.reply).toBe(`proxy ${B[family]} 8080 ${A[family]}`);
    expect((await attempt(podA, family, B[family], 9090)).reply).toBe(`podB ${B[family]} 9090 ${A[family]}`);
    expect((await redirect.status()).targets).toEqual({ ingress4: family === 4 ? 1 : 0, ingress6: family === 6 ? 1 : 0, egress: 0 });

    // Egress: pod A's traffic to port 9090, whatever the destination, through its host interface.
    await redirect.update({ ...ingress(B[family], 8080), egress: [{ hostInterface: hostA, ports: [{ first: 9090, last: 9090 }] }] });
    expect((await attempt(podA, family, B[family], 9090)).reply).toBe(`proxy ${B[family]} 9090 ${A[family]}`);
    // Pod B's own connection to pod A's port 9090 is not pod A's egress: untouched (nothing listens there).
    expect((await attempt(podB, family, A[family], 9090)).error).toBe('ECONNREFUSED');

    // No targets: pod B again. The connection the proxy already held is not disturbed.
    const acceptedBefore = b8080.accepted();
    await redirect.update(NO_L7_TARGETS);
    expect((await attempt(podA, family, B[family], 8080)).reply).toBe(`podB ${B[family]} 8080 ${A[family]}`);
    expect(b8080.accepted()).toBe(acceptedBefore + 1);
    expect((await attempt(podA, family, B[family], 9090)).reply).toBe(`podB ${B[family]} 9090 ${A[family]}`);
    expect(await again(held.socket as Socket)).toEqual({ reply: `proxy ${B[family]} 8080 ${A[family]}` });
    expect(proxy.accepted()).toBe(2);

    await redirect.close();
    expect(tables(node)).toBe('');
    expect(rules(node, 4).map((r) => r.table)).toEqual(['local', 'main', 'default']);
    expect(rules(node, 6).map((r) => r.table)).toEqual(['local', 'main']);
    expect(routes(node, 4, 2004)).toEqual([]);
    expect(routes(node, 6, 2004)).toEqual([]);
    await redirect.close(); // again: nothing left to do, no error
  });

  it.each([4, 6] as const)('delivers pod B\'s replies to a transparent upstream socket bound to the client\'s address (IPv%i)', async (family) => {
    const { node, podB } = lab();
    await serve(podB, family === 4 ? '0.0.0.0' : '::', 8080, 'podB');
    const redirect = start(node);
    await redirect.start();
    await redirect.update(ingress(B[family], 8080));
    // What the proxy does for the connection it accepted: connect to the original destination
    // from the client's address. Without rule 1 the replies, addressed to pod A, would be forwarded to pod A.
    const upstream = new Socket({ fd: openTransparentListener({ address: A[family], port: 0, netns: node.handle }), readable: true, writable: true });
    sockets.push(upstream);
    const reply = await new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => resolve({ error: 'TIMEOUT' }), 3000);
      upstream.once('data', (data) => {
        clearTimeout(timer);
        resolve({ reply: data.toString().trim() });
      });
      upstream.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ error: error.code ?? error.message });
      });
      upstream.connect(8080, B[family], () => upstream.write('hello\n'));
    });
    // Pod B saw the client's address, and answered through the node to the proxy's socket.
    expect(reply).toEqual({ reply: `podB ${B[family]} 8080 ${A[family]}` });
  });

  it('leaves connections to the proxy\'s port elsewhere alone: the listener is never found for them (socket wildcard 0)', async () => {
    const { node, podA, podB } = lab();
    const proxy = await serve(node, '::', PROXY_PORT, 'proxy');
    // Pod B runs something of its own on the proxy's port; pod B's 8080 is protected.
    await serve(podB, '0.0.0.0', PROXY_PORT, 'podB');
    const redirect = start(node);
    await redirect.start();
    await redirect.update(ingress(B[4], 8080));
    expect((await attempt(podA, 4, B[4], PROXY_PORT)).reply).toBe(`podB ${B[4]} ${PROXY_PORT} ${A[4]}`);
    expect(proxy.accepted()).toBe(0);
  });

  it('sees a Service\'s connection after destination NAT: the protected pod\'s address and port, as kube-proxy rewrote them', async () => {
    const { node, podA, podB } = lab();
    const proxy = await serve(node, '::', PROXY_PORT, 'proxy');
    await serve(podB, '0.0.0.0', 8080, 'podB');
    // kube-proxy's rule, in nftables terms: the Service 10.96.0.10:80 is pod B's 8080.
    scratch.exec(node, 'nft', ['add table ip kube']);
    scratch.exec(node, 'nft', ['add chain ip kube pre { type nat hook prerouting priority dstnat; policy accept; }']);
    scratch.exec(node, 'nft', [`add rule ip kube pre ip daddr 10.96.0.10 tcp dport 80 dnat to ${B[4]}:8080`]);
    const redirect = start(node);
    await redirect.start();
    await redirect.update(ingress(B[4], 8080));
    // The proxy (dual-stack, so IPv4-mapped) takes it as pod B's 8080, what it connects on to, with pod A as the peer.
    expect((await attempt(podA, 4, '10.96.0.10', 80)).reply).toBe(`proxy ::ffff:${B[4]} 8080 ::ffff:${A[4]}`);
    expect(proxy.accepted()).toBe(1);
  });

  it('installs the table, the fwmark rules and the local routes with the documented defaults', async () => {
    const { node } = lab();
    const redirect = new L7Redirect({ netns: node.name });
    redirects.push(redirect);
    await redirect.start();
    expect(tables(node)).toBe('table inet twill_l7\n');
    const listing = scratch.exec(node, 'nft', ['list', 'table', 'inet', 'twill_l7']);
    expect(listing).toContain('tproxy ip to :15001');
    expect(listing).toContain('tproxy ip6 to :15001');
    for (const family of [4, 6] as const) {
      expect(rules(node, family)).toContainEqual(expect.objectContaining({ priority: 9, fwmark: '0x200', fwmask: '0xf00', table: '2004' }));
      expect(routes(node, family, 2004)).toEqual([expect.objectContaining({ type: 'local', dst: 'default', dev: 'lo' })]);
    }
  });

  it('fails closed: with the proxy down a protected connection is reset, never delivered to the pod', async () => {
    const { node, podA, podB } = lab();
    const b8080 = await serve(podB, '0.0.0.0', 8080, 'podB');
    const redirect = start(node);
    await redirect.start();
    await redirect.update({ ingress: [{ address: B[4], ports: [{ first: 8080, last: 8080 }] }, { address: B[6], ports: [{ first: 8080, last: 8080 }] }], egress: [] });
    expect(await attempt(podA, 4, B[4], 8080)).toEqual({ error: 'ECONNREFUSED' });
    expect(await attempt(podA, 6, B[6], 8080)).toEqual({ error: 'ECONNREFUSED' });
    expect(b8080.accepted()).toBe(0);

    // The proxy comes up: the same connection now reaches it; when it goes, resets again.
    const proxy = await serve(node, '0.0.0.0', PROXY_PORT, 'proxy');
    expect((await attempt(podA, 4, B[4], 8080)).reply).toBe(`proxy ${B[4]} 8080 ${A[4]}`);
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise((resolve) => proxy.server.close(resolve));
    expect(await attempt(podA, 4, B[4], 8080)).toEqual({ error: 'ECONNREFUSED' });
    expect(b8080.accepted()).toBe(0);
  });

  it('fails closed when the policy routing is missing: nothing reaches the pod past the proxy, and status says what is missing', async () => {
    const { node, podA, podB } = lab();
    const b8080 = await serve(podB, '0.0.0.0', 8080, 'podB');
    await serve(node, '0.0.0.0', PROXY_PORT, 'proxy');
    const redirect = start(node);
    await redirect.start();
    await redirect.update(ingress(B[4], 8080));
    const held = await attempt(podA, 4, B[4], 8080);
    expect(held.reply).toBe(`proxy ${B[4]} 8080 ${A[4]}`);

    scratch.ip(node, '-4', 'rule', 'del', 'pref', '9');
    // Routed by the main table now, but carrying a socket (tproxy gave the SYN one; early
    // demux gives the held connection's packets the proxy's): ip_forward() drops them.
    expect(await attempt(podA, 4, B[4], 8080)).toEqual({ error: 'TIMEOUT' });
    expect(await again(held.socket as Socket)).toEqual({ error: 'TIMEOUT' });
    expect(b8080.accepted()).toBe(0);
    expect(await redirect.status()).toEqual({
      installed: false,
      missing: ['ipv4 rule fwmark 0x200/0xf00 lookup 2004 pref 9'],
      targets: { ingress4: 1, ingress6: 0, egress: 0 },
    });
    // start() again repairs it.
    await redirect.start();
    expect((await redirect.status()).installed).toBe(true);
    expect((await attempt(podA, 4, B[4], 8080)).reply).toBe(`proxy ${B[4]} 8080 ${A[4]}`);
  });

  it('adopts what a crashed agent left (same names): no duplicate rules, one table, its targets kept until the next update, and close removes it all', async () => {
    const { node, podA, podB } = lab();
    await serve(podB, '0.0.0.0', 8080, 'podB');
    await serve(node, '0.0.0.0', PROXY_PORT, 'proxy');
    const crashed = start(node);
    await crashed.start();
    await crashed.update(ingress(B[4], 8080));
    // The next agent starts without knowing the first one's targets (it keeps its redirect on stop).
    const next = start(node);
    await next.start();
    expect(rules(node, 4).filter((r) => r.priority === 9)).toHaveLength(1);
    expect(rules(node, 6).filter((r) => r.priority === 9)).toHaveLength(1);
    expect(tables(node)).toBe('table inet twill_l7\n');
    // The kept target is still redirected: no window where protected traffic goes past the proxy.
    expect((await attempt(podA, 4, B[4], 8080)).reply).toBe(`proxy ${B[4]} 8080 ${A[4]}`);
    expect((await next.status()).targets).toEqual({ ingress4: 1, ingress6: 0, egress: 0 });
    // Its first update applies the change from what the kernel held: the leftover target is gone.
    await next.update(ingress(B[6], 8080));
    expect((await attempt(podA, 4, B[4], 8080)).reply).toBe(`podB ${B[4]} 8080 ${A[4]}`);
    expect(scratch.exec(node, 'nft', ['list', 'set', 'inet', 'twill_l7', 'l7_in6'])).toContain(`${B[6]} . 8080`);
    await next.close();
    expect(tables(node)).toBe('');
    expect(rules(node, 4).map((r) => r.priority)).toEqual([0, 32766, 32767]);
    expect(routes(node, 4, 2004)).toEqual([]);
  });

  it('targets given before start() replace what a previous run left', async () => {
    const { node, podA, podB } = lab();
    await serve(podB, '0.0.0.0', 8080, 'podB');
    await serve(podB, '0.0.0.0', 9090, 'podB');
    await serve(node, '0.0.0.0', PROXY_PORT, 'proxy');
    const crashed = start(node);
    await crashed.start();
    await crashed.update(ingress(B[4], 8080));
    const next = start(node);
    await next.update(ingress(B[4], 9090));
    await next.start();
    expect((await attempt(podA, 4, B[4], 8080)).reply).toBe(`podB ${B[4]} 8080 ${A[4]}`);
    expect((await attempt(podA, 4, B[4], 9090)).reply).toBe(`proxy ${B[4]} 9090 ${A[4]}`);
  });

  it('never takes a look-alike fwmark rule at its preference for its own: adds its own beside an iif-scoped one, fails on a `not fwmark` one', async () => {
    const { node, podA, podB } = lab();
    await serve(podB, '0.0.0.0', 8080, 'podB');
    await serve(node, '0.0.0.0', PROXY_PORT, 'proxy');
    // Same preference, table, mark and mask, but only for locally made packets.
    scratch.ip(node, '-4', 'rule', 'add', 'fwmark', '0x200/0xf00', 'iif', 'lo', 'lookup', '2004', 'pref', '9');
    const redirect = start(node, { families: [4] });
    await redirect.start();
    await redirect.update(ingress(B[4], 8080));
    expect(rules(node, 4).filter((r) => r.priority === 9)).toHaveLength(2);
    expect((await attempt(podA, 4, B[4], 8080)).reply).toBe(`proxy ${B[4]} 8080 ${A[4]}`);

    // An inverted one the kernel counts as the same rule (EEXIST): an error, never adopted.
    scratch.ip(node, '-6', 'rule', 'add', 'not', 'fwmark', '0x200/0xf00', 'lookup', '2004', 'pref', '9');
    const both = start(node);
    await expect(both.start()).rejects.toMatchObject({ code: 'apply-failed', message: 'L7 redirect start: addRule ipv6 fwmark 0x200/0xf00 lookup 2004 pref 9: EEXIST' });
  });

  it('serves IPv4 only on a node without IPv6 (families [4]): no IPv6 rule, route or ip6 rules, and redirects IPv4', async () => {
    const { node, podA, podB } = lab({ ipv6: false });
    await serve(podB, '0.0.0.0', 8080, 'podB');
    await serve(node, '0.0.0.0', PROXY_PORT, 'proxy');
    // Both families: the IPv6 local route cannot be made here.
    const both = start(node);
    await expect(both.start()).rejects.toMatchObject({ code: 'apply-failed' });
    await both.close();
    const redirect = start(node, { families: [4] });
    await redirect.start();
    await redirect.update(ingress(B[4], 8080));
    expect(await redirect.status()).toEqual({ installed: true, missing: [], targets: { ingress4: 1, ingress6: 0, egress: 0 } });
    expect(scratch.exec(node, 'nft', ['list', 'table', 'inet', 'twill_l7'])).not.toContain('ip6');
    expect(rules(node, 6).filter((r) => r.priority === 9)).toEqual([]);
    expect((await attempt(podA, 4, B[4], 8080)).reply).toBe(`proxy ${B[4]} 8080 ${A[4]}`);
    await redirect.close();
    expect(tables(node)).toBe('');
    expect(routes(node, 4, 2004)).toEqual([]);
  });

  it('repairs sets an operator changed: when the delta does not apply, the table is replaced', async () => {
    const { node, podA, podB } = lab();
    await serve(podB, '0.0.0.0', 8080, 'podB');
    await serve(podB, '0.0.0.0', 9090, 'podB');
    await serve(node, '0.0.0.0', PROXY_PORT, 'proxy');
    const redirect = start(node);
    await redirect.start();
    await redirect.update(ingress(B[4], 8080));
    scratch.exec(node, 'nft', ['delete', 'element', 'inet', 'twill_l7', 'l7_in4', `{ ${B[4]} . 8080 }`]);
    await redirect.update(ingress(B[4], 9090));
    expect(await redirect.status()).toEqual({ installed: true, missing: [], targets: { ingress4: 1, ingress6: 0, egress: 0 } });
    expect((await attempt(podA, 4, B[4], 9090)).reply).toBe(`proxy ${B[4]} 9090 ${A[4]}`);
    expect((await attempt(podA, 4, B[4], 8080)).reply).toBe(`podB ${B[4]} 8080 ${A[4]}`);
  });

  it('reports a bad target without changing the kernel', async () => {
    const { node, podA, podB } = lab();
    await serve(podB, '0.0.0.0', 8080, 'podB');
    await serve(node, '0.0.0.0', PROXY_PORT, 'proxy');
    const redirect = start(node);
    await redirect.start();
    await redirect.update(ingress(B[4], 8080));
    const before = scratch.exec(node, 'nft', ['list', 'ruleset']);
    await expect(redirect.update({ ingress: [{ address: '10.71.0.300', ports: [{ first: 80, last: 80 }] }], egress: [] })).rejects.toMatchObject({
      code: 'bad-target',
      message: 'L7 redirect ingress target 0 ("10.71.0.300"): the address is not an IPv4 or IPv6 address',
    });
    expect(scratch.exec(node, 'nft', ['list', 'ruleset'])).toBe(before);
    expect((await attempt(podA, 4, B[4], 8080)).reply).toBe(`proxy ${B[4]} 8080 ${A[4]}`);
    expect(execFileSync('ip', ['netns', 'exec', node.name, 'nft', 'list', 'set', 'inet', 'twill_l7', 'l7_in4'], { encoding: 'utf8' })).toContain('10.71.0.2 . 8080');
  });
});
