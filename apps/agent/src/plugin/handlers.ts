// The twill CNI plugin's commands over its ports: IPAM, then the endpoint record, then the
// veth plumbing, then the endpoint's policy (when the registry enforces it); each step
// undone when a later one fails, so a failed ADD leaves nothing. Only the store work runs
// in the datastore's turn (a warm agent gives one call at a time per database): the
// kernel work and the policy of many calls run at once, and the calls on one attachment
// run one after another (CallOrder).
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

import { CallOrder } from './call-order.js';
import { type TwillConfig, parseTwillConfig } from './config.js';
import {
  AgentNotRunningError,
  AttachmentDriftError,
  AttachmentExistsError,
  DatastoreMismatchError,
  DatastoreNotReadyError,
  PodArgsMissingError,
  TwillPluginError,
} from './errors.js';
import { allocateAddresses, checkAddresses, gcPools, type IpamAnswer, releaseAddresses } from './ipam.js';
import { hostInterfaceName, POD_GATEWAY_V4, POD_GATEWAY_V6 } from './names.js';
import {
  type Datastore,
  type EndpointRecord,
  type EndpointRegistry,
  type PlumbedPod,
  type PodDirectory,
  type PodPlumbingRequest,
  type TwillLogger,
  type TwillPluginPorts,
} from './ports.js';

/**
 * The parsed configurations of the last calls: a warm agent gets the same network
 * configuration call after call, and parsing its pools (addresses, prefixes, blocks) was
 * a tenth of the agent's CPU per pod. Keyed by the configuration as sent, without prevResult.
 */
class ConfigCache {
  static readonly #SIZE = 16;
  readonly #parsed = new Map<string, TwillConfig>();

  of(ports: TwillPluginPorts, request: RequestBase): TwillConfig {
    const defaultNodeName = ports.hostname();
    // prevResult (DEL, CHECK) differs per pod and is not part of twill's configuration.
    const key = `${defaultNodeName}\n${JSON.stringify(request.config.raw, (name, value: unknown) => (name === 'prevResult' ? undefined : value))}`;
    const cached = this.#parsed.get(key);
    if (cached !== undefined) return cached;
    const config = parseTwillConfig(request.config.raw, { defaultNodeName });
    if (this.#parsed.size >= ConfigCache.#SIZE) this.#parsed.delete(this.#parsed.keys().next().value!);
    this.#parsed.set(key, config);
    return config;
  }
}

// The configuration's datastore must be the one this process works on: the standalone
// plugin opens SQLite only; an agent serves its own. Checked before any step of a call.
function checkDatastore(ports: TwillPluginPorts, config: TwillConfig): TwillConfig {
  if (ports.datastore === undefined) {
    if (config.datastore !== 'sqlite') throw new AgentNotRunningError(config.agentSocket, config.datastore);
  } else if (ports.datastore !== config.datastore) {
    throw new DatastoreMismatchError(config.datastore, ports.datastore);
  }
  return config;
}

function configOf(ports: TwillPluginPorts, configs: ConfigCache, request: RequestBase): TwillConfig {
  return checkDatastore(ports, configs.of(ports, request));
}

// On the Kubernetes datastore, ADD's Pod must exist (and be named) before anything is taken.
async function requirePod(pods: PodDirectory, request: RequestBase): Promise<void> {
  const namespace = podArg(request, 'K8S_POD_NAMESPACE');
  const pod = podArg(request, 'K8S_POD_NAME');
  if (namespace === undefined || pod === undefined) {
    throw new PodArgsMissingError([...(namespace === undefined ? ['K8S_POD_NAMESPACE'] : []), ...(pod === undefined ? ['K8S_POD_NAME'] : [])]);
  }
  await pods.require(namespace, pod);
}

/** What the calls of one set of handlers share. */
interface Calls {
  readonly order: CallOrder;
  readonly configs: ConfigCache;
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

// One attachment per container and network (the IPAM handle's model): the key its calls are ordered by.
function attachmentKey(config: TwillConfig, request: RequestBase & { containerId: string }): string {
  return `${config.network}\n${request.containerId}`;
}

/** One step of a failed ADD's undo, on the datastore open at that time. */
type UndoStep = (datastore: Datastore) => Promise<void>;

// Runs the undo steps newest first; their own failures must not hide the original one.
async function undo(datastore: Datastore, steps: readonly UndoStep[]): Promise<void> {
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

/** What ADD's turn in the datastore took: the addresses and the record, and how to give them back. */
interface Held {
  readonly addresses: readonly string[];
  readonly dns: IpamAnswer['dns'];
  readonly record: EndpointRecord;
  readonly endpoints: EndpointRegistry;
  readonly undoSteps: readonly UndoStep[];
}

// ADD's store work, in one turn: the existence check, the addresses, the record.
async function hold(ports: TwillPluginPorts, config: TwillConfig, request: AddRequest, hostInterface: string, datastore: Datastore): Promise<Held> {
  // A second ADD must not touch the first one's record, addresses or links.
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
    return { addresses: ipam.addresses, dns: ipam.dns, record, endpoints: datastore.endpoints, undoSteps };
  } catch (error) {
    await undo(datastore, undoSteps);
    throw error;
  }
}

function resultOf(request: AddRequest, held: Held, plumbed: PlumbedPod): Result110 {
  const { addresses, dns } = held;
  return {
    cniVersion: '1.1.0',
    interfaces: [
      { name: held.record.hostInterface, ...(plumbed.hostMac === undefined ? {} : { mac: plumbed.hostMac }) },
      { name: request.ifName, ...(plumbed.podMac === undefined ? {} : { mac: plumbed.podMac }), sandbox: request.netns },
    ],
    ips: addresses.map((address) => ({ address, gateway: isV6(address) ? POD_GATEWAY_V6 : POD_GATEWAY_V4, interface: 1 })),
    routes: [
      ...(addresses.some((a) => !isV6(a)) ? [{ dst: '0.0.0.0/0', gw: POD_GATEWAY_V4 }] : []),
      ...(addresses.some(isV6) ? [{ dst: '::/0', gw: POD_GATEWAY_V6 }] : []),
    ],
    ...(dns === undefined ? {} : { dns }),
  };
}

async function add(ports: TwillPluginPorts, { order, configs }: Calls, request: AddRequest): Promise<CniResult> {
  const config = configOf(ports, configs, request);
  const hostInterface = hostInterfaceName(request.containerId, request.ifName);
  const fields = { containerId: request.containerId, ifName: request.ifName, hostInterface };
  return logged(ports, config, 'ADD', fields, () =>
    order.attachment(attachmentKey(config, request), async () => {
      if (ports.pods !== undefined) await requirePod(ports.pods, request);
      const held = await withDatastore(ports, config, (datastore) => hold(ports, config, request, hostInterface, datastore));
      // Gives back what the turn took, in a turn of its own; the original error is what the runtime sees.
      const giveBack = (): Promise<void> => withDatastore(ports, config, (datastore) => undo(datastore, held.undoSteps)).catch(() => undefined);
      // The kernel work and the policy run outside the datastore's turn: a warm agent
      // serves other calls meanwhile, and the endpoints of concurrent ADDs are
      // programmed in one dataplane apply.
      const plumbing: PodPlumbingRequest = { netns: request.netns, ifName: request.ifName, hostInterface, mtu: config.mtu, addresses: held.addresses };
      let plumbed: PlumbedPod;
      try {
        plumbed = await ports.plumbing.add(plumbing);
      } catch (error) {
        // All or nothing: a failed plumbing removed what it made.
        await giveBack();
        throw error;
      }
      try {
        await enforcePolicy(held.endpoints, held.record);
      } catch (error) {
        // Links first, as DEL: an address is never free while its route is here. Links
        // that cannot be removed keep their record and addresses, for DEL or GC to finish.
        const unplumbed = await ports.plumbing.remove(plumbing).then(
          () => true,
          () => false,
        );
        if (unplumbed) await giveBack();
        throw error;
      }
      // The Pod's IPs for tools that read Calico's annotations; a failure there is logged, not fatal.
      await ports.pods?.added(held.record);
      return resultOf(request, held, plumbed);
    }),
  );
}

async function del(ports: TwillPluginPorts, { order, configs }: Calls, request: AttachmentRequest): Promise<void> {
  const config = configOf(ports, configs, request);
  const hostInterface = hostInterfaceName(request.containerId, request.ifName);
  const fields = { containerId: request.containerId, ifName: request.ifName, hostInterface };
  await logged(ports, config, 'DEL', fields, () =>
    order.attachment(attachmentKey(config, request), async () => {
      // Links first, outside the datastore's turn, so an address is never free for
      // another pod while its route is still here.
      await ports.plumbing.remove({ netns: request.netns, ifName: request.ifName, hostInterface });
      const record = await withDatastore(ports, config, async (datastore) => {
        // The record names the Pod whose annotations DEL removes.
        const known = ports.pods === undefined ? undefined : await datastore.endpoints.get(config.network, request.containerId);
        await releaseAddresses(config, datastore, request, ports);
        await datastore.endpoints.unregister(config.network, request.containerId);
        return known;
      });
      if (record !== undefined) await ports.pods?.deleted(record);
    }),
  );
}

function prevAddresses(request: CheckRequest): string[] {
  const prev = request.config.prevResult;
  if (prev === undefined || !('ips' in prev)) return [];
  // Only the pod's own (interface index 1 in twill's result); chained plugins may add others.
  return (prev.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === 1).map((ip) => ip.address);
}

async function check(ports: TwillPluginPorts, { order, configs }: Calls, request: CheckRequest): Promise<void> {
  const config = configOf(ports, configs, request);
  const hostInterface = hostInterfaceName(request.containerId, request.ifName);
  const addresses = prevAddresses(request);
  await order.attachment(attachmentKey(config, request), async () => {
    const kernel = await ports.plumbing.check({ netns: request.netns, ifName: request.ifName, hostInterface, mtu: config.mtu, addresses });
    const stored = await withDatastore(ports, config, async (datastore) => ({
      ipam: await checkAddresses(config, datastore, request, addresses, ports),
      endpoint: await datastore.endpoints.get(config.network, request.containerId),
      endpoints: datastore.endpoints,
    }));
    const drift = [...(addresses.length === 0 ? ['prevResult: no address of the pod interface'] : []), ...kernel, ...stored.ipam];
    if (stored.endpoint === undefined) drift.push(`endpoint: ${config.network}/${request.containerId} is not registered`);
    else if (stored.endpoints.checkPolicy !== undefined) drift.push(...(await stored.endpoints.checkPolicy(stored.endpoint)));
    if (drift.length > 0) throw new AttachmentDriftError(drift);
  });
}

async function gc(ports: TwillPluginPorts, { order, configs }: Calls, request: GcRequest): Promise<void> {
  const config = configOf(ports, configs, request);
  const valid = new Set(request.validAttachments.map((a) => `${a.containerID}\n${a.ifname}`));
  // Alone: no ADD is between its record and its links, no DEL between its links and its record.
  await logged(ports, config, 'GC', { valid: valid.size }, () =>
    order.exclusive(() =>
      withDatastore(ports, config, async (datastore) => {
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
      }),
    ),
  );
}

const STATUS_KEY = 'twill-status/probe';

async function status(ports: TwillPluginPorts, { configs }: Calls, request: RequestBase): Promise<void> {
  const config = configOf(ports, configs, request);
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
 *
 * Every command first checks the configuration's `datastore` against the process: the
 * standalone plugin (no `ports.datastore`) serves only `sqlite` and answers code 50 (twill-agent
 * is not running) for `kubernetes`; an agent refuses the other type (code 7). With
 * `ports.pods` (the agent on Kubernetes), ADD looks the Pod up before anything is taken
 * (code 4 without K8S_POD_NAMESPACE/K8S_POD_NAME, 123 when it does not exist) and records
 * the addresses on it once done; DEL removes them after the record is gone.
 *
 * Calls on one attachment (network and container ID) run one after another, calls on
 * different attachments at the same time, GC alone. Of each call, only the store work
 * (ADD: the existence check, IPAM and the record; DEL: the release and the record) is
 * done in the datastore's turn; links and policy are outside it.
 */
export function createTwillPluginHandlers(ports: TwillPluginPorts): PluginHandlers {
  const calls: Calls = { order: new CallOrder(), configs: new ConfigCache() };
  return {
    add: (request) => add(ports, calls, request),
    del: (request) => del(ports, calls, request),
    check: (request) => check(ports, calls, request),
    gc: (request) => gc(ports, calls, request),
    status: (request) => status(ports, calls, request),
  };
}
