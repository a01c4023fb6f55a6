#!/usr/bin/env node
// twill-veth: a whole CNI plugin in under sixty lines of code. Each pod gets a veth pair
// (its end named CNI_IFNAME, the host's end named after the attachment) and an IPv4
// address from a host-local style range, kept in host-local's own files. Routing is
// Calico's: the pod has a /32 and a default route to 169.254.1.1 on its link, which the
// host's end answers by proxy ARP; the host routes the /32 to its end of the veth.
import { createHash } from 'node:crypto';

import { CNI_ERROR, CniError, runPluginMain } from '@twill/cni-core';
import { withNetlink } from '@twill/cni-core/net';
import { FileStore, RangeAllocator, parseRangeIpamConfig } from '@twill/ipam';

const GATEWAY = '169.254.1.1';

// DEL may come without CNI_NETNS or prevResult (SPEC.md §"DEL"), so the host end is named
// after what every call has: the attachment. At most 15 bytes (IFNAMSIZ).
const hostEnd = ({ containerId, ifName }) =>
  `tw${createHash('sha256').update(`${containerId}/${ifName}`).digest('hex').slice(0, 13)}`;

// The `ipam` section takes host-local's keys: ranges (or subnet, rangeStart, ...), dataDir.
async function allocatorFor({ config, args }) {
  const ipam = parseRangeIpamConfig(config.raw, { cniArgs: args.pairs }); // code 7 naming the bad field
  const ipv4Only = ipam.rangeSets.length === 1 && ipam.rangeSets[0][0].subnet.network.family === 4;
  if (!ipv4Only) throw new CniError(CNI_ERROR.INVALID_NETWORK_CONFIG, 'ipam.ranges: twill-veth takes one IPv4 range set');
  const store = await FileStore.open({ root: ipam.dataDir ?? '/var/lib/cni/networks' });
  return new RangeAllocator({ config: ipam, store });
}

const plugin = {
  // Results for 0.1.0 and 0.2.0 cannot name interfaces: drop them there, as libcni does.
  allowLossyResult: true,

  async add(request) {
    const { ifName, netns } = request;
    const name = hostEnd(request);
    // Fails with code 112 when this attachment already has an address: nothing to undo then.
    const [ip] = await (await allocatorFor(request)).allocate(request);
    const address = `${ip.address.split('/')[0]}/32`;
    try {
      await withNetlink(undefined, (host) => withNetlink(netns, async (pod) => {
        await host.createVeth({ name, peer: { name: ifName, netns } });
        await host.setLink(name, { up: true });
        await host.setProxyArp(name);
        await host.setForwarding({ family: 4, link: name }); // the kernel proxies ARP only on a forwarding link
        await host.addRoute({ dst: address, link: name });
        await pod.addAddress(ifName, address);
        await pod.setLink(ifName, { up: true });
        await pod.addRoute({ dst: 'default', gateway: GATEWAY, link: ifName, onLink: true });
      }));
    } catch (error) {
      await plugin.del(request); // leave nothing half made behind
      throw error;
    }
    return {
      cniVersion: '1.1.0',
      interfaces: [{ name }, { name: ifName, sandbox: netns }],
      ips: [{ address, gateway: GATEWAY, interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: GATEWAY }],
    };
  },

  // Idempotent: the veth and the address may be gone already (SPEC.md §"DEL").
  async del(request) {
    const name = hostEnd(request);
    await withNetlink(undefined, async (host) => {
      if (await host.findLink(name)) await host.deleteLink(name);
    });
    await (await allocatorFor(request)).release(request);
  },

  // The pod's interface still has the addresses ADD gave it (prevResult).
  async check({ ifName, netns, config }) {
    const have = await withNetlink(netns, (pod) => pod.listAddresses({ link: ifName }));
    for (const { address } of config.prevResult?.ips ?? []) {
      // Codes from 100 up are the plugin's own (SPEC.md §"Error").
      if (!have.some((a) => a.cidr === address)) throw new CniError(100, `${ifName} no longer has ${address}`);
    }
  },

  // Frees the addresses of attachments the runtime no longer knows (CNI 1.1.0 GC).
  async gc(request) {
    await (await allocatorFor(request)).gc(request.validAttachments);
  },
};

await runPluginMain(plugin);
