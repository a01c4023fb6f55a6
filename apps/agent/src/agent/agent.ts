// The composition root of twill-agent: the resource datastore, the dataplane, the
// controllers, the L7 proxy and its redirect, the flow observer, the API socket, the served `twill` plugin and the health server, started
// in that order and stopped the other way. Every part comes through AgentPorts (the real ones by default,
// fakes in tests).
import { type PluginServer } from '@twill/cni-core';
import { FlowRing, type ObserverServer, type ObserverService } from '@twill/flows';
import { parsePoolIpamConfig, PoolAllocator } from '@twill/ipam';
import { pino } from 'pino';

import { type Dataplane, type DataplaneFlowHandler, type DataplaneFlowReader, type DataplaneStatus } from '../dataplane/port.js';
import { databasePath } from '../plugin/config.js';
import { StoreEndpointRegistry } from '../plugin/endpoints.js';
import { type EndpointRecord } from '../plugin/ports.js';
import { type ServeTwillOptions } from '../plugin/sys/serve.js';
import { type ApiBgpSource, type ApiSource } from './api/source.js';
import { type AgentConfig, type ListenAddress } from './config.js';
import { FlowObserver } from './flows/observer.js';
import { IndexL7PolicySource, type L7PolicyView } from './l7/policy-source.js';
import { proxyDeniedEvent } from './l7/denied-flow.js';
import { type L7Endpoint, type L7FlowSink, type L7PolicySource } from './l7/ports.js';
import { type L7RedirectTargets, NO_L7_TARGETS } from './l7/redirect-targets.js';
import { type L7Service, type L7ServiceStatus } from './l7/sys/service.js';
import { type FlowPolicyView } from './flows/policy-view.js';
import { type HealthSource, type ReadinessPart, readinessReport } from './health.js';
import { PrometheusAgentMetrics } from './metrics.js';
import { DatastorePodDirectory } from './pod-directory.js';
import { type AgentController, type AgentLogger, type AgentMetrics, type ResourceDatastore } from './ports.js';
import { type ApiServer } from './sys/api-server.js';
import { type HealthServer } from './sys/http.js';
import { type UiSource, withoutUiToken, withUiToken } from './ui/router.js';

/** The resource datastore the agent opens, and closes last. */
export interface AgentDatastore extends ResourceDatastore {
  close(): Promise<void>;
}

/** What the controllers are built from. */
export interface AgentContext {
  readonly config: AgentConfig;
  readonly datastore: AgentDatastore;
  /** Undefined with `dataplane: none`. */
  readonly dataplane: Dataplane | undefined;
  readonly metrics: AgentMetrics;
  readonly logger: AgentLogger;
  /**
   * Told the traffic L7 rules decide on this node (the policy controller's `onL7Targets`):
   * at start and on every change, growing before the apply that programs it and shrinking
   * after; the apply waits for the returned promise (the redirect installed).
   */
  readonly onL7Targets?: (targets: L7RedirectTargets) => void | Promise<void>;
}

/** What the served plugin calls for each endpoint (the policy controller's `enforce`/`forget`). */
export interface AgentEndpointHooks {
  /** Resolves once the endpoint's policy is programmed: ADD returns after it. */
  enforce(record: EndpointRecord): Promise<void>;
  /** Drops what was programmed for a container's endpoint, after its record is gone. */
  forget(network: string, containerId: string): Promise<void>;
  /** What CHECK reports about the endpoint's policy attachment, in words; empty when in place. */
  check?(record: EndpointRecord): Promise<readonly string[]>;
}

/** The controllers the agent runs, and what the served plugin and `/v1/status` need of them. */
export interface AgentControllers {
  /** Started in this order (each `start()` awaited), stopped in the reverse order. */
  readonly controllers: readonly AgentController[];
  /** Given to the served plugin: policy in place before ADD returns. */
  readonly endpoints?: AgentEndpointHooks;
  /** Each controller's own status for `/v1/status`, by controller name (`bgp` has the peers). */
  status?(): Readonly<Record<string, unknown>>;
  /** The BGP controller, for the API's `/v1/bgp` (absent: BGP does not run here). */
  readonly bgp?: ApiBgpSource;
  /** Releases what the controllers share (a netlink socket), after they all stopped. */
  release?(): Promise<void> | void;
  /** What flows are enriched from (the policy controller's `flowView()`); absent: flows carry addresses only. */
  readonly flows?: FlowPolicyView;
  /** What the L7 proxy asks about each connection (the policy controller's `l7View()`); absent: no L7 proxy. */
  readonly l7?: L7PolicyView;
}

/** What the agent starts its L7 proxy and redirect with (startL7Service of l7/sys/service.ts). */
export interface AgentL7StartOptions {
  readonly config: AgentConfig['l7'];
  readonly policy: L7PolicySource;
  readonly onFlow: L7FlowSink;
  /** A connection L3/L4 policy denied in the proxy (one the kernel could not drop first). */
  readonly onConnectionDenied: (client: L7Endpoint, destination: L7Endpoint, why: string) => void;
  readonly logger: AgentLogger;
}

/** What the agent serves the flow observer with: the ring, on the configured socket and TCP address. */
export interface AgentFlowsServeOptions {
  readonly service: ObserverService;
  readonly socket: string;
  readonly listen?: ListenAddress;
}

/** What the agent serves the dashboard with (listenUi of ui/sys/ui-server.ts, the built files from @twill/ui). */
export interface AgentUiServeOptions {
  readonly listen: ListenAddress;
  /** Any Host header answered (a non-loopback address allowed by `ui.listenInsecure`). */
  readonly anyHost: boolean;
  /** Whether the API and live flows need a per-start token (`ui.token`, default true). */
  readonly token: boolean;
  readonly maxClients: number;
  readonly source: Omit<UiSource, 'files'>;
  readonly logger: AgentLogger;
}

/** A served dashboard. */
export interface AgentUiServer {
  readonly address: ListenAddress;
  /** Live flow streams open now. */
  readonly clients: number;
  /** The token the page's URL carries (`ui.token`); undefined: none. */
  readonly token?: string | undefined;
  close(): Promise<void>;
}

/** How the agent serves the plugin: serveTwill's options plus the CNI metrics hook. */
export type AgentServeOptions = ServeTwillOptions & {
  /** Observes each CNI request (see instrumentPluginHandlers). */
  readonly metrics: AgentMetrics;
};

/** The parts of the agent; each defaults to the real one (see `nodeAgentPorts` in sys/main.ts). */
export interface AgentPorts {
  readonly logger?: AgentLogger;
  readonly metrics?: PrometheusAgentMetrics;
  /** Opens the configured resource datastore (`<dataDir>/twill.db`, or the Kubernetes API). */
  openDatastore(config: AgentConfig, logger: AgentLogger): Promise<AgentDatastore>;
  /** Creates the configured dataplane (adopting the kernel's state), or none. */
  openDataplane(config: AgentConfig, logger: AgentLogger): Promise<Dataplane | undefined>;
  /** Builds the controllers (not started yet). */
  controllers(context: AgentContext): AgentControllers;
  /** Serves the `twill` plugin on the agent socket (serveTwill). */
  serve(options: AgentServeOptions): Promise<PluginServer>;
  /** Serves /healthz, /readyz, /metrics and /v1/status. */
  listenHealth(listen: ListenAddress, source: HealthSource): Promise<HealthServer>;
  /** Serves the API (API.md) on its unix socket (listenApi in sys/api-server.ts). */
  listenApi(socketPath: string, source: ApiSource): Promise<ApiServer>;
  /**
   * Serves the flow observer (serveObserver of @twill/flows, its socket's folder created);
   * absent: the agent neither reads the dataplane's verdicts nor serves flows (nor does it
   * with `dataplane: none`, which gives no verdicts).
   */
  serveFlows?(options: AgentFlowsServeOptions): Promise<ObserverServer>;
  /** Serves the web dashboard (issue 15) when `ui.enabled`; absent: not served. */
  listenUi?(options: AgentUiServeOptions): Promise<AgentUiServer>;
  /** Starts the L7 proxy and its tproxy redirect (issue 14) when `l7.enabled`; absent: L7 rules allow at L3/L4. */
  startL7?(options: AgentL7StartOptions): Promise<L7Service>;
  /**
   * Removes the redirect an earlier run with L7 kept (removeL7Redirect of l7/sys/service.ts),
   * when this run has no L7 proxy: the redirect would send connections to a closed port.
   */
  removeL7Redirect?(config: AgentConfig['l7']): Promise<void>;
}

/** The `/v1/status` document. */
export interface AgentStatus {
  readonly node: string;
  readonly network: string;
  readonly ready: boolean;
  readonly notReady: readonly string[];
  /**
   * The datastore: its type, where it lives (the SQLite file, or the API server's URL) and
   * whether it is open; `path` is `location` (kept for older CLIs).
   */
  readonly datastore: { readonly type: AgentConfig['datastore']['type']; readonly location: string; readonly path: string; readonly open: boolean };
  readonly cniSocket: { readonly path: string; readonly listening: boolean; readonly inFlight: number };
  /** The API's socket (API.md). */
  readonly apiSocket: { readonly path: string; readonly listening: boolean };
  readonly dataplane: DataplaneStatus | { readonly driver: 'none' } | { readonly driver: string; readonly error: string };
  /** This node's endpoints, as the datastore records them. */
  readonly endpoints: readonly EndpointRecord[];
  readonly controllers: Readonly<Record<string, unknown>>;
  /**
   * The flow observer: its socket (and TCP address), whether it serves, flows seen, events
   * lost (every source) and the ring's capacity; `enabled: false` with why (`--no-flows`, no dataplane).
   */
  readonly flows: AgentFlowsStatus;
  /** The web dashboard: its URL and whether it serves; `enabled: false` with why (`--no-ui`). */
  readonly ui: AgentUiStatus;
  /** The L7 proxy and its redirect; `enabled: false` with why (`--no-l7`, no dataplane). */
  readonly l7: AgentL7Status;
}

/** The L7 proxy's part of `/v1/status`. */
export type AgentL7Status =
  | { readonly enabled: false; readonly reason: string }
  | ({
      readonly enabled: true;
      /** Whether the proxy listens and its redirect is installed. */
      readonly running: boolean;
      /** Why it does not run (a port in use, no nft_tproxy); traffic L7 rules decide is then denied (see `failClosed`). */
      readonly error?: string;
      /**
       * Whether traffic L7 rules decide is denied when it misses the proxy: both dataplanes'
       * Allow rules with L7 rules admit only the proxy's marked traffic. (With eBPF the
       * check is made where traffic enters a pod: a pod's egress L7 rule towards another
       * node is not checked without the redirect; the destination's own rules still are.)
       */
      readonly failClosed: boolean;
    } & Partial<L7ServiceStatus>);

/** The dashboard's part of `/v1/status` (what `twill ui` opens). */
export type AgentUiStatus =
  | { readonly enabled: false; readonly reason: string }
  | {
      readonly enabled: true;
      /** `http://127.0.0.1:9098/#token=...` (no token with `ui.token: false`): what a browser on this host opens. */
      readonly url: string;
      readonly listen: ListenAddress;
      readonly listening: boolean;
      /** Why it is not served (the port in use, the files not built); the agent runs on without it. */
      readonly serveError?: string;
      /** Browsers following live flows now. */
      readonly clients: number;
    };

/** The dashboard's URL for a listening address (an unspecified address is reached on loopback). */
export function uiUrlOf(address: ListenAddress): string {
  const host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/`;
}

/** The flow observer's part of `/v1/status`. */
export type AgentFlowsStatus =
  | { readonly enabled: false; readonly reason: string }
  | {
      readonly enabled: true;
      readonly socket: string;
      readonly listen?: ListenAddress;
      readonly listening: boolean;
      /** Why the observer is not served (its socket held by a live process, the TCP port in use); the agent runs on without it. */
      readonly serveError?: string;
      /** Whether the dataplane's verdicts are read (false: no dataplane, a driver without flows, or the reader failed: see `readError`). */
      readonly reading: boolean;
      /** The reader's last failure and when (ISO 8601); `reading` is false until events come after it. */
      readonly readError?: { readonly message: string; readonly time: string };
      readonly seen: number;
      readonly lost: number;
      readonly capacity: number;
    };

/** A started agent. */
export interface RunningAgent {
  /** Where the health server listens (the kernel's port when 0 was configured). */
  readonly http: ListenAddress;
  readonly metrics: PrometheusAgentMetrics;
  /** Whether every part is ready (what `/readyz` answers 200 for). */
  ready(): boolean;
  /** Each part's readiness, in start order. */
  readiness(): readonly ReadinessPart[];
  status(): Promise<AgentStatus>;
  /**
   * Stops the agent: the API and CNI sockets stop accepting and the calls in progress are
   * answered, the controllers stop (in reverse start order), the datastore closes, the
   * health server stops. Enforcement and routes stay in the kernel. Idempotent.
   */
  stop(): Promise<void>;
}

// This node's own addresses, without prefix lengths: flows show them as `reserved:host`.
function nodeAddressesOf(config: AgentConfig): string[] {
  return [config.nodeAddresses.ipv4, config.nodeAddresses.ipv6].flatMap((cidr) => (cidr === undefined ? [] : [cidr.split('/')[0]!]));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// On the Kubernetes datastore the served plugin works on the agent's own Store (the API
// server), looks each ADD's Pod up and annotates it; on SQLite it opens the conflist's file.
function servedDatastore(config: AgentConfig, datastore: AgentDatastore, logger: AgentLogger): Pick<AgentServeOptions, 'datastore' | 'pods'> {
  if (config.datastore.type === 'sqlite') return {};
  return {
    datastore: { type: config.datastore.type, store: datastore.store, location: datastore.location ?? 'the Kubernetes API' },
    pods: new DatastorePodDirectory({ datastore, logger }),
  };
}

/**
 * Starts twill-agent with `config`: the health server first (so `/healthz` answers and
 * `/readyz` says what is still starting), then the datastore, the dataplane, each
 * controller, the flow observer (the dataplane's verdicts read into the ring, served on
 * `flows.socket`; when enabled and `ports.serveFlows` is given), the API socket, and last
 * the CNI socket (for these, a socket left by a killed agent is replaced). Flows are
 * observability: a reader or observer socket that fails is logged and said in `/v1/status`
 * `flows` (and the readiness part's detail), and the agent starts without it.
 * Resolves once all are started.
 * @throws what a part's start throws (the datastore cannot be opened, the socket is
 * served by another live agent, a controller fails); the parts started are stopped first.
 */
export async function startAgent(config: AgentConfig, ports: AgentPorts): Promise<RunningAgent> {
  const logger: AgentLogger = ports.logger ?? pino({ name: 'twill-agent', level: config.logLevel });
  const metrics = ports.metrics ?? new PrometheusAgentMetrics();
  // Where the datastore lives: the file, or (once open) the API server's URL.
  const plannedLocation = config.datastore.type === 'sqlite' ? databasePath(config) : `the Kubernetes API (${config.datastore.kubeconfig ?? 'in-cluster service account'})`;
  const datastoreLocation = (): string => datastore?.location ?? plannedLocation;
  let datastore: AgentDatastore | undefined;
  let dataplane: Dataplane | undefined;
  let built: AgentControllers | undefined;
  const started: AgentController[] = [];
  let server: PluginServer | undefined;
  let api: ApiServer | undefined;
  let ui: AgentUiServer | undefined;
  let uiServeFailure: string | undefined;
  let stopping: Promise<void> | undefined;
  // L7: run when enabled, with a dataplane, by ports that can; the targets arrive from the policy controller.
  const l7Off = !config.l7.enabled
    ? 'l7.enabled is false (--no-l7)'
    : config.dataplane === 'none'
      ? 'dataplane "none" enforces no policy'
      : ports.startL7 === undefined
        ? 'not run by these agent ports'
        : undefined;
  let l7: L7Service | undefined;
  let l7Failure: string | undefined;
  let l7Started = false;
  let l7Targets: L7RedirectTargets = NO_L7_TARGETS;
  // The flow observer: served when enabled, the ports can serve it and a dataplane gives verdicts.
  const flowsOff = !config.flows.enabled
    ? 'flows.enabled is false (--no-flows)'
    : config.dataplane === 'none'
      ? 'dataplane "none" gives no verdicts'
      : ports.serveFlows === undefined
        ? 'not served by these agent ports'
        : undefined;
  const flowsOn = flowsOff === undefined;
  const ring = flowsOn ? new FlowRing({ capacity: config.flows.capacity, nodeName: config.nodeName }) : undefined;
  let observer: FlowObserver | undefined;
  let flowReader: DataplaneFlowReader | undefined;
  let flowServer: ObserverServer | undefined;
  // Set once the observer was started (or failed to): flows never hold the node unready.
  let flowsStarted = false;
  let flowServeFailure: string | undefined;
  // The reader's last error, and whether no event came since (it may have stopped).
  let flowReadFailure: { readonly message: string; readonly time: string } | undefined;
  let readerFailing = false;

  const readiness = (): ReadinessPart[] => [
    { name: 'datastore', ready: datastore !== undefined, ...(datastore === undefined ? { detail: `${datastoreLocation()} is not open` } : {}) },
    ...(built?.controllers ?? []).map((controller) => ({
      name: controller.name,
      ready: started.includes(controller) && controller.ready(),
      ...(started.includes(controller) ? {} : { detail: 'not started' }),
    })),
    ...(flowsOn ? [flowsReadiness()] : []),
    // Ready once tried, running or not: a failed proxy leaves its traffic denied, other pods served.
    ...(l7Off === undefined
      ? [{ name: 'l7', ready: l7Started && stopping === undefined, ...(!l7Started ? { detail: 'the L7 proxy is not started yet' } : l7Failure === undefined ? {} : { detail: `degraded: ${l7Failure}` }) }]
      : []),
    { name: 'api', ready: api !== undefined && stopping === undefined, ...(api === undefined ? { detail: `${config.api.socket} is not served` } : {}) },
    { name: 'cni-socket', ready: server !== undefined && stopping === undefined, ...(server === undefined ? { detail: `${config.agentSocket} is not served` } : {}) },
  ];

  // Ready once started, degraded or not (flows are observability: pods must not wait for them); `detail` says what is degraded.
  const flowsReadiness = (): ReadinessPart => {
    const problems = flowsProblems();
    return {
      name: 'flows',
      ready: flowsStarted && stopping === undefined,
      ...(!flowsStarted ? { detail: `${config.flows.socket} is not served yet` } : problems.length > 0 ? { detail: `degraded: ${problems.join('; ')}` } : {}),
    };
  };

  const flowsProblems = (): string[] => [
    ...(flowServeFailure === undefined ? [] : [flowServeFailure]),
    ...(flowReadFailure === undefined || !readerFailing ? [] : [flowReadFailure.message.startsWith('reading') ? flowReadFailure.message : `reading flows: ${flowReadFailure.message}`]),
  ];

  const allEndpoints = async (): Promise<readonly EndpointRecord[]> =>
    datastore === undefined ? [] : new StoreEndpointRegistry(datastore.store).list(config.network);

  const endpoints = async (): Promise<readonly EndpointRecord[]> => {
    const records = await allEndpoints();
    // Records written before nodes were recorded are this node's (the plugin's rule).
    return records.filter((record) => record.node === undefined || record.node === config.nodeName);
  };

  const dataplaneStatus = async (): Promise<AgentStatus['dataplane']> => {
    if (dataplane === undefined) return config.dataplane === 'none' ? { driver: 'none' } : { driver: config.dataplane, error: 'not open' };
    try {
      return await dataplane.status();
    } catch (error) {
      return { driver: dataplane.driver, error: errorText(error) };
    }
  };

  const status = async (): Promise<AgentStatus> => {
    const report = readinessReport(readiness());
    return {
      node: config.nodeName,
      network: config.network,
      ready: report.ready,
      notReady: report.notReady,
      datastore: { type: config.datastore.type, location: datastoreLocation(), path: datastoreLocation(), open: datastore !== undefined },
      cniSocket: { path: config.agentSocket, listening: server !== undefined, inFlight: server?.inFlight ?? 0 },
      apiSocket: { path: config.api.socket, listening: api !== undefined },
      dataplane: await dataplaneStatus(),
      endpoints: await endpoints(),
      controllers: built?.status?.() ?? {},
      flows: flowsStatus(),
      ui: uiStatus(),
      l7: await l7Status(),
    };
  };

  const l7Status = async (): Promise<AgentL7Status> => {
    if (l7Off !== undefined) return { enabled: false, reason: l7Off };
    const failClosed = config.dataplane === 'nftables' || config.dataplane === 'ebpf';
    if (l7 === undefined) return { enabled: true, running: false, failClosed, ...(l7Failure === undefined ? {} : { error: l7Failure }) };
    try {
      const running = await l7.status();
      return { enabled: true, running: running.redirect.installed && stopping === undefined, failClosed, ...running };
    } catch (error) {
      return { enabled: true, running: false, failClosed, error: `reading the L7 proxy's status failed: ${errorText(error)}` };
    }
  };

  const uiStatus = (): AgentUiStatus => {
    if (!config.ui.enabled) return { enabled: false, reason: 'ui.enabled is false (--no-ui)' };
    if (ports.listenUi === undefined) return { enabled: false, reason: 'not served by these agent ports' };
    const listen = ui?.address ?? config.ui.listen;
    return {
      enabled: true,
      url: withUiToken(uiUrlOf(listen), ui?.token),
      listen,
      listening: ui !== undefined && stopping === undefined,
      ...(uiServeFailure === undefined ? {} : { serveError: uiServeFailure }),
      clients: ui?.clients ?? 0,
    };
  };

  const flowsStatus = (): AgentFlowsStatus => {
    if (ring === undefined) return { enabled: false, reason: flowsOff ?? '' };
    const stats = observer?.stats();
    return {
      enabled: true,
      socket: config.flows.socket,
      ...(config.flows.listen === undefined ? {} : { listen: flowServer?.address ?? config.flows.listen }),
      listening: flowServer !== undefined && stopping === undefined,
      ...(flowServeFailure === undefined ? {} : { serveError: flowServeFailure }),
      reading: flowReader !== undefined && !readerFailing,
      ...(flowReadFailure === undefined ? {} : { readError: flowReadFailure }),
      seen: ring.seen,
      lost: stats?.lost ?? 0,
      capacity: ring.capacity,
    };
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const failures: unknown[] = [];
      const step = async (what: string, action: () => Promise<void>): Promise<void> => {
        try {
          await action();
        } catch (error) {
          failures.push(error);
          logger.error({ err: error }, `stopping: ${what} failed`);
        }
      };
      // No new API or CNI call; those in progress are answered before anything they use stops.
      if (ui !== undefined) await step('the dashboard', () => ui!.close());
      if (api !== undefined) await step('the API socket', () => api!.close());
      if (server !== undefined) await step('the CNI socket', () => server!.close());
      // The proxy's connections end; its redirect stays in the kernel (enforcement stays: L7-protected connections are refused until the next start).
      if (l7 !== undefined) await step('the L7 proxy', () => l7!.close({ keepRedirect: true }));
      // Flow streams end before their source stops; the reader stops before the controllers the observer reads.
      if (flowServer !== undefined) await step('the flow observer', () => flowServer!.close());
      if (flowReader !== undefined) await step('the flow reader', async () => flowReader!.close());
      for (const controller of [...started].reverse()) await step(`controller ${controller.name}`, () => controller.stop());
      if (built?.release !== undefined) await step('the controllers\' resources', async () => built!.release!());
      if (datastore !== undefined) await step('the datastore', () => datastore!.close());
      await step('the health server', () => health.close());
      logger.info({ failures: failures.length }, 'twill-agent stopped; enforcement and routes stay in the kernel');
      if (failures.length > 0) throw new AggregateError(failures, `twill-agent: ${failures.length} part(s) failed to stop: ${failures.map(errorText).join('; ')}`);
    })();
    return stopping;
  };

  // The pools the plugin allocates from: the conflist install-cni writes carries
  // `cni.pools` (twillConflist), parsed by the same parser the plugin uses.
  const apiSource = (open: AgentDatastore, controllers: AgentControllers): ApiSource => ({
    datastore: open,
    status,
    endpoints: allEndpoints,
    pools: new PoolAllocator({ config: parsePoolIpamConfig({ pools: config.cni.pools }, { network: config.network, path: ['cni'] }), store: open.store }),
    bgp:
      controllers.bgp ??
      ({
        unavailable:
          config.routing === 'bgp'
            ? 'BGP is not running on this node: no BGP controller was started'
            : `BGP is not running on this node: routing is ${JSON.stringify(config.routing)} (routing "bgp" runs it)`,
      } as const),
  });

  const source: HealthSource = {
    readiness,
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.exposition() }),
    // The health port is any local user's: the dashboard's token stays on the API socket (root's).
    status: async () => {
      const document = await status();
      return document.ui.enabled ? { ...document, ui: { ...document.ui, url: withoutUiToken(document.ui.url) } } : document;
    },
  };

  const health = await ports.listenHealth(config.http.listen, source);
  logger.info({ listen: health.address }, 'health server listening');
  try {
    datastore = await ports.openDatastore(config, logger);
    logger.info({ type: config.datastore.type, location: datastoreLocation() }, 'datastore open');
    dataplane = await ports.openDataplane(config, logger);
    logger.info({ dataplane: dataplane?.driver ?? 'none' }, 'dataplane open');
    built = ports.controllers({
      config,
      datastore,
      dataplane,
      metrics,
      logger,
      onL7Targets: (targets) => {
        l7Targets = targets;
        if (l7 === undefined) return undefined;
        l7.update(targets);
        // The policy controller's apply waits for the redirect (the service logs a failure, never throws).
        return l7.settled();
      },
    });
    if (l7Off === undefined && built.l7 !== undefined && ports.startL7 !== undefined) {
      // Before the controllers start: the redirect is in place before their first apply
      // admits the proxy's traffic; until the index is loaded, every connection is refused.
      try {
        l7 = await ports.startL7({
          config: config.l7,
          policy: new IndexL7PolicySource({ view: built.l7, hostAddresses: nodeAddressesOf(config), logger }),
          onFlow: (record) => observer?.recordL7(record),
          onConnectionDenied: (client, destination) => {
            if (observer !== undefined && built?.flows !== undefined) observer.events([proxyDeniedEvent(built.flows, client, destination, Date.now())]);
          },
          logger,
        });
        l7.update(l7Targets);
        logger.info({ port: config.l7.proxyPort }, 'L7 proxy listening, redirect installed');
      } catch (error) {
        l7Failure = `starting the L7 proxy failed: ${errorText(error)}`;
        logger.error({ err: error }, 'l7: starting the proxy failed; traffic that L7 rules decide is denied until it runs');
      }
    } else if (l7Off === undefined) {
      l7Failure = 'the controllers give no L7 policy view';
    } else if (ports.removeL7Redirect !== undefined) {
      // L7 rules allow at L3/L4 in this run: an earlier run's redirect would reset their connections.
      try {
        await ports.removeL7Redirect(config.l7);
      } catch (error) {
        logger.warn({ err: error }, `l7: could not check for an earlier run's redirect or remove it (if one is there, the connections it redirects are reset): ${errorText(error)}`);
      }
    }
    l7Started = true;
    for (const controller of built.controllers) {
      await controller.start();
      started.push(controller);
      logger.info({ controller: controller.name }, 'controller started');
    }
    if (ring !== undefined && ports.serveFlows !== undefined) {
      // Read once the policy is loaded: earlier verdicts could not be attributed.
      observer = new FlowObserver({
        sink: ring,
        nodeName: config.nodeName,
        ...(built.flows === undefined ? {} : { policy: built.flows }),
        budgetPerSecond: config.flows.budgetPerSecond,
        metrics,
        hostAddresses: nodeAddressesOf(config),
        onError: (error) => logger.warn({ err: error }, 'flows: reading or attributing a verdict failed'),
      });
      // Flows are observability: a reader or an observer socket that fails leaves the node
      // serving pods (logged, and said in /v1/status `flows`), never stops the agent.
      try {
        // The reader's health: a read error (the eBPF reader closes itself on a failed watch)
        // makes `reading` false until events come again (the nftables reader reads on after most).
        const flowsIn = observer;
        const handler: DataplaneFlowHandler = {
          events: (batch) => {
            readerFailing = false;
            flowsIn.events(batch);
          },
          lost: (count, where) => {
            readerFailing = false;
            flowsIn.lost(count, where);
          },
          error: (error) => {
            readerFailing = true;
            flowReadFailure = { message: errorText(error), time: new Date().toISOString() };
            flowsIn.error(error);
          },
        };
        flowReader = dataplane?.readFlows?.(handler);
        if (flowReader === undefined) logger.warn({ dataplane: dataplane?.driver ?? 'none' }, 'flows: the dataplane reports no verdicts; the observer serves no flows');
      } catch (error) {
        readerFailing = true;
        flowReadFailure = { message: `reading the dataplane's verdicts failed: ${errorText(error)}`, time: new Date().toISOString() };
        logger.error({ err: error }, 'flows: reading the dataplane\'s verdicts failed; the agent runs without flows from the kernel');
      }
      try {
        flowServer = await ports.serveFlows({ service: ring, socket: config.flows.socket, ...(config.flows.listen === undefined ? {} : { listen: config.flows.listen }) });
        logger.info({ socket: config.flows.socket, listen: flowServer.address }, 'serving flows');
      } catch (error) {
        flowServeFailure = `serving flows on ${config.flows.socket}${config.flows.listen === undefined ? '' : ` and ${config.flows.listen.host}:${config.flows.listen.port}`} failed: ${errorText(error)}`;
        logger.error({ err: error }, 'flows: serving the flow observer failed; the agent runs without it');
      }
      flowsStarted = true;
    }
    api = await ports.listenApi(config.api.socket, apiSource(datastore, built));
    logger.info({ socket: config.api.socket }, 'serving the API');
    if (config.ui.enabled && ports.listenUi !== undefined) {
      // The dashboard is observability too: one that cannot be served is logged and said in /v1/status `ui`.
      try {
        ui = await ports.listenUi({
          listen: config.ui.listen,
          anyHost: config.ui.listenInsecure,
          token: config.ui.token !== false,
          maxClients: config.ui.maxClients,
          source: { api: apiSource(datastore, built), node: config.nodeName, flows: ring ?? { unavailable: `flows are off on this node: ${flowsOff ?? ''}` } },
          logger,
        });
        logger.info({ url: uiUrlOf(ui.address) }, 'serving the dashboard');
      } catch (error) {
        uiServeFailure = `serving the dashboard on ${config.ui.listen.host}:${config.ui.listen.port} failed: ${errorText(error)}`;
        logger.error({ err: error }, 'ui: serving the dashboard failed; the agent runs without it');
      }
    }
    server = await ports.serve({
      socketPath: config.agentSocket,
      logger,
      metrics,
      ...(built.endpoints === undefined ? {} : { endpoints: built.endpoints }),
      ...servedDatastore(config, datastore, logger),
    });
    logger.info({ socket: config.agentSocket, node: config.nodeName }, 'serving the twill plugin');
  } catch (error) {
    logger.error({ err: error }, 'twill-agent failed to start');
    await stop().catch(() => undefined);
    throw error;
  }

  const address = health.address;
  return {
    http: address,
    metrics,
    ready: () => readinessReport(readiness()).ready,
    readiness,
    status,
    stop,
  };
}
