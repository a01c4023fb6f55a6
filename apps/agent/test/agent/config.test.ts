import { describe, expect, it } from 'vitest';

import { parseTwillConfig } from '../../src/plugin/config.js';
import {
  type AgentConfig,
  AgentConfigError,
  type AgentFlags,
  parseAgentConfigText,
  parseListenAddress,
  resolveAgentConfig,
  twillConflist,
} from '../../src/agent/config.js';
import { agentDataplaneOptions } from '../../src/dataplane/create.js';
import { type DataplaneDriverName } from '../../src/dataplane/port.js';

const FILE = '/etc/twill/agent.yaml';

function resolve(content: string, flags: AgentFlags = {}, hostname = 'node-a'): AgentConfig {
  return resolveAgentConfig({ file: { path: FILE, settings: parseAgentConfigText(FILE, content) }, flags, hostname });
}

function failure(content: string, flags: AgentFlags = {}, hostname = 'node-a'): AgentConfigError {
  try {
    resolve(content, flags, hostname);
  } catch (error) {
    expect(error).toBeInstanceOf(AgentConfigError);
    return error as AgentConfigError;
  }
  throw new Error(`accepted: ${content}`);
}

// A file that is valid apart from the line under test.
const BASE = 'nodeAddresses: {ipv4: 10.0.0.1/24}\n';

describe('resolveAgentConfig: what a config file gets', () => {
  it('gives the defaults a Calico user expects for an empty file', () => {
    expect(resolve('routing: none')).toEqual({
      nodeName: 'node-a',
      dataDir: '/var/lib/twill',
      datastore: { type: 'sqlite' },
      agentSocket: '/run/twill/agent.sock',
      network: 'k8s-pod-network',
      dataplane: 'nftables',
      nodeAddresses: {},
      routing: 'none',
      bgp: {},
      http: { listen: { host: '127.0.0.1', port: 9099 } },
      api: { socket: '/run/twill/api.sock' },
      logLevel: 'info',
      cni: {
        binDir: '/opt/cni/bin',
        confDir: '/etc/cni/net.d',
        conflistName: '10-twill.conflist',
        mtu: 1500,
        pools: [{ cidr: '192.168.0.0/16', blockSize: 26 }],
      },
      flows: { enabled: true, socket: '/run/twill/observer.sock', capacity: 4096, budgetPerSecond: 200000, dropLogGroup: 2 },
      ui: { enabled: true, listen: { host: '127.0.0.1', port: 9098 }, listenInsecure: false, maxClients: 16 },
      l7: { enabled: true, proxyPort: 15001, mark: 0x200, upstreamMark: 0xa00, mask: 0xf00, routeTable: 2004, rulePriority: 9 },
    });
  });

  it('reads every setting from YAML, and the same from JSON', () => {
    const yaml = `
nodeName: worker-1.example
dataDir: /srv/twill
agentSocket: /run/twill/a.sock
network: pods
dataplane: ebpf
nodeAddresses:
  ipv4: 10.0.0.7/24
  ipv6: fd00::7/64
routing: bgp
bgp: {listenPort: 1179, asNumber: 65001}
http: {listen: "[::1]:9100"}
api: {socket: /run/twill/api-a.sock}
logLevel: debug
cni:
  binDir: /host/opt/cni/bin
  confDir: /host/etc/cni/net.d
  conflistName: 05-pods.conflist
  mtu: 1450
  pools:
    - {cidr: 10.244.0.0/16, blockSize: 24}
flows: {enabled: false, socket: /run/twill/flows.sock, listen: "127.0.0.1:4245", capacity: 100000, budgetPerSecond: 50000, dropLogGroup: 7}
l7: {proxyPort: 15100, mark: 0x100, upstreamMark: 0x300, mask: 0x300, routeTable: 3000, rulePriority: 100}
`;
    const config = resolve(yaml, {}, 'ignored');
    expect(config).toEqual({
      nodeName: 'worker-1.example',
      dataDir: '/srv/twill',
      datastore: { type: 'sqlite' },
      agentSocket: '/run/twill/a.sock',
      network: 'pods',
      dataplane: 'ebpf',
      nodeAddresses: { ipv4: '10.0.0.7/24', ipv6: 'fd00::7/64' },
      routing: 'bgp',
      bgp: { listenPort: 1179, asNumber: 65001 },
      http: { listen: { host: '::1', port: 9100 } },
      api: { socket: '/run/twill/api-a.sock' },
      logLevel: 'debug',
      cni: { binDir: '/host/opt/cni/bin', confDir: '/host/etc/cni/net.d', conflistName: '05-pods.conflist', mtu: 1450, pools: [{ cidr: '10.244.0.0/16', blockSize: 24 }] },
      flows: { enabled: false, socket: '/run/twill/flows.sock', listen: { host: '127.0.0.1', port: 4245 }, capacity: 100000, budgetPerSecond: 50000, dropLogGroup: 7 },
      ui: { enabled: true, listen: { host: '127.0.0.1', port: 9098 }, listenInsecure: false, maxClients: 16 },
      l7: { enabled: true, proxyPort: 15100, mark: 0x100, upstreamMark: 0x300, mask: 0x300, routeTable: 3000, rulePriority: 100 },
    });
    const json = JSON.stringify(parseAgentConfigText(FILE, yaml));
    expect(resolve(json, {}, 'ignored')).toEqual(config);
  });

  it('lets flags beat the file, and the file beat the defaults', () => {
    const config = resolve(`${BASE}nodeName: from-file\ndataplane: ebpf\nlogLevel: warn\ncni: {binDir: /file/bin}\n`, {
      nodeName: 'from-flag',
      dataplane: 'none',
      dataDir: '/flag/data',
      httpListen: '0.0.0.0:0',
      nodeIpv4: '192.0.2.9/32',
      binDir: '/flag/bin',
      apiSocket: '/flag/api.sock',
    });
    expect(config).toMatchObject({
      nodeName: 'from-flag',
      dataplane: 'none',
      dataDir: '/flag/data',
      logLevel: 'warn',
      http: { listen: { host: '0.0.0.0', port: 0 } },
      api: { socket: '/flag/api.sock' },
      nodeAddresses: { ipv4: '192.0.2.9/32' },
      cni: { binDir: '/flag/bin', confDir: '/etc/cni/net.d' },
    });
  });

  it('lets --no-flows, --flows-socket and --flows-listen beat the file\'s flows section', () => {
    const file = `${BASE}flows: {socket: /file/observer.sock, capacity: 64}\n`;
    expect(resolve(file).flows).toEqual({ enabled: true, socket: '/file/observer.sock', capacity: 64, budgetPerSecond: 200000, dropLogGroup: 2 });
    expect(resolve(file, { flowsSocket: '/flag/observer.sock', flowsListen: '[::1]:4245' }).flows).toEqual({
      enabled: true,
      socket: '/flag/observer.sock',
      listen: { host: '::1', port: 4245 },
      capacity: 64,
      budgetPerSecond: 200000,
      dropLogGroup: 2,
    });
    expect(resolve(`${BASE}flows: {enabled: true}\n`, { noFlows: 'true' }).flows.enabled).toBe(false);
  });

  it('gives the nftables driver flows.dropLogGroup to log drops to (default 2), and none with flows off', () => {
    const config = resolve(`${BASE}dataplane: nftables\nflows: {dropLogGroup: 0}\n`);
    expect(config.flows.dropLogGroup).toBe(0);
    expect(agentDataplaneOptions(config.dataplane as DataplaneDriverName, config.flows)).toEqual({ driver: 'nftables', logGroup: 1, dropLogGroup: 0 });
    expect(agentDataplaneOptions('nftables', resolve(BASE).flows)).toEqual({ driver: 'nftables', logGroup: 1, dropLogGroup: 2 });
    expect(agentDataplaneOptions('nftables', resolve(`${BASE}flows: {dropLogGroup: 9}\n`, { noFlows: 'true' }).flows)).toEqual({ driver: 'nftables', logGroup: 1 });
    expect(agentDataplaneOptions('ebpf', config.flows)).toEqual({ driver: 'ebpf' });
  });

  it("runs the L7 proxy unless --no-l7 or l7.enabled: false, and gives both dataplanes the proxy's marks (nftables also the redirect's own)", () => {
    expect(resolve(`${BASE}l7: {enabled: true}\n`, { noL7: 'true' }).l7.enabled).toBe(false);
    expect(resolve(`${BASE}l7: {enabled: false}\n`).l7.enabled).toBe(false);
    const config = resolve(`${BASE}dataplane: nftables\n`);
    expect(agentDataplaneOptions('nftables', config.flows, config.l7)).toEqual({ driver: 'nftables', logGroup: 1, dropLogGroup: 2, l7Mark: { mask: 0xf00, values: [0x200, 0xa00], redirect: 0x200 } });
    expect(agentDataplaneOptions('nftables', config.flows, resolve(BASE, { noL7: 'true' }).l7)).toEqual({ driver: 'nftables', logGroup: 1, dropLogGroup: 2 });
    expect(agentDataplaneOptions('ebpf', config.flows, config.l7)).toEqual({ driver: 'ebpf', l7Mark: { mask: 0xf00, values: [0x200, 0xa00] } });
  });

  it('serves flows off loopback only when asked to (flows.listenInsecure or --flows-listen-insecure)', () => {
    expect(resolve(`${BASE}flows: {listen: "127.0.0.2:4245"}\n`).flows.listen).toEqual({ host: '127.0.0.2', port: 4245 });
    expect(resolve(`${BASE}flows: {listen: "[::ffff:127.0.0.1]:4245"}\n`).flows.listen).toEqual({ host: '::ffff:7f00:1', port: 4245 });
    expect(resolve(`${BASE}flows: {listen: "0.0.0.0:4245", listenInsecure: true}\n`).flows.listen).toEqual({ host: '0.0.0.0', port: 4245 });
    expect(resolve(BASE, { flowsListen: '[fd00::1]:4245', flowsListenInsecure: 'true' }).flows.listen).toEqual({ host: 'fd00::1', port: 4245 });
  });

  it('serves the dashboard on 127.0.0.1:9098 unless --no-ui; --ui-listen beats the file, off loopback only when asked to', () => {
    expect(resolve(`${BASE}ui: {listen: "127.0.0.1:9200", maxClients: 4}\n`).ui).toEqual({ enabled: true, listen: { host: '127.0.0.1', port: 9200 }, listenInsecure: false, maxClients: 4 });
    expect(resolve(`${BASE}ui: {listen: "127.0.0.1:9200"}\n`, { uiListen: '[::1]:9300' }).ui.listen).toEqual({ host: '::1', port: 9300 });
    expect(resolve(`${BASE}ui: {enabled: true}\n`, { noUi: 'true' }).ui.enabled).toBe(false);
    expect(resolve(BASE, { uiListen: '192.0.2.7:9098', uiListenInsecure: 'true' }).ui.listen).toEqual({ host: '192.0.2.7', port: 9098 });
  });

  it('takes the host name, lower-cased, as the node name by default, and works without a file', () => {
    expect(resolveAgentConfig({ hostname: 'Worker-7', flags: { routing: 'none' } }).nodeName).toBe('worker-7');
    expect(() => resolveAgentConfig({ hostname: 'under_score', flags: { routing: 'none' } })).toThrow(
      'the host name "under_score": cannot be the node name: set nodeName or --node-name',
    );
  });

  it('uses an autodetected IPv4 address only when none is configured, and checks it like one', () => {
    expect(resolveAgentConfig({ hostname: 'n', detectedIpv4: '192.0.2.7/24' }).nodeAddresses).toEqual({ ipv4: '192.0.2.7/24' });
    expect(resolveAgentConfig({ hostname: 'n', detectedIpv4: '192.0.2.7/24', flags: { nodeIpv4: '10.0.0.1/8' } }).nodeAddresses).toEqual({ ipv4: '10.0.0.1/8' });
    expect(() => resolveAgentConfig({ hostname: 'n', detectedIpv4: 'fd00::1/64' })).toThrow('the autodetected address: must be an IPv4 address (got "fd00::1/64")');
  });

  it('reads the Kubernetes datastore from the file or the flags, its kubeconfig else from KUBECONFIG, its namespace else from the service account', () => {
    expect(resolve('routing: none\ndatastore: {type: kubernetes, kubeconfig: /etc/twill/kubeconfig, namespace: kube-system}').datastore).toEqual({
      type: 'kubernetes',
      kubeconfig: '/etc/twill/kubeconfig',
      namespace: 'kube-system',
    });
    expect(resolve('routing: none', { datastore: 'kubernetes', kubeconfig: '/root/.kube/config' }).datastore).toEqual({ type: 'kubernetes', kubeconfig: '/root/.kube/config', namespace: 'twill-system' });
    const fromEnv = (env: string | undefined, namespace?: string) =>
      resolveAgentConfig({ hostname: 'n', flags: { routing: 'none', datastore: 'kubernetes' }, ...(env === undefined ? {} : { kubeconfigEnv: env }), ...(namespace === undefined ? {} : { detectedNamespace: namespace }) }).datastore;
    expect(fromEnv('/home/u/.kube/config', 'twill')).toEqual({ type: 'kubernetes', kubeconfig: '/home/u/.kube/config', namespace: 'twill' });
    // Neither: the in-cluster service account.
    expect(fromEnv(undefined)).toEqual({ type: 'kubernetes', namespace: 'twill-system' });
    expect(fromEnv('')).toEqual({ type: 'kubernetes', namespace: 'twill-system' });
    expect(() => fromEnv('kubeconfig')).toThrow('the KUBECONFIG environment variable: must be an absolute path (got "kubeconfig")');
    expect(() => fromEnv(undefined, 'Bad_NS')).toThrow("the service account's namespace: must be a Kubernetes namespace name");
    // The flag beats the file's type; SQLite ignores KUBECONFIG.
    expect(resolve('routing: none\ndatastore: {type: kubernetes}', { datastore: 'sqlite' }).datastore).toEqual({ type: 'sqlite' });
    expect(resolveAgentConfig({ hostname: 'n', flags: { routing: 'none' }, kubeconfigEnv: '/k' }).datastore).toEqual({ type: 'sqlite' });
  });

  it('does not ask install-cni for the addresses routing needs', () => {
    expect(resolveAgentConfig({ hostname: 'n', checkRouting: false }).routing).toBe('bgp');
  });
});

// Each bad configuration and the exact message a person reads.
const BAD: readonly [string, string, AgentFlags?][] = [
  ['dataplane: iptables', `${FILE}: dataplane: must be one of "nftables", "ebpf", "none" (got "iptables")`],
  ['dataplane: 7', `${FILE}: dataplane: must be a string (got number 7)`],
  ['routing: ospf', `${FILE}: routing: must be one of "bgp", "direct", "none" (got "ospf")`],
  ['routing: bgp', `${FILE}: routing: "bgp" needs nodeAddresses.ipv4 (--node-ipv4): the router id and the next hop peers learn; set it, or choose routing "none"`],
  ['nodeAddresses: {ipv6: fd00::1/64}\nrouting: bgp', `${FILE}: routing: "bgp" needs nodeAddresses.ipv4 (--node-ipv4): the router id and the next hop peers learn; set it, or choose routing "none"`],
  ['routing: direct', `${FILE}: routing: "direct" needs nodeAddresses.ipv4 or .ipv6 (--node-ipv4, --node-ipv6): where other nodes send this node's pods' traffic; set it, or choose routing "none"`],
  ['logLevel: verbose', `${FILE}: logLevel: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent" (got "verbose")`],
  ['nodeName: Node_A', `${FILE}: nodeName: must be a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", at most 253 characters; got "Node_A")`],
  ['nodeName: ""', `${FILE}: nodeName: must not be empty`],
  ['dataDir: var/lib/twill', `${FILE}: dataDir: must be an absolute path (got "var/lib/twill")`],
  ['agentSocket: [a]', `${FILE}: agentSocket: must be a string (got a list)`],
  ['network: "my net"', `${FILE}: network: must be a CNI network name (letters, digits, "_", "." and "-"; got "my net")`],
  ['nodeAddresses: {ipv4: 10.0.0.1}', `${FILE}: nodeAddresses.ipv4: must be this node's IPv4 address with its prefix length, like "10.0.0.1/24" (got "10.0.0.1")`],
  ['nodeAddresses: {ipv4: fd00::1/64}', `${FILE}: nodeAddresses.ipv4: must be an IPv4 address (got "fd00::1/64")`],
  ['nodeAddresses: {ipv6: 10.0.0.1/24}', `${FILE}: nodeAddresses.ipv6: must be an IPv6 address (got "10.0.0.1/24")`],
  ['nodeAddresses: {ipv5: x}', `${FILE}: nodeAddresses.ipv5: unknown key (known: ipv4, ipv6)`],
  ['nodeAddresses: 10.0.0.1/24', `${FILE}: nodeAddresses: must be a mapping (got string "10.0.0.1/24")`],
  [`${BASE}bgp: {asNumber: 0}`, `${FILE}: bgp.asNumber: must be an integer from 1 to 4294967295 (got number 0)`],
  [`${BASE}bgp: {asNumber: "64512"}`, `${FILE}: bgp.asNumber: must be an integer from 1 to 4294967295 (got string "64512")`],
  [`${BASE}bgp: {listenPort: 70000}`, `${FILE}: bgp.listenPort: must be an integer from 1 to 65535 (got number 70000)`],
  [`${BASE}bgp: {peers: []}`, `${FILE}: bgp.peers: unknown key (known: listenPort, asNumber)`],
  [`${BASE}http: {listen: "localhost:9099"}`, `${FILE}: http.listen: must be "ADDRESS:PORT" with an IP address and a port from 0 to 65535, like "127.0.0.1:9099" or "[::1]:9099" (got "localhost:9099")`],
  [`${BASE}http: {listen: "::1:9099"}`, `${FILE}: http.listen: must be "ADDRESS:PORT" with an IP address and a port from 0 to 65535, like "127.0.0.1:9099" or "[::1]:9099" (got "::1:9099")`],
  [`${BASE}http: {listen: "127.0.0.1:99999"}`, `${FILE}: http.listen: must be "ADDRESS:PORT" with an IP address and a port from 0 to 65535, like "127.0.0.1:9099" or "[::1]:9099" (got "127.0.0.1:99999")`],
  [`${BASE}http: {port: 9099}`, `${FILE}: http.port: unknown key (known: listen)`],
  [`${BASE}cni: {mtu: 20}`, `${FILE}: cni.mtu: must be an integer from 68 to 65535 (got number 20)`],
  [`${BASE}cni: {binDir: opt/cni/bin}`, `${FILE}: cni.binDir: must be an absolute path (got "opt/cni/bin")`],
  [`${BASE}cni: {conflistName: 10-twill.conf}`, `${FILE}: cni.conflistName: must be a file name ending in ".conflist", without "/" and not hidden (got "10-twill.conf")`],
  [`${BASE}cni: {conflistName: ../10-twill.conflist}`, `${FILE}: cni.conflistName: must be a file name ending in ".conflist", without "/" and not hidden (got "../10-twill.conflist")`],
  [`${BASE}cni: {pools: []}`, `${FILE}: cni.pools: must name at least one pool`],
  [`${BASE}cni: {pools: 10.0.0.0/8}`, `${FILE}: cni.pools: must be a list of pools like [{cidr: "192.168.0.0/16", blockSize: 26}] (got string "10.0.0.0/8")`],
  [`${BASE}cni: {pools: [{cidr: 10.0.0.0/33}]}`, `${FILE}: cni.pools[0].cidr: invalid CIDR "10.0.0.0/33"`],
  [`${BASE}cni: {pools: [{cidr: 10.0.0.0/16}, {cidr: 10.0.1.0/24}]}`, `${FILE}: cni.pools[1].cidr: 10.0.1.0/24 overlaps pools[0] "10.0.0.0-16" (10.0.0.0/16)`],
  [`${BASE}cni: {ipam: {}}`, `${FILE}: cni.ipam: unknown key (known: binDir, confDir, conflistName, mtu, pools)`],
  [`${BASE}dataplan: ebpf`, `${FILE}: dataplan: unknown key (known: nodeName, dataDir, datastore, agentSocket, network, dataplane, nodeAddresses, routing, bgp, http, api, logLevel, cni, flows, ui, l7)`],
  [`${BASE}flows: {enabled: "no"}`, `${FILE}: flows.enabled: must be true or false (got string "no")`],
  [`${BASE}flows: {socket: observer.sock}`, `${FILE}: flows.socket: must be an absolute path (got "observer.sock")`],
  [`${BASE}flows: {listen: 4245}`, `${FILE}: flows.listen: must be a string (got number 4245)`],
  [`${BASE}flows: {capacity: 8}`, `${FILE}: flows.capacity: must be an integer from 16 to 1048576 (got number 8)`],
  [`${BASE}flows: {budgetPerSecond: 1.5}`, `${FILE}: flows.budgetPerSecond: must be an integer from 1000 to 10000000 (got number 1.5)`],
  [`${BASE}flows: {budget: 10}`, `${FILE}: flows.budget: unknown key (known: enabled, socket, listen, listenInsecure, capacity, budgetPerSecond, dropLogGroup)`],
  [`${BASE}flows: {dropLogGroup: 1}`, `${FILE}: flows.dropLogGroup: must not be 1, the nflog group Log rules log to: choose another group (default 2)`],
  [`${BASE}flows: {dropLogGroup: 65536}`, `${FILE}: flows.dropLogGroup: must be an integer from 0 to 65535 (got number 65536)`],
  [`${BASE}flows: {dropLogGroup: "3"}`, `${FILE}: flows.dropLogGroup: must be an integer from 0 to 65535 (got string "3")`],
  [`${BASE}flows: {listen: "0.0.0.0:4245"}`, `${FILE}: flows.listen: "0.0.0.0" is not a loopback address: the observer serves every pod's flows without authentication; use 127.0.0.1 or [::1], or set flows.listenInsecure: true (--flows-listen-insecure) to serve it there anyway`],
  [`${BASE}flows: {listen: "[fd00::1]:4245", listenInsecure: false}`, `${FILE}: flows.listen: "fd00::1" is not a loopback address: the observer serves every pod's flows without authentication; use 127.0.0.1 or [::1], or set flows.listenInsecure: true (--flows-listen-insecure) to serve it there anyway`],
  [`${BASE}flows: {listenInsecure: yes}`, `${FILE}: flows.listenInsecure: must be true or false (got string "yes")`],
  [`${BASE}ui: {listen: "0.0.0.0:9098"}`, `${FILE}: ui.listen: "0.0.0.0" is not a loopback address: the dashboard shows every pod, policy and flow without authentication; use 127.0.0.1 or [::1], or set ui.listenInsecure: true (--ui-listen-insecure) to serve it there anyway`],
  [`${BASE}ui: {maxClients: 0}`, `${FILE}: ui.maxClients: must be an integer from 1 to 1024 (got number 0)`],
  [`${BASE}l7: {proxy: 1}`, `${FILE}: l7.proxy: unknown key (known: enabled, proxyPort, mark, upstreamMark, mask, routeTable, rulePriority)`],
  [`${BASE}l7: {proxyPort: 0}`, `${FILE}: l7.proxyPort: must be an integer from 1 to 65535 (got number 0)`],
  [`${BASE}l7: {mark: 0x1000}`, `${FILE}: l7.mark: 0x1000 has bits outside l7.mask 0xf00`],
  [`${BASE}l7: {mask: 0}`, `${FILE}: l7.mask: must be an integer from 1 to 4294967295 (got number 0)`],
  [`${BASE}l7: {upstreamMark: 0x200}`, `${FILE}: l7.upstreamMark: must differ from l7.mark 0x200 (that mark's route delivers locally)`],
  [`${BASE}l7: {mask: 0xff}`, `${FILE}: l7.mark: the default 0x200 does not fit l7.mask 0xff: set l7.mark to a value within the mask`],
  [`${BASE}l7: {mask: 0xff, mark: 0x10}`, `${FILE}: l7.upstreamMark: the default 0xa00 does not fit l7.mask 0xff: set l7.upstreamMark to a value within the mask`],
  [`${BASE}l7: {mark: 0xa00}`, `${FILE}: l7.upstreamMark: the default 0xa00 must differ from l7.mark 0xa00 (that mark's route delivers locally)`],
  [`${BASE}l7: {routeTable: 254}`, `${FILE}: l7.routeTable: 254 is a reserved table (253 default, 254 main, 255 local)`],
  [`${BASE}l7: {rulePriority: 32766}`, `${FILE}: l7.rulePriority: must be an integer from 1 to 32765 (got number 32766)`],
  [`${BASE}http: {listen: "127.0.0.1:9098"}`, `${FILE}: ui.listen: must not be the health server's address 127.0.0.1:9098 (http.listen): give the dashboard its own port (default 127.0.0.1:9098)`],
  [BASE, `--flows-listen: "192.0.2.7" is not a loopback address: the observer serves every pod's flows without authentication; use 127.0.0.1 or [::1], or set flows.listenInsecure: true (--flows-listen-insecure) to serve it there anyway`, { flowsListen: '192.0.2.7:4245' }],
  [`${BASE}api: {socket: /run/o.sock}\nflows: {socket: /run/o.sock}`, `${FILE}: flows.socket: must not be the API socket "/run/o.sock": give the flow observer its own path`],
  [BASE, '--flows-socket: must not be the agent socket "/run/twill/agent.sock": give the flow observer its own path', { flowsSocket: '/run/twill/agent.sock' }],
  [BASE, '--flows-listen: must be "ADDRESS:PORT" with an IP address and a port from 0 to 65535, like "127.0.0.1:9099" or "[::1]:9099" (got "localhost:4245")', { flowsListen: 'localhost:4245' }],
  [`${BASE}datastore: {type: etcd}`, `${FILE}: datastore.type: must be one of "sqlite", "kubernetes" (got "etcd")`],
  [`${BASE}datastore: kubernetes`, `${FILE}: datastore: must be a mapping (got string "kubernetes")`],
  [`${BASE}datastore: {type: kubernetes, kubeconfig: .kube/config}`, `${FILE}: datastore.kubeconfig: must be an absolute path (got ".kube/config")`],
  [`${BASE}datastore: {type: kubernetes, namespace: Twill}`, `${FILE}: datastore.namespace: must be a Kubernetes namespace name (a DNS-1123 label: lower-case letters, digits and "-", at most 63 characters; got "Twill")`],
  [`${BASE}datastore: {type: kubernetes, server: https://k8s}`, `${FILE}: datastore.server: unknown key (known: type, kubeconfig, namespace)`],
  [`${BASE}datastore: {kubeconfig: /k}`, `${FILE}: datastore.kubeconfig: is only for datastore.type "kubernetes"`],
  [BASE, '--datastore: must be one of "sqlite", "kubernetes" (got "k8s")', { datastore: 'k8s' }],
  [BASE, '--kubeconfig: is only for the Kubernetes datastore: add --datastore kubernetes', { kubeconfig: '/k' }],
  [BASE, '--kubeconfig: must be an absolute path (got "k")', { datastore: 'kubernetes', kubeconfig: 'k' }],
  [`${BASE}api: {socket: run/api.sock}`, `${FILE}: api.socket: must be an absolute path (got "run/api.sock")`],
  [`${BASE}api: {listen: /run/api.sock}`, `${FILE}: api.listen: unknown key (known: socket)`],
  [`${BASE}api: /run/api.sock`, `${FILE}: api: must be a mapping (got string "/run/api.sock")`],
  [`${BASE}agentSocket: /run/t.sock\napi: {socket: /run/t.sock}`, `${FILE}: api.socket: must not be the agent socket "/run/t.sock" (the plugin's): give the API its own path`],
  ['- nodeName: a', `${FILE}: must be a mapping of settings (got a list)`],
  ['nodeName: [a', `${FILE}: not valid YAML or JSON: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 13`],
  ['nodeName: a\nnodeName: b', `${FILE}: not valid YAML or JSON: Map keys must be unique at line 2, column 1`],
  // Flags are named as typed.
  [BASE, '--dataplane: must be one of "nftables", "ebpf", "none" (got "bpf")', { dataplane: 'bpf' }],
  [BASE, '--data-dir: must be an absolute path (got "data")', { dataDir: 'data' }],
  [BASE, '--api-socket: must be an absolute path (got "api.sock")', { apiSocket: 'api.sock' }],
  [BASE, '--api-socket: must not be the agent socket "/run/twill/agent.sock" (the plugin\'s): give the API its own path', { apiSocket: '/run/twill/agent.sock' }],
  [BASE, '--http-listen: must be "ADDRESS:PORT" with an IP address and a port from 0 to 65535, like "127.0.0.1:9099" or "[::1]:9099" (got "9099")', { httpListen: '9099' }],
  [BASE, '--node-name: must be a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", at most 253 characters; got "-a")', { nodeName: '-a' }],
  [BASE, '--node-ipv4: must be this node\'s IPv4 address with its prefix length, like "10.0.0.1/24" (got "a")', { nodeIpv4: 'a' }],
  ['routing: none', '--routing: "bgp" needs nodeAddresses.ipv4 (--node-ipv4): the router id and the next hop peers learn; set it, or choose routing "none"', { routing: 'bgp' }],
];

describe('resolveAgentConfig: what a bad config gets', () => {
  it.each(BAD)('%s', (content, message, flags) => {
    const error = failure(content, flags);
    expect(error.message).toBe(message);
    expect(error.code).toBe('invalid-agent-config');
  });

  it('names the field in `field` and the file or flag in `source`', () => {
    const error = failure(`${BASE}bgp: {asNumber: -1}`);
    expect({ source: error.source, field: error.field }).toEqual({ source: FILE, field: 'bgp.asNumber' });
    const flagError = failure(BASE, { logLevel: 'loud' });
    expect({ source: flagError.source, field: flagError.field }).toEqual({ source: '--log-level', field: '' });
  });

  it('says the default routing is the default when the file sets no routing', () => {
    expect(failure('logLevel: info').message).toBe(
      `${FILE}: routing: "bgp" (the default) needs nodeAddresses.ipv4 (--node-ipv4): the router id and the next hop peers learn; set it, or choose routing "none"`,
    );
  });
});

describe('parseListenAddress', () => {
  it('parses IPv4 and bracketed IPv6 literals and names the source on error', () => {
    expect(parseListenAddress('0.0.0.0:9099', '--http-listen')).toEqual({ host: '0.0.0.0', port: 9099 });
    expect(parseListenAddress('[fd00::0001]:0', '--http-listen')).toEqual({ host: 'fd00::1', port: 0 });
    expect(() => parseListenAddress('0x7f.1:80', '--http-listen')).toThrow('--http-listen: must be "ADDRESS:PORT"');
  });
});

describe('twillConflist', () => {
  it('is a conflist the twill plugin accepts, on the agent\'s data folder, socket, node and pools', () => {
    const config = resolve(`${BASE}nodeName: n1\ndataDir: /srv/twill\nnetwork: pods\ncni: {mtu: 1400, pools: [{cidr: 10.244.0.0/16, blockSize: 26}]}\n`);
    const conflist = twillConflist(config);
    expect(conflist).toMatchObject({ cniVersion: '1.1.0', name: 'pods' });
    const plugin = (conflist['plugins'] as Record<string, unknown>[])[0];
    const parsed = parseTwillConfig({ cniVersion: '1.1.0', name: 'pods', ...plugin }, { defaultNodeName: 'other' });
    expect(parsed).toMatchObject({ network: 'pods', mtu: 1400, dataDir: '/srv/twill', agentSocket: '/run/twill/agent.sock', dataplane: 'nftables' });
    expect(parsed.ipam).toMatchObject({ kind: 'pools', pools: { nodeName: 'n1' } });
  });

  it('names the Kubernetes datastore, which the standalone plugin then refuses; SQLite is the default and not written', () => {
    const plugin = (config: AgentConfig) => (twillConflist(config)['plugins'] as Record<string, unknown>[])[0]!;
    expect(plugin(resolve(BASE))).not.toHaveProperty('datastore');
    const kubernetes = plugin(resolve(`${BASE}datastore: {type: kubernetes}`));
    expect(parseTwillConfig({ cniVersion: '1.1.0', name: 'k8s-pod-network', ...kubernetes }, { defaultNodeName: 'n' }).datastore).toBe('kubernetes');
  });

  it('names no dataplane when the agent enforces none', () => {
    const plugin = (twillConflist(resolve(`${BASE}dataplane: none`))['plugins'] as Record<string, unknown>[])[0];
    expect(plugin).not.toHaveProperty('dataplane');
  });
});
