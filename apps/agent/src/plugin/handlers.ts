// The twill CNI plugin's commands over its ports: IPAM, then the endpoint record, then the
// veth plumbing, then the endpoint's policy (when the registry enforces it); each step
// undone when a later one fails, so a failed ADD leaves nothing.
import {
  CNI_ERROR,
  type AddRequest,
  type AttachmentRequest,
  type CheckRequest,
  type CniResult,
  type GcRequest,
  type PluginHandlers,
  type RequestBase,
  type Result110,
} from '@twill/cni-core';

import { type TwillConfig, parseTwillConfig } from './config.js';
import { AttachmentDriftError, AttachmentExistsError, DatastoreNotReadyError, TwillPluginError } from './errors.js';
import { allocateAddresses, checkAddresses, gcPools, releaseAddresses } from './ipam.js';
import { hostInterfaceName, POD_GATEWAY_V4, POD_GATEWAY_V6 } from './names.js';
import { type Datastore, type EndpointRecord, type EndpointRegistry, type TwillLogger, type TwillPluginPorts } from './ports.js';

function configOf(ports: TwillPluginPorts, request: RequestBase): TwillConfig {
  return parseTwillConfig(request.config.raw, { defaultNodeName: ports.hostname() });
}

const SILENT: TwillLogger = { info: () => undefined, warn: () => undefined };

// Logs one command's outcome with its attachment and duration, and passes the outcome on.
async function logged<T>(ports: TwillPluginPorts, config: TwillConfig, command: string, fields: object, fn: () => Promise<T>): Promise<T> {
  const logger = ports.logger?.(config) ?? SILENT;
  const start = ports.now();
  try {
    const value = await fn();
    logger.info({ command, ...fields, ms: ports.now() - start }, `${command} done`);
    return value;
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? (error as { code: unknown }).code : undefined;
    logger.warn({ command, ...fields, ms: ports.now() - start, code, error: error instanceof Error ? error.message : String(error) }, `${command} failed`);
    throw error;
  }
}

async function withDatastore<T>(ports: TwillPluginPorts, config: TwillConfig, fn: (datastore: Datastore) => Promise<T>): Promise<T> {
  const { datastore, release } = await ports.openDatastore(config);
  try {
    return await fn(datastore);
  } finally {
    await release();
  }
}

function podArg(request: RequestBase, name: string): string | undefined {
  const value = request.args.pairs.get(name);
  return value === undefined || value === '' ? undefined : value;
}

/** One step of a failed ADD's undo, on the datastore open at that time. */
type UndoStep = (datastore: Datastore) => Promise<void>;

// Runs the undo steps newest first; their own failures must not hide the original one.
async function undo(datastore: Datastore, steps: UndoStep[]): Promise<void> {
  for (const step of [...steps].reverse()) {
    try {
      await step(datastore);
    } catch {
      // best effort: the original error is what the runtime needs to see
    }
  }
}

const isV6 = (cidr: string): boolean => cidr.includes(':');

// The endpoint as a person finds it: the pod when the runtime named it, and the attachment.
function describeEndpoint(record: EndpointRecord): string {
  const pod = record.namespace !== undefined && record.pod !== undefined ? `pod ${record.namespace}/${record.pod}, ` : '';
  return `${pod}container ${record.containerId} on ${record.network} (${record.hostInterface})`;
}

// Policy in place before ADD returns; a failure is transient for the runtime (spec code 11, try again).
async function enforcePolicy(endpoints: EndpointRegistry, record: EndpointRecord): Promise<void> {
  if (endpoints.enforce === undefined) return;
  try {
    await endpoints.enforce(record);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TwillPluginError(CNI_ERROR.TRY_AGAIN_LATER, `twill: the policy of ${describeEndpoint(record)} could not be put in place`, reason, { cause: error });
  }
}

async function add(ports: TwillPluginPorts, request: AddRequest): Promise<CniResult> {
  const config = configOf(ports, request);
  const hostInterface = hostInterfaceName(request.containerId, request.ifName);
  const fields = { containerId: request.containerId, ifName: request.ifName, hostInterface };
  return logged(ports, config, 'ADD', fields, async () => {
    const added = await withDatastore(ports, config, async (datastore) => {
      // One attachment per container and network (the IPAM handle's model): a second ADD
      // must not touch the first one's record, addresses or links.
      const existing = await datastore.endpoints.get(config.network, request.containerId);
      if (existing !== undefined) throw new AttachmentExistsError(config.network, request.containerId, existing.ifName);
      const undoSteps: UndoStep[] = [];
      try {
        const ipam = await allocateAddresses(config, datastore, request, ports);
        undoSteps.push((open) => releaseAddresses(config, open, request, ports));
        const namespace = podArg(request, 'K8S_POD_NAMESPACE');
        const pod = podArg(request, 'K8S_POD_NAME');
        const record: EndpointRecord = {
          network: config.network,
          containerId: request.containerId,
          ifName: request.ifName,
          hostInterface,
          addresses: ipam.addresses,
          netns: request.netns,
          ...(namespace === undefined ? {} : { namespace }),
          ...(pod === undefined ? {} : { pod }),
          since: ports.now(),
          node: config.ipam.kind === 'pools' ? config.ipam.pools.nodeName : ports.hostname(),
        };
        // Recorded before the links exist: a process killed half way leaves a record, so
        // GC finds and removes the links it may have made.
        await datastore.endpoints.register(record);
        undoSteps.push((open) => open.endpoints.unregister(config.network, request.containerId));
        const plumbing = { netns: request.netns, ifName: request.ifName, hostInterface, mtu: config.mtu, addresses: ipam.addresses };
        const plumbed = await ports.plumbing.add(plumbing);
        undoSteps.push(() => ports.plumbing.remove(plumbing));
        const result: Result110 = {
          cniVersion: '1.1.0',
          interfaces: [
            { name: hostInterface, ...(plumbed.hostMac === undefined ? {} : { mac: plumbed.hostMac }) },
            { name: request.ifName, ...(plumbed.podMac === undefined ? {} : { mac: plumbed.podMac }), sandbox: request.netns },
          ],
          ips: ipam.addresses.map((address) => ({ address, gateway: isV6(address) ? POD_GATEWAY_V6 : POD_GATEWAY_V4, interface: 1 })),
          routes: [
            ...(ipam.addresses.some((a) => !isV6(a)) ? [{ dst: '0.0.0.0/0', gw: POD_GATEWAY_V4 }] : []),
            ...(ipam.addresses.some(isV6) ? [{ dst: '::/0', gw: POD_GATEWAY_V6 }] : []),
          ],
          ...(ipam.dns === undefined ? {} : { dns: ipam.dns }),
        };
        return { result, record, undoSteps, endpoints: datastore.endpoints };
      } catch (error) {
        await undo(datastore, undoSteps);
        throw error;
      }
    });
    // Outside the datastore's turn: a warm agent serves other calls meanwhile, and the
    // endpoints of concurrent ADDs are programmed in one dataplane apply.
    try {
      await enforcePolicy(added.endpoints, added.record);
    } catch (error) {
      await withDatastore(ports, config, (datastore) => undo(datastore, added.undoSteps));
      throw error;
    }
    return added.result;
  });
}

async function del(ports: TwillPluginPorts, request: AttachmentRequest): Promise<void> {
  const config = configOf(ports, request);
  const hostInterface = hostInterfaceName(request.containerId, request.ifName);
  const fields = { containerId: request.containerId, ifName: request.ifName, hostInterface };
  await logged(ports, config, 'DEL', fields, () => withDatastore(ports, config, async (datastore) => {
    // Links first, so an address is never free for another pod while its route is still here.
    await ports.plumbing.remove({ netns: request.netns, ifName: request.ifName, hostInterface });
    await releaseAddresses(config, datastore, request, ports);
    await datastore.endpoints.unregister(config.network, request.containerId);
  }));
}

function prevAddresses(request: CheckRequest): string[] {
  const prev = request.config.prevResult;
  if (prev === undefined || !('ips' in prev)) return [];
  // Only the pod's own (interface index 1 in twill's result); chained plugins may add others.
  return (prev.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === 1).map((ip) => ip.address);
}

async function check(ports: TwillPluginPorts, request: CheckRequest): Promise<void> {
  const config = configOf(ports, request);
  const hostInterface = hostInterfaceName(request.containerId, request.ifName);
  const addresses = prevAddresses(request);
  await withDatastore(ports, config, async (datastore) => {
    const drift = [
      ...(addresses.length === 0 ? ['prevResult: no address of the pod interface'] : []),
      ...(await ports.plumbing.check({ netns: request.netns, ifName: request.ifName, hostInterface, mtu: config.mtu, addresses })),
      ...(await checkAddresses(config, datastore, request, addresses, ports)),
    ];
    const endpoint = await datastore.endpoints.get(config.network, request.containerId);
    if (endpoint === undefined) drift.push(`endpoint: ${config.network}/${request.containerId} is not registered`);
    else if (datastore.endpoints.checkPolicy !== undefined) drift.push(...(await datastore.endpoints.checkPolicy(endpoint)));
    if (drift.length > 0) throw new AttachmentDriftError(drift);
  });
}

async function gc(ports: TwillPluginPorts, request: GcRequest): Promise<void> {
  const config = configOf(ports, request);
  const valid = new Set(request.validAttachments.map((a) => `${a.containerID}\n${a.ifname}`));
  await logged(ports, config, 'GC', { valid: valid.size }, () => withDatastore(ports, config, async (datastore) => {
    for (const endpoint of await datastore.endpoints.list(config.network)) {
      if (valid.has(`${endpoint.containerId}\n${endpoint.ifName}`)) continue;
      // The pod's namespace may live on; its end goes with the host end.
      await ports.plumbing.remove({ netns: undefined, ifName: endpoint.ifName, hostInterface: endpoint.hostInterface });
      if (config.ipam.kind === 'delegate') {
        const attachment: AttachmentRequest = { ...request, containerId: endpoint.containerId, ifName: endpoint.ifName, netns: undefined };
        await releaseAddresses(config, datastore, attachment, ports);
      }
      await datastore.endpoints.unregister(config.network, endpoint.containerId);
    }
    await gcPools(config, datastore, request.validAttachments);
  }));
}

const STATUS_KEY = 'twill-status/probe';

async function status(ports: TwillPluginPorts, request: RequestBase): Promise<void> {
  const config = configOf(ports, request);
  let location = config.dataDir;
  try {
    await withDatastore(ports, config, async (datastore) => {
      location = datastore.location;
      for (const op of [{ type: 'put', key: STATUS_KEY, value: String(ports.now()) }, { type: 'delete', key: STATUS_KEY }] as const) {
        if (!(await datastore.store.commit([op])).ok) throw new Error('the store stayed locked');
      }
    });
  } catch (error) {
    if (error instanceof DatastoreNotReadyError) throw error;
    throw new DatastoreNotReadyError(location, error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/**
 * The twill plugin's handlers for cni-core's runPlugin (or servePlugins):
 * - ADD: IPAM, the endpoint (with its node), the veth pair (pod `eth0` with `IP/32` and
 *   `/128`, default routes via 169.254.1.1 and fe80::1 on-link; host `tw<hash>` with proxy
 *   ARP and a route per address), then the registry's `enforce` when it has one (policy in
 *   place before ADD returns; a failure is code 11, try again); a 1.1.0 result converted
 *   to the request's version. A failed ADD undoes every step.
 * - DEL: links, then addresses (by handle), then the endpoint; idempotent, also with the
 *   namespace gone.
 * - CHECK: links, addresses, routes, IPAM, the endpoint and (with the agent) its policy
 *   attachment against prevResult; drift is AttachmentDriftError (121) with every
 *   difference in `details`.
 * - GC: every endpoint of the network not in `cni.dev/valid-attachments` loses its links,
 *   addresses and record.
 * - STATUS: code 50 while the datastore cannot be written.
 */
export function createTwillPluginHandlers(ports: TwillPluginPorts): PluginHandlers {
  return {
    add: (request) => add(ports, request),
    del: (request) => del(ports, request),
    check: (request) => check(ports, request),
    gc: (request) => gc(ports, request),
    status: (request) => status(ports, request),
  };
}
