/**
 * `@twill/cni-core/net`: Linux plumbing for CNI plugin authors, in the pod's network
 * namespace, without `ip` subprocesses: named network namespaces, veth pairs, links,
 * addresses, routes (with on-link gateways), policy routing rules and network sysctls, over rtnetlink (the
 * `netlink` package) and `@twill/sys`.
 *
 * ```ts
 * import { Netlink } from '@twill/cni-core/net';
 *
 * using host = Netlink.open();
 * const { peer } = await host.createVeth({ name: 'twabc', mtu: 1450, peer: { name: 'eth0', netns: env.CNI_NETNS } });
 * using pod = Netlink.open({ netns: env.CNI_NETNS });
 * await pod.addAddress('eth0', '10.244.1.5/32');
 * await pod.setLink('eth0', { up: true });
 * await pod.addRoute({ dst: 'default', gateway: '169.254.1.1', link: 'eth0', onLink: true });
 * ```
 *
 * Linux only. Changes need CAP_NET_ADMIN in the namespace; entering another namespace
 * needs CAP_SYS_ADMIN. Kernel refusals are {@link NetError}s with the errno name as `code`.
 * @packageDocumentation
 */
export { NetError } from './errors.js';
export {
  Netlink,
  withNetlink,
  type OpenNetlinkOptions,
  type RouteOptions,
  type ListAddressOptions,
  type ListRouteOptions,
  type ListRuleOptions,
  type ForwardingOptions,
} from './netlink.js';
export { type CreateVethOptions, type VethPair, type MoveLinkOptions } from './cross-netns.js';
export { type IfIndex, ifIndex, type LinkRef, type Link, type LinkChanges, OPER_STATE, type OperState } from './link.js';
export { type AddAddressOptions, type InterfaceAddress } from './address.js';
export { type Route, type RouteSpec, ROUTE_TABLE, RTPROT_BOOT } from './route.js';
export { type Rule, type RuleSpec, RULE_ACTION, type RuleActionName } from './rule.js';
export { SCOPE, type ScopeName, ROUTE_TYPE, type RouteTypeName } from './scope.js';
export { type IpFamily } from './ip.js';
// The IFLA_LINKINFO codec, for authors who build their own rtnetlink messages.
export { encodeVethLinkInfo, decodeLinkInfo, type VethPeerAttributes, type LinkInfoSummary } from './attributes.js';
export { sysctlPath } from './sysctl.js';
// Routed veth plumbing (the Calico layout) in one call each for ADD, DEL and CHECK.
export {
  plumbRoutedVeth,
  unplumbRoutedVeth,
  checkRoutedVeth,
  hostInterfaceName,
  InterfaceExistsError,
  ROUTED_VETH_GATEWAY,
  type RoutedVethOptions,
  type UnplumbRoutedVethOptions,
  type RoutedVethResult,
} from './routed-veth.js';
// Namespaces themselves come from @twill/sys; re-exported so a plugin needs one import.
export {
  NetnsHandle,
  type NetnsRef,
  openNetns,
  createNetns,
  deleteNetns,
  runInNetns,
  SysError,
} from '@twill/sys';
