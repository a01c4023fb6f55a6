// The host side's interface name: `tw` and a hash of the attachment, so the same
// container and interface always give the same name (DEL and GC find it without any
// state) and it fits IFNAMSIZ.
import { createHash } from 'node:crypto';

/** The prefix of every host-side interface twill creates. */
export const HOST_INTERFACE_PREFIX = 'tw';

/** The pod side's default gateway (IPv4): link-local, answered by the host side's proxy ARP. */
export const POD_GATEWAY_V4 = '169.254.1.1';

/** The pod side's default gateway (IPv6): a link-local address the host side carries. */
export const POD_GATEWAY_V6 = 'fe80::1';

/**
 * `tw` + the first 13 hex digits of SHA-256(`<containerId>\n<ifName>`): 15 characters,
 * the most an interface name may have (IFNAMSIZ - 1).
 */
export function hostInterfaceName(containerId: string, ifName: string): string {
  const digest = createHash('sha256').update(`${containerId}\n${ifName}`).digest('hex');
  return `${HOST_INTERFACE_PREFIX}${digest.slice(0, 13)}`;
}
