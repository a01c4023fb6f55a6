#!/usr/bin/env node
// twill-veth: a whole CNI plugin in thirty lines of code, imports and comments aside. Each
// pod gets a veth pair (its end named CNI_IFNAME, the host's end named after the
// attachment) and an IPv4 address from a host-local style range, kept in host-local's own
// files. Routing is Calico's, done by plumbRoutedVeth: the pod has a /32 and a default
// route to 169.254.1.1 on its link, which the host's end answers by proxy ARP; the host
// routes the /32 to its end of the veth.
import { CNI_ERROR, CniError, runPluginMain } from '@twill/cni-core';
import { checkRoutedVeth, hostInterfaceName, plumbRoutedVeth, unplumbRoutedVeth } from '@twill/cni-core/net';
import { DEFAULT_IPAM_DATA_DIR, FileStore, RangeAllocator, parseRangeIpamConfig } from '@twill/ipam';

// The `ipam` section takes host-local's keys: ranges (or subnet, rangeStart, ...), dataDir.
/** @param {import('@twill/cni-core').RequestBase} request */
async function allocatorFor({ config, args }) {
  const ipam = parseRangeIpamConfig(config.raw, { cniArgs: args.pairs }); // code 7 naming the bad field
  const ipv4Only = ipam.rangeSets.length === 1 && ipam.rangeSets[0]?.[0]?.subnet.network.family === 4;
  if (!ipv4Only) throw new CniError(CNI_ERROR.INVALID_NETWORK_CONFIG, 'ipam.ranges: twill-veth takes one IPv4 range set');
  return new RangeAllocator({ config: ipam, store: await FileStore.open({ root: ipam.dataDir ?? DEFAULT_IPAM_DATA_DIR }) });
}

// The attachment's veth (ADD and CHECK). The host's end is named after what every call has,
// the container ID and CNI_IFNAME: DEL may come without CNI_NETNS or prevResult (SPEC.md §"DEL").
/** @param {import('@twill/cni-core').AddRequest} request @param {string[]} addresses */
const veth = ({ containerId, ifName, netns }, addresses) => ({ netns, ifName, addresses, hostInterface: hostInterfaceName(containerId, ifName) });

await runPluginMain({
  // Results for 0.1.0 and 0.2.0 cannot name interfaces: drop them there, as libcni does.
  allowLossyResult: true,

  async add(request) {
    const allocator = await allocatorFor(request);
    // Fails with code 112 when this attachment already has an address: nothing to undo then.
    const ips = await allocator.allocate(request);
    // The pod gets the address alone (a /32); plumbRoutedVeth gives interfaces, ips and routes.
    const plumbed = await plumbRoutedVeth(veth(request, ips.map((ip) => ip.address.replace(/\/\d+$/, '')))).catch(async (error) => {
      await allocator.release(request); // plumbRoutedVeth leaves nothing behind; neither do we
      throw error;
    });
    return { cniVersion: '1.1.0', ...plumbed };
  },

  // Idempotent: the veth and the address may be gone already (SPEC.md §"DEL").
  async del(request) {
    await unplumbRoutedVeth({ hostInterface: hostInterfaceName(request.containerId, request.ifName) });
    await (await allocatorFor(request)).release(request);
  },

  // Both ends are still as ADD made them, with the addresses of its result (prevResult).
  async check(request) {
    const prev = request.config.prevResult;
    if (!prev || !('ips' in prev) || !prev.ips) throw new CniError(CNI_ERROR.INVALID_NETWORK_CONFIG, 'prevResult: CHECK needs the ips of ADD');
    const drift = await checkRoutedVeth(veth(request, prev.ips.map((ip) => ip.address)));
    // Codes from 100 up are the plugin's own (SPEC.md §"Error").
    if (drift.length > 0) throw new CniError(100, 'the attachment is not as ADD made it', drift.join('; '));
  },

  // Frees the addresses of attachments the runtime no longer knows (CNI 1.1.0 GC).
  gc: async (request) => void (await (await allocatorFor(request)).gc(request.validAttachments)),
});
