// examples/cni-plugin, run as a CNI runtime runs it: the executable on a plugin path,
// inside a scratch "host" namespace, against cni-core's conformance suite, then one
// attachment looked at from both ends. Run from the built packages, as a user's copy is.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CniRuntime, decodeNetworkConfigList, linuxNamespaces, memoryResultCache, nsenterPluginExec, runConformance } from '@twill/cni-core';
import { AF, SOCK, openSocket } from '@twill/sys';
import { NetworkScratch, type ScratchNetns, rootSkipReason, testName } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { workspaceRoot } from '../boundaries.js';

const PLUGIN = join(workspaceRoot, 'examples/cni-plugin/twill-veth.js');
const built = ['cni-core', 'ipam', 'sys'].every((p) => existsSync(join(workspaceRoot, 'packages', p, 'dist/index.js')));
const reason = rootSkipReason() ?? (built ? undefined : 'needs the packages built (npx nx run-many -t build)');

/** The example's network: one range set (IPv4 by default), host-local's files in `dataDir`. */
function network(dataDir: string, ranges: unknown = [[{ subnet: '10.248.40.0/24' }]]): string {
  return JSON.stringify({
    cniVersion: '1.1.0',
    name: 'example-veth',
    plugins: [{ type: 'twill-veth', ipam: { type: 'twill-veth', ranges, dataDir } }],
  });
}

/** The names of a namespace's links. */
function links(scratch: NetworkScratch, ns: ScratchNetns): string[] {
  return scratch.ip(ns, '-o', 'link', 'show').trim().split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '');
}

/**
 * A TCP exchange between two namespaces: a server in `server` (on an ephemeral port, all
 * addresses) says hello to a client connecting from `client` to `to`.
 * @returns what the client heard, and the address the server saw it come from.
 */
async function talk(options: { server: ScratchNetns; client: ScratchNetns; to: string }): Promise<{ heard: string; from: string }> {
  let from = '';
  const server = net.createServer((socket) => {
    from = socket.remoteAddress ?? '';
    socket.end('hello from the host');
  });
  // listen(2) on an unbound socket binds it to an ephemeral port of every address.
  const fd = openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: options.server.name });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ fd }, resolve));
  try {
    const { port } = server.address() as net.AddressInfo;
    const client = new net.Socket({ fd: openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: options.client.name }) });
    const heard = await new Promise<string>((resolve, reject) => {
      let text = '';
      client.setTimeout(10_000, () => client.destroy(new Error(`no answer from ${options.to} port ${port} in 10 s`)));
      client.on('data', (chunk: Buffer) => (text += chunk.toString())).on('end', () => resolve(text)).on('error', reject);
      client.connect(port, options.to);
    });
    return { heard, from };
  } finally {
    server.close();
  }
}

describe.skipIf(reason)(`examples/cni-plugin${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  let dir = '';
  let bin = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'twill-example-cni-'));
    // Installed as a runtime finds plugins: an executable named after its type on CNI_PATH.
    bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(PLUGIN, join(bin, 'twill-veth'));
  });
  afterEach(() => {
    scratch.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes every check of the conformance suite, leaving no veth or address behind', async () => {
    const host = scratch.netns();
    const report = await runConformance({
      config: network(join(dir, 'ipam')),
      path: [bin],
      namespaces: linuxNamespaces({ name: testName }),
      hostNetns: host.path,
      containerIdPrefix: 'example-',
    });
    // Every check's outcome with its reason, so a failure says which and why.
    expect(report.checks.filter((c) => c.status !== 'passed')).toEqual([]);
    expect(report).toMatchObject({ plugins: ['twill-veth'], version: '1.1.0', notes: [] });
    // Every ADD was undone: only loopback in the host, no address file left.
    expect(links(scratch, host)).toEqual(['lo']);
    expect(readdirSync(join(dir, 'ipam', 'example-veth')).filter((f) => /^\d/.test(f))).toEqual([]);
  }, 300_000); // some 50 plugin calls, each a Node start: slow on a loaded machine

  it('gives the pod a veth, a /32 and a default route that reach the host, and DEL takes them back', async () => {
    const host = scratch.netns();
    const pod = scratch.netns();
    // A host with an address and a default route (out of a veth looped back into it), as a
    // node has: proxy ARP answers the pod for 169.254.1.1 because the host has a route to it.
    const loop = scratch.veth(host, host);
    const uplink = loop.a;
    scratch.ip(host, 'addr', 'add', '10.248.41.1/24', 'dev', uplink);
    scratch.ip(host, 'route', 'add', 'default', 'dev', uplink);

    const list = decodeNetworkConfigList(network(join(dir, 'ipam')));
    const runtime = new CniRuntime({ path: [bin], exec: nsenterPluginExec({ netns: host.path }), cache: memoryResultCache() });
    const attachment = { containerId: 'example-1', netns: pod.path, ifName: 'eth0' };
    const result = await runtime.add(list, attachment);

    const hostEnd = (result as { interfaces?: { name: string }[] }).interfaces?.[0]?.name ?? '';
    expect(hostEnd).toMatch(/^tw[0-9a-f]{13}$/);
    expect(result).toMatchObject({ ips: [{ address: '10.248.40.2/32', gateway: '169.254.1.1', interface: 1 }] });
    expect(scratch.ip(pod, '-4', '-o', 'addr', 'show', 'dev', 'eth0')).toContain('inet 10.248.40.2/32');
    expect(scratch.ip(pod, 'route', 'show', 'default')).toContain('default via 169.254.1.1 dev eth0 onlink');
    expect(scratch.ip(host, 'route', 'show', '10.248.40.2')).toContain(`10.248.40.2 dev ${hostEnd}`);
    // host-local's own file: the holder of the address, container ID and interface.
    expect(readFileSync(join(dir, 'ipam', 'example-veth', '10.248.40.2'), 'utf8')).toBe('example-1\r\neth0');
    expect(await talk({ server: host, client: pod, to: '10.248.41.1' })).toEqual({ heard: 'hello from the host', from: '10.248.40.2' });
    await expect(runtime.check(list, attachment)).resolves.toBeUndefined();
    // CHECK notices what no longer is as ADD made it.
    scratch.ip(pod, 'addr', 'del', '10.248.40.2/32', 'dev', 'eth0');
    await expect(runtime.check(list, attachment)).rejects.toMatchObject({ code: 100, message: expect.stringContaining('the attachment is not as ADD made it: pod: eth0 lacks address 10.248.40.2/32') });

    await runtime.del(list, attachment);
    expect(links(scratch, host).sort()).toEqual(['lo', loop.a, loop.b].sort());
    expect(links(scratch, pod)).toEqual(['lo']);
    expect(existsSync(join(dir, 'ipam', 'example-veth', '10.248.40.2'))).toBe(false);
  });

  it('refuses a range it cannot serve with code 7, naming the field', async () => {
    const host = scratch.netns();
    const pod = scratch.netns();
    const list = decodeNetworkConfigList(network(join(dir, 'ipam'), [[{ subnet: 'fd00:248::/64' }]]));
    const runtime = new CniRuntime({ path: [bin], exec: nsenterPluginExec({ netns: host.path }), cache: memoryResultCache() });
    await expect(runtime.add(list, { containerId: 'example-2', netns: pod.path, ifName: 'eth0' })).rejects.toMatchObject({
      code: 7,
      message: expect.stringContaining('ipam.ranges: twill-veth takes one IPv4 range set'),
    });
    expect(links(scratch, host)).toEqual(['lo']);
    expect(links(scratch, pod)).toEqual(['lo']);
  });
});
