// What CHECK shares between the range and the pool modes of twill-ipam.
import { type CheckRequest, CniError, INTERNAL_ERROR_CODE } from '@twill/cni-core';

/**
 * The failure of CHECK. host-local reports it as a plain Go error, which libcni's skel
 * prints with code 999; twill-ipam keeps that code so that runtimes see the same thing.
 */
export function checkFailed(msg: string): CniError {
  return new CniError(INTERNAL_ERROR_CODE, msg);
}

/** The addresses of a prevResult of any version, without prefix. */
export function prevResultAddresses(request: CheckRequest): string[] {
  const prev = request.config.prevResult;
  if (prev === undefined) return [];
  // 0.1.0/0.2.0 results carry `ip4`/`ip6`; later ones `ips`.
  const cidrs = 'ip4' in prev || 'ip6' in prev ? [prev.ip4?.ip, prev.ip6?.ip] : 'ips' in prev ? (prev.ips ?? []).map((ip) => ip.address) : [];
  return cidrs.filter((cidr): cidr is string => cidr !== undefined).map((cidr) => cidr.split('/')[0] ?? cidr);
}
