// twill-agent's configuration: a YAML (or JSON) file plus command-line flags, parsed and
// validated here without touching the host (sys/main.ts reads the file and the host
// name). Every problem names where it came from and the field:
// `/etc/twill/agent.yaml: dataplane: must be one of "nftables", "ebpf", "none" (got "x")`,
// `--http-listen: ...`. Flags beat the file; the file beats the defaults.
import { CniError, type FieldPath, formatFieldPath } from '@twill/cni-core';
import { parsePoolIpamConfig } from '@twill/ipam';
import ipaddr from 'ipaddr.js';
import { parse as parseYaml, YAMLParseError } from 'yaml';

import { LOG_RULES_GROUP } from '../dataplane/port.js';
import { L7_REDIRECT_DEFAULTS } from './l7/redirect.js';
import { TWILL_DATAPLANES, TWILL_DATASTORES, TWILL_DEFAULTS, TWILL_LOG_LEVELS, type TwillDatastoreType, type TwillLogLevel } from '../plugin/config.js';

/** The dataplanes the agent may run: the plugin's, or `none` (no policy enforcement). */
export const AGENT_DATAPLANES = [...TWILL_DATAPLANES, 'none'] as const;
export type AgentDataplane = (typeof AGENT_DATAPLANES)[number];

/**
 * How pods on other nodes are reached: `bgp` (routes learned from peers, Calico's
 * default), `direct` (a route to each node's blocks via its address: nodes on one L2
 * segment), `none` (something else routes; only this node's blackhole routes are kept).
 */
export const AGENT_ROUTING_MODES = ['bgp', 'direct', 'none'] as const;
export type AgentRouting = (typeof AGENT_ROUTING_MODES)[number];

/**
 * Where the agent keeps its resources, IPAM blocks and endpoint records: `sqlite` (the
 * embedded store in `dataDir`, shared with the standalone plugin) or `kubernetes` (the
 * API server: CRDs in `twill.io` and the policy kinds users already have).
 */
export const AGENT_DATASTORES = TWILL_DATASTORES;
export type AgentDatastoreType = TwillDatastoreType;

/** The datastore settings. */
export type AgentDatastoreConfig =
  | { readonly type: 'sqlite' }
  | {
      readonly type: 'kubernetes';
      /**
       * The kubeconfig file (absolute): the file's `datastore.kubeconfig` or `--kubeconfig`,
       * else the `KUBECONFIG` environment variable; absent: the pod's in-cluster service account.
       */
      readonly kubeconfig?: string;
      /** The agent's own namespace (DNS-1123 label), where it reads Secrets (BGP passwords). */
      readonly namespace: string;
    };

/** What a flag or the file left unset becomes. */
export const AGENT_DEFAULTS = {
  configFile: '/etc/twill/agent.yaml',
  dataDir: TWILL_DEFAULTS.dataDir,
  datastore: 'sqlite',
  /** The agent's namespace when the service account does not say (the manifests' namespace). */
  namespace: 'twill-system',
  agentSocket: TWILL_DEFAULTS.agentSocket,
  /** twill-agent's API (API.md), what the twill CLI calls: root only, never on TCP. */
  apiSocket: '/run/twill/api.sock',
  /** Calico's network name, so Calico users' tooling finds the conflist's network. */
  network: 'k8s-pod-network',
  dataplane: TWILL_DEFAULTS.dataplane,
  routing: 'bgp',
  /** Felix's health port, on loopback only. */
  httpListen: '127.0.0.1:9099',
  logLevel: TWILL_DEFAULTS.logLevel,
  cniBinDir: '/opt/cni/bin',
  cniConfDir: '/etc/cni/net.d',
  conflistName: '10-twill.conflist',
  mtu: TWILL_DEFAULTS.mtu,
  /** Calico's default IPv4 pool and block size. */
  pools: [{ cidr: '192.168.0.0/16', blockSize: 26 }],
  /** The flow observer's gRPC socket (Hubble's API; `twill observe` reads it). */
  flowsSocket: '/run/twill/observer.sock',
  /** Flows the agent keeps for GetFlows. */
  flowsCapacity: 4096,
  /** Kernel flow events turned into flows per second before sampling (the rest are counted as lost). */
  flowsBudgetPerSecond: 200_000,
  /** The nflog group of the nftables driver's drop logs (Log rules log to 1). */
  flowsDropLogGroup: 2,
  /** The dashboard (issue 15), on loopback only; next to the health server's 9099. */
  uiListen: '127.0.0.1:9098',
  /** Live flow streams the dashboard serves at once. */
  uiMaxClients: 16,
  /**
   * The L7 proxy's mark on its own upstream connections: Cilium's proxy value in the mark
   * field the redirect owns (L7_REDIRECT_DEFAULTS.mask), other than the redirect's delivery
   * value (a socket's mark also routes what it sends, and that value's route is `lo`).
   */
  l7UpstreamMark: 0xa00,
} as const satisfies {
  datastore: AgentDatastoreType;
  dataplane: AgentDataplane;
  routing: AgentRouting;
  logLevel: TwillLogLevel;
} & Record<string, unknown>;

/** A host and TCP port to listen on. */
export interface ListenAddress {
  /** An IP address literal (`127.0.0.1`, `::1`). */
  readonly host: string;
  /** 0 to 65535; 0 lets the kernel pick one. */
  readonly port: number;
}

/** What `twill-agent install-cni` writes. */
export interface AgentCniConfig {
  /** Where the plugin binaries go (absolute). */
  readonly binDir: string;
  /** Where the conflist goes (absolute). */
  readonly confDir: string;
  /** The conflist's file name (`10-twill.conflist`). */
  readonly conflistName: string;
  /** The pods' MTU, in bytes (68 to 65535). */
  readonly mtu: number;
  /** The conflist's `ipam.pools`, as written (validated with @twill/ipam's pool parser). */
  readonly pools: readonly Readonly<Record<string, unknown>>[];
}

/** The flow observer (issue 13): kernel verdicts as flow records, served over Hubble's gRPC API. */
export interface AgentFlowsConfig {
  /** Whether the agent reads the dataplane's verdicts and serves flows (default true). */
  readonly enabled: boolean;
  /** The observer's unix socket (absolute), mode 0660. */
  readonly socket: string;
  /**
   * Also serve the observer on TCP. No authentication: every pod's flows to whoever
   * connects, so a non-loopback address is refused unless `listenInsecure` is true.
   */
  readonly listen?: ListenAddress;
  /** How many recent flows the ring keeps (16 to 1,048,576). */
  readonly capacity: number;
  /** Kernel events turned into flows per second; above it events are sampled and the rest counted as lost (1,000 to 10,000,000). */
  readonly budgetPerSecond: number;
  /**
   * The nflog group the nftables driver logs every drop to, for flows (0 to 65535,
   * default 2; not 1, the group Log rules log to). One socket per network namespace can
   * bind a group: change it when another program on the node reads group 2.
   */
  readonly dropLogGroup: number;
}

/** The web dashboard (issue 15): read-only, served on TCP. */
export interface AgentUiConfig {
  /** Whether the agent serves it (default true). */
  readonly enabled: boolean;
  /**
   * Where (default 127.0.0.1:9098). Every pod, policy and flow to whoever connects with
   * the token (or to anyone with `token: false`), so a non-loopback address is refused
   * unless `listenInsecure` is true.
   */
  readonly listen: ListenAddress;
  /** Whether a non-loopback `listen` was allowed (then any Host header is answered). */
  readonly listenInsecure: boolean;
  /** Live flow streams at once (1 to 1024, default 16); more are answered 503. */
  readonly maxClients: number;
  /**
   * `false` (`ui.token: false`): the API and live flows answer without the per-start token
   * the URL of `twill ui` carries, to any local user, as before the token. Absent: a token.
   */
  readonly token?: false;
}

/**
 * L7 policy (issue 14): connections that HTTP rules decide are redirected (nftables
 * `tproxy`, table `inet twill_l7`) to the agent's transparent proxy, which checks each
 * request and connects on from the client's own address. Marks are values of the field
 * `mask` (Cilium's convention: 0xf00).
 */
export interface AgentL7Config {
  /** Whether the agent runs the proxy and the redirect (default true; `--no-l7`). Off: L7 rules allow at L3/L4. */
  readonly enabled: boolean;
  /** The proxy's transparent listener's port on the node (default 15001); not reachable except through the redirect. */
  readonly proxyPort: number;
  /** The mark of redirected packets, which the policy route delivers locally (default 0x200, within `mask`). */
  readonly mark: number;
  /** The mark of the proxy's own upstream connections (default 0xa00, within `mask`, not `mark`). */
  readonly upstreamMark: number;
  /** The mark bits the redirect and proxy own (default 0xf00); other bits are kept for other programs. */
  readonly mask: number;
  /** The routing table of the redirect's `local` default routes (default 2004; not 253-255). */
  readonly routeTable: number;
  /** The preference of the `fwmark` rules that point at `routeTable` (default 9; 1 to 32765). */
  readonly rulePriority: number;
}

/** A validated agent configuration. */
export interface AgentConfig {
  /** This node's name (DNS-1123 subdomain): the Node resource's, the pools' affinity, endpoint records'. */
  readonly nodeName: string;
  /** The embedded datastore's folder (absolute): `<dataDir>/twill.db`, shared with the plugin. */
  readonly dataDir: string;
  /** Where resources, IPAM and endpoint records live (default the embedded SQLite store). */
  readonly datastore: AgentDatastoreConfig;
  /** The socket the native forwarder reaches the agent on (absolute). */
  readonly agentSocket: string;
  /** The CNI network the agent serves (the conflist's `name`). */
  readonly network: string;
  readonly dataplane: AgentDataplane;
  /** This node's addresses with their prefix lengths (`10.0.0.1/24`), as Calico's Node `spec.bgp` has them. */
  readonly nodeAddresses: { readonly ipv4?: string; readonly ipv6?: string };
  readonly routing: AgentRouting;
  /** Overrides of the BGP configuration resource: the port the speaker listens on, this node's AS. */
  readonly bgp: { readonly listenPort?: number; readonly asNumber?: number };
  /** The health, readiness, metrics and status server. */
  readonly http: { readonly listen: ListenAddress };
  /** The API server (API.md): its unix socket (absolute), mode 0600. */
  readonly api: { readonly socket: string };
  readonly logLevel: TwillLogLevel;
  readonly cni: AgentCniConfig;
  readonly flows: AgentFlowsConfig;
  readonly ui: AgentUiConfig;
  readonly l7: AgentL7Config;
}

/** The command-line flags that override the file (each one a string as typed). */
export interface AgentFlags {
  readonly nodeName?: string;
  readonly dataDir?: string;
  readonly datastore?: string;
  readonly kubeconfig?: string;
  readonly agentSocket?: string;
  readonly apiSocket?: string;
  readonly network?: string;
  readonly dataplane?: string;
  readonly routing?: string;
  readonly httpListen?: string;
  readonly logLevel?: string;
  readonly nodeIpv4?: string;
  readonly nodeIpv6?: string;
  readonly binDir?: string;
  readonly confDir?: string;
  readonly flowsSocket?: string;
  readonly flowsListen?: string;
  /** `--flows-listen-insecure`: any value allows a non-loopback `flows.listen`. */
  readonly flowsListenInsecure?: string;
  /** `--no-flows`: any value turns the observer off. */
  readonly noFlows?: string;
  readonly uiListen?: string;
  /** `--ui-listen-insecure`: any value allows a non-loopback `ui.listen`. */
  readonly uiListenInsecure?: string;
  /** `--no-ui`: any value turns the dashboard off. */
  readonly noUi?: string;
  /** `--no-l7`: any value turns the L7 proxy and its redirect off. */
  readonly noL7?: string;
}

/** The flag each {@link AgentFlags} key is typed as, for messages. */
export const AGENT_FLAG_NAMES = {
  nodeName: '--node-name',
  dataDir: '--data-dir',
  datastore: '--datastore',
  kubeconfig: '--kubeconfig',
  agentSocket: '--agent-socket',
  apiSocket: '--api-socket',
  network: '--network',
  dataplane: '--dataplane',
  routing: '--routing',
  httpListen: '--http-listen',
  logLevel: '--log-level',
  nodeIpv4: '--node-ipv4',
  nodeIpv6: '--node-ipv6',
  binDir: '--bin-dir',
  confDir: '--conf-dir',
  flowsSocket: '--flows-socket',
  flowsListen: '--flows-listen',
  flowsListenInsecure: '--flows-listen-insecure',
  noFlows: '--no-flows',
  uiListen: '--ui-listen',
  uiListenInsecure: '--ui-listen-insecure',
  noUi: '--no-ui',
  noL7: '--no-l7',
} as const satisfies Record<keyof AgentFlags, string>;

/** A configuration problem: where (the file or the flag), which field, and why. */
export class AgentConfigError extends Error {
  readonly code = 'invalid-agent-config';
  /** The file's path or the flag (`--dataplane`). */
  readonly source: string;
  /** The field inside the file (`bgp.asNumber`); empty for a flag or the whole file. */
  readonly field: string;
  readonly reason: string;

  constructor(source: string, field: string, reason: string, options?: ErrorOptions) {
    super(field === '' ? `${source}: ${reason}` : `${source}: ${field}: ${reason}`, options);
    this.name = 'AgentConfigError';
    this.source = source;
    this.field = field;
    this.reason = reason;
  }
}

// A problem with a value, before the caller says where the value came from.
class FieldProblem extends Error {
  constructor(
    readonly path: FieldPath | string,
    reason: string,
  ) {
    super(reason);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, path: FieldPath): string {
  if (typeof value !== 'string') throw new FieldProblem(path, `must be a string (got ${typeName(value)})`);
  if (value === '') throw new FieldProblem(path, 'must not be empty');
  return value;
}

function absolutePath(value: unknown, path: FieldPath): string {
  const path_ = text(value, path);
  if (!path_.startsWith('/')) throw new FieldProblem(path, `must be an absolute path (got ${JSON.stringify(path_)})`);
  return path_;
}

function oneOf<T extends string>(value: unknown, path: FieldPath, allowed: readonly T[]): T {
  const name = text(value, path);
  if (!(allowed as readonly string[]).includes(name)) {
    throw new FieldProblem(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${JSON.stringify(name)})`);
  }
  return name as T;
}

function boolean(value: unknown, path: FieldPath): boolean {
  if (typeof value !== 'boolean') throw new FieldProblem(path, `must be true or false (got ${typeName(value)})`);
  return value;
}

function integer(value: unknown, path: FieldPath, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FieldProblem(path, `must be an integer from ${min} to ${max} (got ${typeName(value)})`);
  }
  return value;
}

// Kubernetes node names are DNS-1123 subdomains (lower case, at most 253 characters).
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/u;

function nodeName(value: unknown, path: FieldPath): string {
  const name = text(value, path);
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    throw new FieldProblem(path, `must be a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", at most 253 characters; got ${JSON.stringify(name)})`);
  }
  return name;
}

// Kubernetes namespaces are DNS-1123 labels (at most 63 characters).
function namespaceName(value: unknown, path: FieldPath): string {
  const name = text(value, path);
  if (name.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/u.test(name)) {
    throw new FieldProblem(path, `must be a Kubernetes namespace name (a DNS-1123 label: lower-case letters, digits and "-", at most 63 characters; got ${JSON.stringify(name)})`);
  }
  return name;
}

// The network name is a key segment of the pools and endpoint records.
function networkName(value: unknown, path: FieldPath): string {
  const name = text(value, path);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/u.test(name)) {
    throw new FieldProblem(path, `must be a CNI network name (letters, digits, "_", "." and "-"; got ${JSON.stringify(name)})`);
  }
  return name;
}

// The autodetected address, checked like a configured one.
function nodeAddressOrThrow(cidr: string): string {
  try {
    return nodeAddress(cidr, [], 'ipv4');
  } catch (error) {
    throw located('the autodetected address', error);
  }
}

function nodeAddress(value: unknown, path: FieldPath, kind: 'ipv4' | 'ipv6'): string {
  const cidr = text(value, path);
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    throw new FieldProblem(path, `must be this node's ${kind === 'ipv4' ? 'IPv4' : 'IPv6'} address with its prefix length, like ${kind === 'ipv4' ? '"10.0.0.1/24"' : '"fd00::1/64"'} (got ${JSON.stringify(cidr)})`);
  }
  if (parsed[0].kind() !== kind) throw new FieldProblem(path, `must be an ${kind === 'ipv4' ? 'IPv4' : 'IPv6'} address (got ${JSON.stringify(cidr)})`);
  return `${parsed[0].toString()}/${parsed[1]}`;
}

/**
 * Parses `host:port` or `[v6]:port` (an IP literal and a TCP port).
 * @throws AgentConfigError naming `source` when it is neither.
 */
export function parseListenAddress(value: string, source: string): ListenAddress {
  try {
    return listenAddress(value, []);
  } catch (error) {
    throw located(source, error);
  }
}

function listenAddress(value: unknown, path: FieldPath): ListenAddress {
  const address = text(value, path);
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/u.exec(address);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  // Bracketed: IPv6 only; bare: four-part dotted IPv4 only (not ipaddr's "0x7f.1" forms).
  const hostOk = host !== undefined && (match?.[1] === undefined ? ipaddr.IPv4.isValidFourPartDecimal(host) : ipaddr.IPv6.isValid(host));
  if (match === null || !hostOk || port > 65535) {
    throw new FieldProblem(path, `must be "ADDRESS:PORT" with an IP address and a port from 0 to 65535, like "127.0.0.1:9099" or "[::1]:9099" (got ${JSON.stringify(address)})`);
  }
  return { host: ipaddr.parse(host).toString(), port };
}

// Drops logged to Log rules' group would mix with them.
function dropLogGroup(value: unknown, path: FieldPath): number {
  const group = integer(value, path, 0, 65535);
  if (group === LOG_RULES_GROUP) throw new FieldProblem(path, `must not be ${LOG_RULES_GROUP}, the nflog group Log rules log to: choose another group (default ${AGENT_DEFAULTS.flowsDropLogGroup})`);
  return group;
}

function isLoopback(host: string): boolean {
  const address = ipaddr.parse(host);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) return (address as ipaddr.IPv6).toIPv4Address().range() === 'loopback';
  return address.range() === 'loopback';
}

function conflistName(value: unknown, path: FieldPath): string {
  const name = text(value, path);
  if (name.includes('/') || !name.endsWith('.conflist') || name === '.conflist' || name.startsWith('.')) {
    throw new FieldProblem(path, `must be a file name ending in ".conflist", without "/" and not hidden (got ${JSON.stringify(name)})`);
  }
  return name;
}

function mapping(value: unknown, path: FieldPath, known: readonly string[]): Record<string, unknown> {
  if (!isRecord(value)) throw new FieldProblem(path, `must be a mapping (got ${typeName(value)})`);
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new FieldProblem([...path, key], `unknown key (known: ${known.join(', ')})`);
  }
  return value;
}

function pools(value: unknown, network: string, path: FieldPath): readonly Readonly<Record<string, unknown>>[] {
  if (!Array.isArray(value)) throw new FieldProblem(path, `must be a list of pools like [{cidr: "192.168.0.0/16", blockSize: 26}] (got ${typeName(value)})`);
  try {
    // The plugin will parse them again from the conflist: the same parser, the same rules.
    parsePoolIpamConfig({ pools: value }, { network, path: path.slice(0, -1) });
  } catch (error) {
    // cni-core's field errors read `<field>: <problem>` (cni-core config/field-error.ts).
    if (error instanceof CniError) {
      const at = error.msg.indexOf(': ');
      throw at < 0 ? new FieldProblem(path, error.msg) : new FieldProblem(error.msg.slice(0, at), error.msg.slice(at + 2));
    }
    throw error;
  }
  return value as Record<string, unknown>[];
}

function located(source: string, error: unknown): unknown {
  if (error instanceof FieldProblem) return new AgentConfigError(source, typeof error.path === 'string' ? error.path : formatFieldPath(error.path), error.message);
  return error;
}

const TOP_KEYS = ['nodeName', 'dataDir', 'datastore', 'agentSocket', 'network', 'dataplane', 'nodeAddresses', 'routing', 'bgp', 'http', 'api', 'logLevel', 'cni', 'flows', 'ui', 'l7'];

/**
 * Parses the configuration file's text (YAML 1.2; JSON is YAML too). An empty file is
 * an empty configuration.
 * @throws AgentConfigError naming `source` and the line and column of a syntax error, or
 * that the document is not a mapping.
 */
export function parseAgentConfigText(source: string, content: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = parseYaml(content);
  } catch (error) {
    if (error instanceof YAMLParseError) {
      // The library's first line ends with a colon before its code excerpt; the excerpt is dropped.
      const first = (error.message.split('\n')[0] ?? error.message).replace(/:$/u, '');
      throw new AgentConfigError(source, '', `not valid YAML or JSON: ${first}`, { cause: error });
    }
    throw error;
  }
  if (document === null || document === undefined) return {};
  if (!isRecord(document)) throw new AgentConfigError(source, '', `must be a mapping of settings (got ${typeName(document)})`);
  return document;
}

/** Options of {@link resolveAgentConfig}. */
export interface ResolveAgentConfigOptions {
  /** The file's settings (see {@link parseAgentConfigText}) and its path for messages. */
  readonly file?: { readonly path: string; readonly settings: Readonly<Record<string, unknown>> };
  readonly flags?: AgentFlags;
  /** The node name when neither sets one: the host's name (lower-cased, as Calico does). */
  readonly hostname: string;
  /**
   * Whether `routing` must have the node addresses it needs (default true); `install-cni`
   * does not route, so it does not ask for them.
   */
  readonly checkRouting?: boolean;
  /**
   * This node's IPv4 address as the host's first interface has it (Calico's `first-found`
   * autodetection, done by the caller), used when neither the file nor a flag sets
   * `nodeAddresses.ipv4`.
   */
  readonly detectedIpv4?: string;
  /**
   * The `KUBECONFIG` environment variable: the kubeconfig of the Kubernetes datastore
   * when neither the file nor `--kubeconfig` names one.
   */
  readonly kubeconfigEnv?: string;
  /**
   * The agent's namespace as its service account says (the caller reads
   * `/var/run/secrets/kubernetes.io/serviceaccount/namespace`), when the file sets none;
   * else {@link AGENT_DEFAULTS.namespace}.
   */
  readonly detectedNamespace?: string;
}

type Settings = Readonly<Record<string, unknown>>;

// Reads one setting: from the flag when given, else the file, else the default.
function pick<T>(
  file: { path: string; settings: Settings } | undefined,
  flag: { key: keyof AgentFlags; value: string | undefined } | undefined,
  path: FieldPath,
  parseValue: (value: unknown, path: FieldPath) => T,
  fallback: () => T,
): T {
  if (flag?.value !== undefined) {
    try {
      return parseValue(flag.value, []);
    } catch (error) {
      throw located(AGENT_FLAG_NAMES[flag.key], error);
    }
  }
  let value: unknown = file?.settings;
  for (const segment of path) value = isRecord(value) ? value[segment as string] : undefined;
  if (value === undefined || file === undefined) return fallback();
  try {
    return parseValue(value, path);
  } catch (error) {
    throw located(file.path, error);
  }
}

/**
 * The agent's configuration from the file's settings, the flags and the defaults (flags
 * beat the file). Unknown keys are errors (a misspelt key would otherwise be ignored).
 * @throws AgentConfigError naming the file or the flag and the field, e.g.
 * `/etc/twill/agent.yaml: bgp.asNumber: must be an integer from 1 to 4294967295 (got string "x")`.
 */
export function resolveAgentConfig(options: ResolveAgentConfigOptions): AgentConfig {
  const file = options.file === undefined ? undefined : { path: options.file.path, settings: options.file.settings };
  const flags = options.flags ?? {};
  const flag = (key: keyof AgentFlags) => ({ key, value: flags[key] });
  const inFile = <T>(check: () => T): T => {
    try {
      return check();
    } catch (error) {
      throw located(file?.path ?? '', error);
    }
  };
  const settings = file?.settings ?? {};
  inFile(() => mapping(settings, [], TOP_KEYS));
  if (settings['nodeAddresses'] !== undefined) inFile(() => mapping(settings['nodeAddresses'], ['nodeAddresses'], ['ipv4', 'ipv6']));
  const bgp = settings['bgp'] === undefined ? {} : inFile(() => mapping(settings['bgp'], ['bgp'], ['listenPort', 'asNumber']));
  if (settings['http'] !== undefined) inFile(() => mapping(settings['http'], ['http'], ['listen']));
  if (settings['api'] !== undefined) inFile(() => mapping(settings['api'], ['api'], ['socket']));
  if (settings['cni'] !== undefined) inFile(() => mapping(settings['cni'], ['cni'], ['binDir', 'confDir', 'conflistName', 'mtu', 'pools']));
  if (settings['flows'] !== undefined) inFile(() => mapping(settings['flows'], ['flows'], ['enabled', 'socket', 'listen', 'listenInsecure', 'capacity', 'budgetPerSecond', 'dropLogGroup']));
  if (settings['ui'] !== undefined) inFile(() => mapping(settings['ui'], ['ui'], ['enabled', 'listen', 'listenInsecure', 'maxClients', 'token']));
  if (settings['l7'] !== undefined) inFile(() => mapping(settings['l7'], ['l7'], ['enabled', 'proxyPort', 'mark', 'upstreamMark', 'mask', 'routeTable', 'rulePriority']));

  const network = pick(file, flag('network'), ['network'], networkName, () => AGENT_DEFAULTS.network);
  const datastore = resolveDatastore(options, file, flags, inFile);
  const ipv4 = pick(file, flag('nodeIpv4'), ['nodeAddresses', 'ipv4'], (v, p) => nodeAddress(v, p, 'ipv4'), () =>
    options.detectedIpv4 === undefined ? undefined : nodeAddressOrThrow(options.detectedIpv4),
  );
  const ipv6 = pick(file, flag('nodeIpv6'), ['nodeAddresses', 'ipv6'], (v, p) => nodeAddress(v, p, 'ipv6'), () => undefined);
  const routing = pick(file, flag('routing'), ['routing'], (v, p) => oneOf(v, p, AGENT_ROUTING_MODES), () => AGENT_DEFAULTS.routing);
  const listenPort = bgp['listenPort'] === undefined ? undefined : inFile(() => integer(bgp['listenPort'], ['bgp', 'listenPort'], 1, 65535));
  const asNumber = bgp['asNumber'] === undefined ? undefined : inFile(() => integer(bgp['asNumber'], ['bgp', 'asNumber'], 1, 4294967295));

  const config: AgentConfig = {
    nodeName: pick(file, flag('nodeName'), ['nodeName'], nodeName, () => {
      try {
        return nodeName(options.hostname.toLowerCase(), []);
      } catch (error) {
        throw located(`the host name ${JSON.stringify(options.hostname)}`, new FieldProblem([], `cannot be the node name: set nodeName or ${AGENT_FLAG_NAMES.nodeName} (${(error as Error).message})`));
      }
    }),
    dataDir: pick(file, flag('dataDir'), ['dataDir'], absolutePath, () => AGENT_DEFAULTS.dataDir),
    datastore,
    agentSocket: pick(file, flag('agentSocket'), ['agentSocket'], absolutePath, () => AGENT_DEFAULTS.agentSocket),
    network,
    dataplane: pick(file, flag('dataplane'), ['dataplane'], (v, p) => oneOf(v, p, AGENT_DATAPLANES), () => AGENT_DEFAULTS.dataplane),
    nodeAddresses: { ...(ipv4 === undefined ? {} : { ipv4 }), ...(ipv6 === undefined ? {} : { ipv6 }) },
    routing,
    bgp: { ...(listenPort === undefined ? {} : { listenPort }), ...(asNumber === undefined ? {} : { asNumber }) },
    http: { listen: pick(file, flag('httpListen'), ['http', 'listen'], listenAddress, () => listenAddress(AGENT_DEFAULTS.httpListen, [])) },
    api: { socket: pick(file, flag('apiSocket'), ['api', 'socket'], absolutePath, () => AGENT_DEFAULTS.apiSocket) },
    logLevel: pick(file, flag('logLevel'), ['logLevel'], (v, p) => oneOf(v, p, TWILL_LOG_LEVELS), () => AGENT_DEFAULTS.logLevel),
    cni: {
      binDir: pick(file, flag('binDir'), ['cni', 'binDir'], absolutePath, () => AGENT_DEFAULTS.cniBinDir),
      confDir: pick(file, flag('confDir'), ['cni', 'confDir'], absolutePath, () => AGENT_DEFAULTS.cniConfDir),
      conflistName: pick(file, undefined, ['cni', 'conflistName'], conflistName, () => AGENT_DEFAULTS.conflistName),
      mtu: pick(file, undefined, ['cni', 'mtu'], (v, p) => integer(v, p, 68, 65535), () => AGENT_DEFAULTS.mtu),
      pools: pick(file, undefined, ['cni', 'pools'], (v, p) => pools(v, network, p), () => AGENT_DEFAULTS.pools),
    },
    flows: resolveFlows(file, flags),
    ui: resolveUi(file, flags),
    l7: resolveL7(file, flags),
  };
  // One socket, one server: the second to bind would find the first "in use".
  if (config.api.socket === config.agentSocket) {
    const source = flags.apiSocket !== undefined ? AGENT_FLAG_NAMES.apiSocket : (file?.path ?? 'the defaults');
    throw new AgentConfigError(source, flags.apiSocket === undefined ? 'api.socket' : '', `must not be the agent socket ${JSON.stringify(config.agentSocket)} (the plugin's): give the API its own path`);
  }
  const taken = config.flows.socket === config.agentSocket ? 'the agent socket' : config.flows.socket === config.api.socket ? 'the API socket' : undefined;
  if (config.flows.enabled && taken !== undefined) {
    const source = flags.flowsSocket !== undefined ? AGENT_FLAG_NAMES.flowsSocket : (file?.path ?? 'the defaults');
    throw new AgentConfigError(source, flags.flowsSocket === undefined ? 'flows.socket' : '', `must not be ${taken} ${JSON.stringify(config.flows.socket)}: give the flow observer its own path`);
  }
  // One port, one server: the dashboard beside the health server, not on it.
  if (config.ui.enabled && config.ui.listen.port !== 0 && config.ui.listen.port === config.http.listen.port && config.ui.listen.host === config.http.listen.host) {
    const source = flags.uiListen !== undefined ? AGENT_FLAG_NAMES.uiListen : (file?.path ?? 'the defaults');
    throw new AgentConfigError(source, flags.uiListen === undefined ? 'ui.listen' : '', `must not be the health server's address ${config.http.listen.host}:${config.http.listen.port} (http.listen): give the dashboard its own port (default ${AGENT_DEFAULTS.uiListen})`);
  }
  // BGP needs a router id and a next hop; direct routes need the address other nodes route to.
  if (options.checkRouting !== false && routing !== 'none' && ipv4 === undefined && (routing === 'bgp' || ipv6 === undefined)) {
    const fromFile = flags.routing === undefined && file !== undefined && settings['routing'] !== undefined;
    const source = flags.routing !== undefined ? AGENT_FLAG_NAMES.routing : (file?.path ?? 'the defaults');
    const given = flags.routing === undefined && !fromFile ? ' (the default)' : '';
    const what = routing === 'bgp' ? 'nodeAddresses.ipv4 (--node-ipv4): the router id and the next hop peers learn' : "nodeAddresses.ipv4 or .ipv6 (--node-ipv4, --node-ipv6): where other nodes send this node's pods' traffic";
    throw new AgentConfigError(source, flags.routing === undefined ? 'routing' : '', `${JSON.stringify(routing)}${given} needs ${what}; set it, or choose routing "none"`);
  }
  return config;
}

// `<section>.listenInsecure` (`--<section>-listen-insecure`); without it, a `listen` address
// off loopback is refused: what `exposes` would be served to anyone who connects.
function listenInsecure(file: { path: string; settings: Settings } | undefined, flags: AgentFlags, section: 'flows' | 'ui', listen: ListenAddress | undefined, exposes: string): boolean {
  const insecure = flags[`${section}ListenInsecure`] !== undefined ? true : pick(file, undefined, [section, 'listenInsecure'], boolean, () => false);
  if (listen !== undefined && !insecure && !isLoopback(listen.host)) {
    const flag = flags[`${section}Listen`];
    throw new AgentConfigError(
      flag !== undefined ? AGENT_FLAG_NAMES[`${section}Listen`] : file!.path,
      flag === undefined ? `${section}.listen` : '',
      `${JSON.stringify(listen.host)} is not a loopback address: ${exposes} without authentication; use 127.0.0.1 or [::1], or set ${section}.listenInsecure: true (--${section}-listen-insecure) to serve it there anyway`,
    );
  }
  return insecure;
}

// `flows: {enabled, socket, listen, listenInsecure, capacity, budgetPerSecond}`, `--no-flows`, `--flows-socket`,
// `--flows-listen`, `--flows-listen-insecure`.
function resolveFlows(file: { path: string; settings: Settings } | undefined, flags: AgentFlags): AgentFlowsConfig {
  const enabled = flags.noFlows !== undefined ? false : pick(file, undefined, ['flows', 'enabled'], boolean, () => true);
  const listen = pick(file, { key: 'flowsListen', value: flags.flowsListen }, ['flows', 'listen'], listenAddress, () => undefined);
  // The observer has no authentication: off loopback it serves every pod's flows to anyone who connects.
  listenInsecure(file, flags, 'flows', listen, "the observer serves every pod's flows");
  return {
    enabled,
    socket: pick(file, { key: 'flowsSocket', value: flags.flowsSocket }, ['flows', 'socket'], absolutePath, () => AGENT_DEFAULTS.flowsSocket),
    ...(listen === undefined ? {} : { listen }),
    capacity: pick(file, undefined, ['flows', 'capacity'], (v, p) => integer(v, p, 16, 1_048_576), () => AGENT_DEFAULTS.flowsCapacity),
    budgetPerSecond: pick(file, undefined, ['flows', 'budgetPerSecond'], (v, p) => integer(v, p, 1_000, 10_000_000), () => AGENT_DEFAULTS.flowsBudgetPerSecond),
    dropLogGroup: pick(file, undefined, ['flows', 'dropLogGroup'], dropLogGroup, () => AGENT_DEFAULTS.flowsDropLogGroup),
  };
}

// `ui: {enabled, listen, listenInsecure, maxClients, token}`, `--no-ui`, `--ui-listen`, `--ui-listen-insecure`.
function resolveUi(file: { path: string; settings: Settings } | undefined, flags: AgentFlags): AgentUiConfig {
  const enabled = flags.noUi !== undefined ? false : pick(file, undefined, ['ui', 'enabled'], boolean, () => true);
  const listen = pick(file, { key: 'uiListen', value: flags.uiListen }, ['ui', 'listen'], listenAddress, () => listenAddress(AGENT_DEFAULTS.uiListen, []));
  // The dashboard has no authentication: off loopback it shows every pod, policy and flow to anyone who connects.
  const insecure = listenInsecure(file, flags, 'ui', enabled ? listen : undefined, 'the dashboard shows every pod, policy and flow');
  return {
    enabled,
    listen,
    listenInsecure: insecure,
    maxClients: pick(file, undefined, ['ui', 'maxClients'], (v, p) => integer(v, p, 1, 1024), () => AGENT_DEFAULTS.uiMaxClients),
    // Only `false` is kept: the default (a token) reads as the field's absence.
    ...(pick(file, undefined, ['ui', 'token'], boolean, () => true) ? {} : { token: false as const }),
  };
}

// `l7: {enabled, proxyPort, mark, upstreamMark, mask, routeTable, rulePriority}`, `--no-l7`.
function resolveL7(file: { path: string; settings: Settings } | undefined, flags: AgentFlags): AgentL7Config {
  const enabled = flags.noL7 !== undefined ? false : pick(file, undefined, ['l7', 'enabled'], boolean, () => true);
  const u32 = (v: unknown, p: FieldPath): number => integer(v, p, 1, 0xffffffff);
  const mask = pick(file, undefined, ['l7', 'mask'], u32, () => L7_REDIRECT_DEFAULTS.mask);
  // A value with bits outside the mask would be set but never compared.
  const within = (v: unknown, p: FieldPath): number => {
    const value = u32(v, p);
    if ((value & ~mask) >>> 0 !== 0) throw new FieldProblem(p, `0x${value.toString(16)} has bits outside l7.mask 0x${mask.toString(16)}`);
    return value;
  };
  // A default that does not fit a custom mask is refused too (L7 would otherwise fail at
  // runtime), naming the field to set.
  const fitting = (key: 'mark' | 'upstreamMark', fallback: number): (() => number) => () => {
    if ((fallback & ~mask) >>> 0 !== 0) {
      throw new AgentConfigError(file?.path ?? 'the defaults', `l7.${key}`, `the default 0x${fallback.toString(16)} does not fit l7.mask 0x${mask.toString(16)}: set l7.${key} to a value within the mask`);
    }
    return fallback;
  };
  const mark = pick(file, undefined, ['l7', 'mark'], within, fitting('mark', L7_REDIRECT_DEFAULTS.mark));
  const upstreamMark = pick(file, undefined, ['l7', 'upstreamMark'], within, fitting('upstreamMark', AGENT_DEFAULTS.l7UpstreamMark));
  // The proxy's sockets would route their own packets by the delivery mark's route: to `lo`.
  if (upstreamMark === mark) {
    const fromFile = file?.settings['l7'] !== undefined && isRecord(file.settings['l7']) && file.settings['l7']['upstreamMark'] !== undefined;
    throw new AgentConfigError(file?.path ?? 'the defaults', 'l7.upstreamMark', `${fromFile ? '' : `the default 0x${upstreamMark.toString(16)} `}must differ from l7.mark 0x${mark.toString(16)} (that mark's route delivers locally)`);
  }
  return {
    enabled,
    proxyPort: pick(file, undefined, ['l7', 'proxyPort'], (v, p) => integer(v, p, 1, 65535), () => L7_REDIRECT_DEFAULTS.proxyPort),
    mark,
    upstreamMark,
    mask,
    routeTable: pick(file, undefined, ['l7', 'routeTable'], (v, p) => {
      const table = u32(v, p);
      if (table >= 253 && table <= 255) throw new FieldProblem(p, `${table} is a reserved table (253 default, 254 main, 255 local)`);
      return table;
    }, () => L7_REDIRECT_DEFAULTS.routeTable),
    rulePriority: pick(file, undefined, ['l7', 'rulePriority'], (v, p) => integer(v, p, 1, 32765), () => L7_REDIRECT_DEFAULTS.rulePriority),
  };
}

// `datastore: {type, kubeconfig, namespace}` (the file), `--datastore`, `--kubeconfig`, then
// KUBECONFIG and the service account's namespace; the Kubernetes settings only with its type.
function resolveDatastore(
  options: ResolveAgentConfigOptions,
  file: { path: string; settings: Settings } | undefined,
  flags: AgentFlags,
  inFile: <T>(check: () => T) => T,
): AgentDatastoreConfig {
  const section = file?.settings['datastore'] === undefined ? {} : inFile(() => mapping(file.settings['datastore'], ['datastore'], ['type', 'kubeconfig', 'namespace']));
  const type = pick(file, { key: 'datastore', value: flags.datastore }, ['datastore', 'type'], (v, p) => oneOf(v, p, AGENT_DATASTORES), () => AGENT_DEFAULTS.datastore);
  if (type === 'sqlite') {
    if (flags.kubeconfig !== undefined) throw new AgentConfigError(AGENT_FLAG_NAMES.kubeconfig, '', 'is only for the Kubernetes datastore: add --datastore kubernetes');
    for (const key of ['kubeconfig', 'namespace'] as const) {
      if (section[key] !== undefined) throw new AgentConfigError(file?.path ?? '', `datastore.${key}`, 'is only for datastore.type "kubernetes"');
    }
    return { type };
  }
  const kubeconfig = pick(file, { key: 'kubeconfig', value: flags.kubeconfig }, ['datastore', 'kubeconfig'], absolutePath, () => {
    // A list of files (`a:b`), as kubectl reads it: the first names the cluster.
    const first = options.kubeconfigEnv?.split(':')[0];
    if (first === undefined || first === '') return undefined;
    try {
      return absolutePath(first, []);
    } catch (error) {
      throw located('the KUBECONFIG environment variable', error);
    }
  });
  const namespace = pick(file, undefined, ['datastore', 'namespace'], namespaceName, () => {
    if (options.detectedNamespace === undefined) return AGENT_DEFAULTS.namespace;
    try {
      return namespaceName(options.detectedNamespace, []);
    } catch (error) {
      throw located("the service account's namespace", error);
    }
  });
  return { type, ...(kubeconfig === undefined ? {} : { kubeconfig }), namespace };
}

/** The `cniVersion` of the conflist install-cni writes (the newest twill speaks). */
export const CONFLIST_CNI_VERSION = '1.1.0';

/**
 * The conflist `twill-agent install-cni` writes for this configuration: one `twill`
 * plugin on the agent's data folder and socket, with the pools in-process (node name
 * `nodeName`) and the configured MTU; `dataplane` only when the agent enforces policy;
 * `datastore` only when it is not the embedded one (then only the agent can serve the plugin).
 * Chained plugins (portmap, bandwidth) are the operator's to add.
 */
export function twillConflist(config: AgentConfig): Record<string, unknown> {
  return {
    cniVersion: CONFLIST_CNI_VERSION,
    name: config.network,
    plugins: [
      {
        type: 'twill',
        mtu: config.cni.mtu,
        dataDir: config.dataDir,
        agentSocket: config.agentSocket,
        logLevel: config.logLevel,
        ...(config.dataplane === 'none' ? {} : { dataplane: config.dataplane }),
        // The standalone plugin cannot reach the API server: it refuses to run (see parseTwillConfig).
        ...(config.datastore.type === 'sqlite' ? {} : { datastore: config.datastore.type }),
        ipam: { type: 'twill-ipam', nodeName: config.nodeName, pools: config.cni.pools },
      },
    ],
  };
}
