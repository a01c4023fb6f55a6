// The twill-agent process: the real parts behind AgentPorts, the configuration read from
// its file, the commands (`run`, `install-cni`, `manifests`) and the signals.
import { mkdir, readFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';

import { uiAssetsDir } from '@twill/ui';
import { Command, CommanderError, Option } from 'commander';
import { pino } from 'pino';

import { agentDataplaneOptions, createDataplane } from '../../dataplane/create.js';
import { databasePath } from '../../plugin/config.js';
import { twillBuiltLauncher, twillSourceLauncher } from '../../plugin/sys/install.js';
import { serveTwill } from '../../plugin/sys/serve.js';
import { type AgentPorts, type RunningAgent, startAgent } from '../agent.js';
import {
  AGENT_DATAPLANES,
  AGENT_DATASTORES,
  AGENT_DEFAULTS,
  AGENT_ROUTING_MODES,
  type AgentConfig,
  AgentConfigError,
  type AgentFlags,
  parseAgentConfigText,
  resolveAgentConfig,
} from '../config.js';
import { BgpController } from '../controllers/bgp.js';
import { NodeController } from '../controllers/nodes.js';
import { PolicyController } from '../controllers/policy.js';
import { KernelFibSink } from '../controllers/route-fib.js';
import { RouteController } from '../controllers/routes.js';
import { openResourceDatastore } from '../datastore/index.js';
import { ManifestOptionsError, renderManifests } from '../manifests/index.js';
import { instrumentPluginHandlers } from '../metrics.js';
import { type AgentController } from '../ports.js';
import { listenApi } from './api-server.js';
import { createBgpTransport } from './bgp-transport.js';
import { serveFlows } from './flows-server.js';
import { listenHealth } from './http.js';
import { listenUi } from '../ui/sys/ui-server.js';
import { removeL7Redirect, startL7Service } from '../l7/sys/service.js';
import { installCni } from './install-cni.js';
import { openKernelRouteTable } from './kernel-routes.js';
import { TWILL_LOG_LEVELS } from '../../plugin/config.js';
import { AGENT_VERSION } from './version.js';

/**
 * The real parts, in this process's network namespace: the SQLite datastore in
 * `dataDir` (created when missing) or the Kubernetes API (kubeconfig, else in-cluster), the configured dataplane, the node, policy, route
 * and (with `routing: bgp`) BGP controllers, serveTwill timed for /metrics, node:http
 * for the health server and the API socket.
 */
export function nodeAgentPorts(): AgentPorts {
  return {
    openDatastore: async (config, logger) => {
      if (config.datastore.type === 'kubernetes') {
        // Loaded only here: an agent on SQLite does not load the Kubernetes client.
        const [{ loadKubeConfig }, { openKubernetesDatastore }] = await Promise.all([import('../kubernetes/sys/kubeconfig.js'), import('../kubernetes/sys/datastore.js')]);
        const kubeConfig = loadKubeConfig(config.datastore.kubeconfig === undefined ? {} : { kubeconfig: config.datastore.kubeconfig });
        return openKubernetesDatastore({ kubeConfig, logger, namespace: config.datastore.namespace });
      }
      await mkdir(config.dataDir, { recursive: true, mode: 0o755 });
      return openResourceDatastore({ path: databasePath(config), logger });
    },
    openDataplane: async (config) => (config.dataplane === 'none' ? undefined : createDataplane(agentDataplaneOptions(config.dataplane, config.flows, config.l7))),
    controllers: ({ config, datastore, dataplane, metrics, logger, onL7Targets }) => {
      const table = openKernelRouteTable();
      const nodes = new NodeController({
        datastore,
        nodeName: config.nodeName,
        addresses: config.nodeAddresses,
        ...(config.bgp.asNumber === undefined ? {} : { asNumber: config.bgp.asNumber }),
        logger,
      });
      const policy = new PolicyController({ datastore, dataplane, nodeName: config.nodeName, network: config.network, metrics, logger, ...(onL7Targets === undefined ? {} : { onL7Targets }) });
      const routes = new RouteController({ datastore, nodeName: config.nodeName, routing: config.routing, table, logger });
      const bgp =
        config.routing === 'bgp'
          ? new BgpController({
              datastore,
              nodeName: config.nodeName,
              nodeAddresses: config.nodeAddresses,
              ...(config.bgp.asNumber === undefined ? {} : { asNumber: config.bgp.asNumber }),
              ...(config.bgp.listenPort === undefined ? {} : { listenPort: config.bgp.listenPort }),
              // BGP passwords' Secrets live in the agent's own namespace, as calico-node's do.
              ...(config.datastore.type === 'kubernetes' ? { secretNamespace: config.datastore.namespace } : {}),
              fib: new KernelFibSink({ table, logger }),
              transport: (listen) => createBgpTransport({ listenPort: listen.port }),
              metrics,
              logger,
            })
          : undefined;
      // The Node resource first (routes and BGP read it), policy before the socket opens.
      const controllers: AgentController[] = [nodes, policy, routes, ...(bgp === undefined ? [] : [bgp])];
      return {
        controllers,
        endpoints: { enforce: (record) => policy.enforce(record), forget: (network, containerId) => policy.forget(network, containerId), check: (record) => policy.check(record) },
        status: () => ({ policy: policy.status(), routes: routes.status(), ...(bgp === undefined ? {} : { bgp: bgp.status() }) }),
        ...(bgp === undefined ? {} : { bgp }),
        release: () => table.close(),
        flows: policy.flowView(),
        l7: policy.l7View(),
      };
    },
    serve: ({ metrics, ...options }) => serveTwill({ ...options, wrapHandlers: (handlers) => instrumentPluginHandlers(handlers, metrics) }),
    listenHealth,
    listenApi,
    serveFlows,
    listenUi: (options) => listenUi({ ...options, assetsDir: uiAssetsDir() }),
    startL7: ({ config, ...options }) => startL7Service({ ...options, config }),
    removeL7Redirect: (config) => removeL7Redirect(config),
  };
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

// Interfaces that are not the node's own uplink: loopback, twill's and other CNIs' pod
// links, bridges and tunnels (what Calico's first-found skips, plus twill's `tw`).
const NOT_UPLINK = /^(lo|tw|cali|veth|docker|cni|flannel|kube-ipvs|virbr|vxlan|tunl|br-|wireguard|nodelocaldns)/u;

/**
 * Calico's `first-found` IPv4 autodetection: the first global IPv4 address, with its
 * prefix length, of an interface that is not loopback, a pod link, a bridge or a tunnel,
 * in the order the kernel lists them; undefined when there is none.
 */
export function firstFoundIpv4(interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces()): string | undefined {
  for (const [name, addresses] of Object.entries(interfaces)) {
    if (NOT_UPLINK.test(name)) continue;
    const address = addresses?.find((a) => a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.') && a.cidr !== null);
    if (address?.cidr) return address.cidr;
  }
  return undefined;
}

/** Options of {@link loadAgentConfig}. */
export interface LoadAgentConfigOptions {
  /** The file given with `--config`; without it, {@link AGENT_DEFAULTS.configFile} if it exists. */
  readonly configFile?: string;
  readonly flags?: AgentFlags;
  /** See ResolveAgentConfigOptions.checkRouting. */
  readonly checkRouting?: boolean;
  /** This node's IPv4 address when nothing sets it (default {@link firstFoundIpv4}). */
  readonly detectIpv4?: () => string | undefined;
  /** The environment (`KUBECONFIG`; default this process's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The service account's namespace file (default {@link SERVICE_ACCOUNT_NAMESPACE_FILE}). */
  readonly namespaceFile?: string;
}

/** Where a pod's service account says which namespace it runs in (the agent's, for Secrets). */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

// The agent's namespace from its service account, when it runs in a pod.
async function serviceAccountNamespace(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw new AgentConfigError(path, '', `cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * Reads the configuration file (the one asked for must exist; the default one may not)
 * and resolves it with the flags and the host name.
 * @throws AgentConfigError naming the file (unreadable, not YAML, a bad field) or the flag.
 */
export async function loadAgentConfig(options: LoadAgentConfigOptions = {}): Promise<AgentConfig> {
  const path = options.configFile ?? AGENT_DEFAULTS.configFile;
  let content: string | undefined;
  try {
    content = await readFile(path, 'utf8');
  } catch (error) {
    if (!(options.configFile === undefined && errnoOf(error) === 'ENOENT')) {
      throw new AgentConfigError(path, '', `cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  const kubeconfigEnv = (options.env ?? process.env)['KUBECONFIG'];
  const namespace = await serviceAccountNamespace(options.namespaceFile ?? SERVICE_ACCOUNT_NAMESPACE_FILE);
  return resolveAgentConfig({
    ...(content === undefined ? {} : { file: { path, settings: parseAgentConfigText(path, content) } }),
    ...(options.flags === undefined ? {} : { flags: options.flags }),
    hostname: hostname(),
    ...(options.checkRouting === undefined ? {} : { checkRouting: options.checkRouting }),
    ...withDetected((options.detectIpv4 ?? firstFoundIpv4)()),
    ...(kubeconfigEnv === undefined ? {} : { kubeconfigEnv }),
    ...(namespace === undefined ? {} : { detectedNamespace: namespace }),
  });
}

function withDetected(ipv4: string | undefined): { detectedIpv4?: string } {
  return ipv4 === undefined ? {} : { detectedIpv4: ipv4 };
}

/** Where the program writes, and how it ends (tests substitute them). */
export interface AgentProcessIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Resolves with the signal that asked the agent to stop (SIGTERM, SIGINT). */
  readonly stopSignal: () => Promise<string>;
}

const processIo: AgentProcessIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stopSignal: () =>
    new Promise((resolve) => {
      const stop = (signal: string): void => {
        // A second signal while stopping ends the process at once.
        process.once('SIGTERM', () => process.exit(1));
        process.once('SIGINT', () => process.exit(1));
        resolve(signal);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    }),
};

interface RunFlags extends Omit<AgentFlags, 'flowsListenInsecure' | 'uiListenInsecure'> {
  readonly config?: string;
  /** Commander's `--no-flows`: false when given. */
  readonly flows?: boolean;
  /** Commander's `--flows-listen-insecure`: true when given. */
  readonly flowsListenInsecure?: boolean;
  /** Commander's `--no-ui`: false when given. */
  readonly ui?: boolean;
  /** Commander's `--ui-listen-insecure`: true when given. */
  readonly uiListenInsecure?: boolean;
}

function agentFlags(options: RunFlags): AgentFlags {
  const keys = ['nodeName', 'dataDir', 'datastore', 'kubeconfig', 'agentSocket', 'apiSocket', 'network', 'dataplane', 'routing', 'httpListen', 'logLevel', 'nodeIpv4', 'nodeIpv6', 'binDir', 'confDir', 'flowsSocket', 'flowsListen', 'uiListen'] as const;
  const flags = Object.fromEntries(keys.filter((key) => options[key] !== undefined).map((key) => [key, options[key]])) as AgentFlags;
  return { ...flags, ...(options.flows === false ? { noFlows: 'true' } : {}), ...(options.flowsListenInsecure === true ? { flowsListenInsecure: 'true' } : {}),
    ...(options.ui === false ? { noUi: 'true' } : {}),
    ...(options.uiListenInsecure === true ? { uiListenInsecure: 'true' } : {}),
  };
}

/**
 * Runs twill-agent until SIGTERM or SIGINT: pino JSON logs on stdout at the configured
 * level, then a clean stop (kernel state stays). Resolves with the exit code.
 */
export async function runAgent(config: AgentConfig, io: AgentProcessIo = processIo, ports: AgentPorts = nodeAgentPorts()): Promise<number> {
  const logger = pino({ name: 'twill-agent', level: config.logLevel });
  const signal = io.stopSignal();
  let agent: RunningAgent;
  try {
    agent = await startAgent(config, { ...ports, logger });
  } catch (error) {
    io.stderr(`twill-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  logger.info({ node: config.nodeName, addresses: config.nodeAddresses, http: agent.http, dataplane: config.dataplane, routing: config.routing }, 'twill-agent started');
  logger.info({ signal: await signal }, 'stopping');
  try {
    await agent.stop();
    return 0;
  } catch (error) {
    io.stderr(`twill-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

// The standalone plugin install-cni writes: built when this module runs from dist/.
function standaloneLauncher(): string {
  return import.meta.url.includes('/dist/') ? twillBuiltLauncher() : twillSourceLauncher();
}

/** The `twill-agent` command line (commander), run with `argv` (without node and the script). */
export function agentProgram(io: AgentProcessIo = processIo, onExit: (code: number) => void = () => undefined): Command {
  const program = new Command('twill-agent')
    .description("Twill's node agent: serves the twill CNI plugin, programs policy and routes, speaks BGP.")
    .version(AGENT_VERSION, '-V, --version', "twill-agent's version")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .showHelpAfterError();
  const configOption = (): Option => new Option('-c, --config <file>', `the configuration file, YAML or JSON (default ${AGENT_DEFAULTS.configFile} when it exists)`);

  program
    .command('run', { isDefault: true })
    .description('run the agent until SIGTERM or SIGINT')
    .addOption(configOption())
    .option('--node-name <name>', "this node's name (default: the host name)")
    .option('--data-dir <dir>', `the datastore's folder (default ${AGENT_DEFAULTS.dataDir})`)
    .option('--datastore <type>', `where resources and IPAM live: ${AGENT_DATASTORES.join(', ')} (default ${AGENT_DEFAULTS.datastore})`)
    .option('--kubeconfig <file>', "the Kubernetes datastore's kubeconfig (default: $KUBECONFIG, else the pod's service account)")
    .option('--agent-socket <path>', `the socket the twill forwarder calls (default ${AGENT_DEFAULTS.agentSocket})`)
    .option('--api-socket <path>', `the API socket the twill CLI calls, mode 0600 (default ${AGENT_DEFAULTS.apiSocket})`)
    .option('--network <name>', `the CNI network served (default ${AGENT_DEFAULTS.network})`)
    .option('--dataplane <driver>', `policy dataplane: ${AGENT_DATAPLANES.join(', ')} (default ${AGENT_DEFAULTS.dataplane})`)
    .option('--routing <mode>', `routes to other nodes: ${AGENT_ROUTING_MODES.join(', ')} (default ${AGENT_DEFAULTS.routing})`)
    .option('--node-ipv4 <cidr>', "this node's IPv4 address with its prefix length (10.0.0.1/24)")
    .option('--node-ipv6 <cidr>', "this node's IPv6 address with its prefix length")
    .option('--http-listen <address>', `health, readiness and metrics server (default ${AGENT_DEFAULTS.httpListen})`)
    .option('--log-level <level>', `${TWILL_LOG_LEVELS.join(', ')} (default ${AGENT_DEFAULTS.logLevel})`)
    .option('--flows-socket <path>', `the flow observer's gRPC socket (Hubble's API, what twill observe reads), mode 0660 (default ${AGENT_DEFAULTS.flowsSocket})`)
    .option('--flows-listen <address>', 'also serve the flow observer on TCP, HOST:PORT (no authentication: a non-loopback address needs --flows-listen-insecure)')
    .option('--flows-listen-insecure', 'allow a non-loopback --flows-listen (every pod\'s flows to whoever connects)')
    .option('--no-flows', 'do not read the dataplane\'s verdicts nor serve flows')
    .option('--ui-listen <address>', `the web dashboard, HOST:PORT (default ${AGENT_DEFAULTS.uiListen}; no authentication: a non-loopback address needs --ui-listen-insecure)`)
    .option('--ui-listen-insecure', 'allow a non-loopback --ui-listen (every pod, policy and flow to whoever connects)')
    .option('--no-ui', 'do not serve the web dashboard')
    .action(async (options: RunFlags) => {
      const config = await loadAgentConfig({ ...(options.config === undefined ? {} : { configFile: options.config }), flags: agentFlags(options) });
      onExit(await runAgent(config, io));
    });

  program
    .command('install-cni')
    .description("install the twill plugin (forwarder and standalone) into the CNI bin folder and the conflist into the CNI config folder, atomically")
    .addOption(configOption())
    .option('--bin-dir <dir>', `the CNI bin folder (default ${AGENT_DEFAULTS.cniBinDir})`)
    .option('--conf-dir <dir>', `the CNI config folder (default ${AGENT_DEFAULTS.cniConfDir})`)
    .option('--node-name <name>', "this node's name for the pools (default: the host name)")
    .option('--data-dir <dir>', `the datastore's folder (default ${AGENT_DEFAULTS.dataDir})`)
    .option('--datastore <type>', `${AGENT_DATASTORES.join(', ')}: with kubernetes, only the agent serves the plugin (default ${AGENT_DEFAULTS.datastore})`)
    .action(async (options: RunFlags) => {
      const config = await loadAgentConfig({ ...(options.config === undefined ? {} : { configFile: options.config }), flags: agentFlags(options), checkRouting: false });
      const installed = await installCni(config, { standalone: standaloneLauncher() });
      io.stdout(`${JSON.stringify({ plugin: installed.binaries.plugin, standalone: installed.binaries.standalone, conflist: installed.conflist, conflistChanged: installed.conflistChanged })}\n`);
      onExit(0);
    });
  program
    .command('manifests')
    .description('print the Kubernetes manifests (CRDs, RBAC, ConfigMap, DaemonSet) as YAML for kubectl apply -f -')
    .option('--namespace <name>', "the agent's namespace (default twill-system)")
    .option('--image <image>', "the agent's image")
    .option('--calico-crds', "also Calico's CRDs (crd.projectcalico.org/v1), for a cluster without Calico")
    .option('--cilium-crds', "also Cilium's policy CRDs (cilium.io/v2), for a cluster without Cilium")
    .action((options: { namespace?: string; image?: string; calicoCrds?: boolean; ciliumCrds?: boolean }) => {
      let yaml: string;
      try {
        yaml = renderManifests({
          ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
          ...(options.image === undefined ? {} : { image: options.image }),
          ...(options.calicoCrds === true ? { calicoCrds: true } : {}),
          ...(options.ciliumCrds === true ? { ciliumCrds: true } : {}),
        });
      } catch (error) {
        // The option as typed: `--namespace: must be a DNS-1123 label ...`.
        if (error instanceof ManifestOptionsError) throw new Error(`--${error.option}: ${error.reason}`, { cause: error });
        throw error;
      }
      io.stdout(yaml);
      onExit(0);
    });
  return program;
}

/**
 * The `twill-agent` executable: parses `argv`, runs the command, and gives the exit code
 * (2 for a usage error, 1 for a configuration or start-up error, printed on stderr).
 */
export async function agentMain(argv: readonly string[], io: AgentProcessIo = processIo): Promise<number> {
  let code = 0;
  try {
    await agentProgram(io, (exit) => {
      code = exit;
    }).parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    io.stderr(`twill-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  return code;
}
