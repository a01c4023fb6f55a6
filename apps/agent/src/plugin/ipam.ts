// The pod's addresses: twill's pools in-process on the embedded store, or a delegated
// IPAM plugin run as libcni's DelegateAdd would run it (same CNI_* variables, the
// plugin's whole configuration on stdin).
import { type AttachmentRequest, type CniResult, type Dns, type GcAttachment, type RequestBase } from '@twill/cni-core';
import { handleId, PoolAllocator } from '@twill/ipam';

import { type TwillConfig } from './config.js';
import { type Datastore, type TwillPluginPorts } from './ports.js';

/** What IPAM gave an ADD. */
export interface IpamAnswer {
  /** The pod's addresses at full length (`/32`, `/128`), whatever prefix IPAM reported. */
  readonly addresses: readonly string[];
  readonly dns?: Dns;
}

function podArg(request: RequestBase, name: string): string | undefined {
  const value = request.args.pairs.get(name);
  return value === undefined || value === '' ? undefined : value;
}

/** `10.22.0.5/24` → `10.22.0.5/32`: pods get host routes only (ARCHITECTURE.md, "Plumbing"). */
export function fullLength(cidr: string): string {
  const ip = cidr.split('/')[0] ?? cidr;
  return `${ip}/${ip.includes(':') ? 128 : 32}`;
}

function delegateEnv(command: string, request: AttachmentRequest, ports: TwillPluginPorts): Record<string, string | undefined> {
  const args = [...request.args.pairs].map(([k, v]) => `${k}=${v}`).join(';');
  return {
    ...ports.baseEnv,
    CNI_COMMAND: command,
    CNI_CONTAINERID: request.containerId,
    CNI_IFNAME: request.ifName,
    CNI_PATH: request.path.join(':'),
    ...(request.netns === undefined ? {} : { CNI_NETNS: request.netns }),
    ...(args === '' ? {} : { CNI_ARGS: args }),
  };
}

function stdinOf(request: RequestBase): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(request.config.raw));
}

function addressesOf(result: CniResult): string[] {
  if ('ips' in result) return (result.ips ?? []).map((ip) => fullLength(ip.address));
  if ('ip4' in result || 'ip6' in result) {
    return [result.ip4?.ip, result.ip6?.ip].filter((c): c is string => c !== undefined).map(fullLength);
  }
  return [];
}

function pools(config: TwillConfig, datastore: Datastore): PoolAllocator | undefined {
  return config.ipam.kind === 'pools' ? new PoolAllocator({ config: config.ipam.pools.pools, store: datastore.store }) : undefined;
}

/**
 * Allocates the pod's addresses.
 * @throws the pool allocator's errors (112 duplicate, 113 exhausted, 11 contended), or
 * the delegate's PluginError.
 */
export async function allocateAddresses(config: TwillConfig, datastore: Datastore, request: AttachmentRequest, ports: TwillPluginPorts): Promise<IpamAnswer> {
  const allocator = pools(config, datastore);
  if (allocator !== undefined && config.ipam.kind === 'pools') {
    const namespace = podArg(request, 'K8S_POD_NAMESPACE');
    const pod = podArg(request, 'K8S_POD_NAME');
    const allocation = await allocator.allocate({
      containerId: request.containerId,
      ifName: request.ifName,
      node: config.ipam.pools.nodeName,
      ...(namespace === undefined ? {} : { namespace }),
      ...(pod === undefined ? {} : { pod }),
    });
    return { addresses: allocation.addresses.map((a) => fullLength(a.address)) };
  }
  if (config.ipam.kind !== 'delegate') return { addresses: [] };
  const result = await ports.delegate.add(config.ipam.type, stdinOf(request), { env: delegateEnv('ADD', request, ports) });
  const dns = 'dns' in result ? result.dns : undefined;
  return { addresses: addressesOf(result), ...(dns === undefined ? {} : { dns }) };
}

/** Releases the attachment's addresses (by handle `<network>.<containerID>` for pools). Idempotent. */
export async function releaseAddresses(config: TwillConfig, datastore: Datastore, request: AttachmentRequest, ports: TwillPluginPorts): Promise<void> {
  const allocator = pools(config, datastore);
  if (allocator !== undefined) {
    await allocator.release({ containerId: request.containerId });
    return;
  }
  if (config.ipam.kind === 'delegate') await ports.delegate.del(config.ipam.type, stdinOf(request), { env: delegateEnv('DEL', request, ports) });
}

/**
 * The addresses IPAM holds for the attachment, among `expected`, as drift in words:
 * pools say which handle holds each; a delegate runs its own CHECK.
 */
export async function checkAddresses(
  config: TwillConfig,
  datastore: Datastore,
  request: AttachmentRequest,
  expected: readonly string[],
  ports: TwillPluginPorts,
): Promise<string[]> {
  const allocator = pools(config, datastore);
  if (allocator === undefined) {
    if (config.ipam.kind === 'delegate') await ports.delegate.check(config.ipam.type, stdinOf(request), { env: delegateEnv('CHECK', request, ports) });
    return [];
  }
  const handle = handleId(config.network, request.containerId);
  const drift: string[] = [];
  for (const cidr of expected) {
    const ip = cidr.split('/')[0] ?? cidr;
    const status = await allocator.whyHeld(ip);
    if (status.state === 'allocated' && status.handle === handle) continue;
    drift.push(`ipam: ${ip} is not held by ${handle} (${status.state === 'allocated' ? `held by ${status.handle}` : status.state})`);
  }
  return drift;
}

/** Pools: releases every handle of the network not in `valid` (CNI GC). Delegates are released per stale endpoint by the caller. */
export async function gcPools(config: TwillConfig, datastore: Datastore, valid: readonly GcAttachment[]): Promise<void> {
  await pools(config, datastore)?.gc(valid);
}
