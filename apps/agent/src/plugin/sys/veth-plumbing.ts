// The kernel side of the plugin (ARCHITECTURE.md, "Plumbing"): cni-core's routed veth
// helpers (a veth pair, the pod end `eth0` with full-length addresses and default routes
// to link-local gateways, the host end `tw<hash>` answering for them with a route per pod
// address), with their errors turned into the plugin's own codes.
import { CNI_ERROR, CniError } from '@twill/cni-core';
import { InterfaceExistsError, type NetnsRef, checkRoutedVeth, plumbRoutedVeth, unplumbRoutedVeth } from '@twill/cni-core/net';

import { LinkExistsError, NetnsMissingError } from '../errors.js';
import { type PlumbedPod, type Plumbing, type PodPlumbingRequest } from '../ports.js';

/** Options of {@link createVethPlumbing}. */
export interface VethPlumbingOptions {
  /** The node's namespace, where host ends and routes go (default: this process's). */
  readonly hostNetns?: NetnsRef;
}

/** cni-core's clash and missing-namespace errors as the plugin's (codes 120 and 3, with its hints). */
function pluginError(error: unknown, request: PodPlumbingRequest): unknown {
  if (error instanceof InterfaceExistsError) {
    return error.side === 'host'
      ? new LinkExistsError(
          error.interfaceName,
          'the node',
          `the host side of this container ID and interface name is taken: DEL the attachment that made it, or remove the leftover with \`ip link del ${error.interfaceName}\``,
        )
      : new LinkExistsError(error.interfaceName, request.netns, `the pod already has an interface named ${error.interfaceName}: DEL the attachment that made it, or ask for another CNI_IFNAME`);
  }
  if (error instanceof CniError && error.code === CNI_ERROR.UNKNOWN_CONTAINER) return new NetnsMissingError(request.netns, { cause: error });
  return error;
}

function routedVeth(options: VethPlumbingOptions, request: PodPlumbingRequest): Parameters<typeof plumbRoutedVeth>[0] {
  return { ...request, ...(options.hostNetns === undefined ? {} : { hostNetns: options.hostNetns }) };
}

async function add(options: VethPlumbingOptions, request: PodPlumbingRequest): Promise<PlumbedPod> {
  try {
    const { interfaces } = await plumbRoutedVeth(routedVeth(options, request));
    const [host, pod] = interfaces;
    return { ...(host.mac === undefined ? {} : { hostMac: host.mac }), ...(pod.mac === undefined ? {} : { podMac: pod.mac }) };
  } catch (error) {
    throw pluginError(error, request);
  }
}

async function check(options: VethPlumbingOptions, request: PodPlumbingRequest): Promise<string[]> {
  try {
    return await checkRoutedVeth(routedVeth(options, request));
  } catch (error) {
    throw pluginError(error, request);
  }
}

/**
 * The real {@link Plumbing}: veth pairs over rtnetlink. Needs CAP_NET_ADMIN and
 * CAP_SYS_ADMIN (to enter the pod's namespace); IPv6 needs the kernel's IPv6 support.
 */
export function createVethPlumbing(options: VethPlumbingOptions = {}): Plumbing {
  return {
    add: (request) => add(options, request),
    // Without the host end the pair is gone (the kernel deletes both ends together), so
    // the pod's namespace, present or not, holds nothing of ours.
    remove: (request) => unplumbRoutedVeth({ hostInterface: request.hostInterface, ...(options.hostNetns === undefined ? {} : { hostNetns: options.hostNetns }) }),
    check: (request) => check(options, request),
  };
}
