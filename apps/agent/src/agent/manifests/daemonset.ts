// The agent on every node: its ConfigMap (the agent's configuration file) and its
// DaemonSet (the install-cni init container, then the agent on the host's network).
import { AGENT_DEFAULTS } from '../config.js';
import { HEALTH_PATHS } from '../health.js';
import { renderYamlDocuments, withComment, withKeyComments } from './render.js';

/** Where the ConfigMap's file appears in the agent's container (the agent's default path). */
export const AGENT_CONFIG_FILE = AGENT_DEFAULTS.configFile;

const CONFIG_DIR = AGENT_CONFIG_FILE.slice(0, AGENT_CONFIG_FILE.lastIndexOf('/'));
const CONFIG_NAME = AGENT_CONFIG_FILE.slice(AGENT_CONFIG_FILE.lastIndexOf('/') + 1);

// The agent's health server: loopback only (config.ts), so probes name the host address.
const HEALTH = (() => {
  const [host = '127.0.0.1', port = '9099'] = AGENT_DEFAULTS.httpListen.split(':');
  return { host, port: Number(port) };
})();

/** The optional ConfigMap whose variables point the agent at the API server directly. */
export const API_SERVER_CONFIG_MAP = 'twill-api-server';

/** What the workload objects share with the rest of the manifest. */
export interface WorkloadOptions {
  readonly namespace: string;
  /** The DaemonSet, ConfigMap and ServiceAccount name. */
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The text of `/etc/twill/agent.yaml` for a cluster: the Kubernetes datastore (its
 * Secrets in `namespace`) and the agent's defaults written out, so an operator edits a
 * value instead of looking up a key. The node name is not here: each pod passes its own.
 */
export function agentConfigText(namespace: string): string {
  const cni = {
    binDir: AGENT_DEFAULTS.cniBinDir,
    confDir: AGENT_DEFAULTS.cniConfDir,
    conflistName: AGENT_DEFAULTS.conflistName,
    mtu: AGENT_DEFAULTS.mtu,
    pools: AGENT_DEFAULTS.pools.map((pool) => ({ ...pool })),
  };
  const settings = withKeyComments({
    datastore: withComment({ type: 'kubernetes', namespace }, "Resources, IPAM and endpoint records on the API server (twill.io CRDs); Secrets from this namespace."),
    network: AGENT_DEFAULTS.network,
    dataplane: AGENT_DEFAULTS.dataplane,
    routing: AGENT_DEFAULTS.routing,
    http: withComment({ listen: AGENT_DEFAULTS.httpListen }, 'Health, readiness and metrics: loopback only (the probes call it from the node).'),
    logLevel: AGENT_DEFAULTS.logLevel,
    cni: withComment(cni, 'What install-cni writes: the plugin into binDir, the conflist into confDir.\npools: the IPAM pools of the conflist (Calico\'s default pool and block size).'),
  }, {
    network: "The CNI network's name (Calico's, so Calico users' tooling finds it).",
    dataplane: 'Policy enforcement: nftables, ebpf, or none.',
    routing: "Routes to other nodes' pods: bgp (the node mesh and BGPPeers), direct (one L2 segment), or none.",
  });
  return renderYamlDocuments([settings], "twill-agent's configuration. The node name comes from --node-name (the pod's spec.nodeName).");
}

/** The ConfigMap holding the agent's configuration file. */
export function agentConfigMap(options: WorkloadOptions): Record<string, unknown> {
  return withComment(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: options.name, namespace: options.namespace, labels: { ...options.labels } },
      data: { [CONFIG_NAME]: agentConfigText(options.namespace) },
    },
    `${AGENT_CONFIG_FILE} in the agent's containers. Edit it, then restart the pods:\nkubectl -n ${options.namespace} rollout restart daemonset/${options.name}`,
  );
}

interface HostPathVolume {
  readonly name: string;
  readonly path: string;
  readonly type: 'Directory' | 'DirectoryOrCreate';
}

const VOLUMES = {
  cniBin: { name: 'cni-bin-dir', path: AGENT_DEFAULTS.cniBinDir, type: 'DirectoryOrCreate' },
  cniNet: { name: 'cni-net-dir', path: AGENT_DEFAULTS.cniConfDir, type: 'DirectoryOrCreate' },
  bpffs: { name: 'bpffs', path: '/sys/fs/bpf', type: 'Directory' },
  run: { name: 'run-twill', path: '/run/twill', type: 'DirectoryOrCreate' },
  data: { name: 'var-lib-twill', path: AGENT_DEFAULTS.dataDir, type: 'DirectoryOrCreate' },
  netns: { name: 'netns', path: '/var/run/netns', type: 'DirectoryOrCreate' },
  modules: { name: 'lib-modules', path: '/lib/modules', type: 'Directory' },
} as const satisfies Record<string, HostPathVolume>;

function mount(volume: HostPathVolume, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: volume.name, mountPath: volume.path, ...extra };
}

const NODE_NAME_ENV = {
  name: 'NODE_NAME',
  valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
};

const PRIVILEGED_WHY = [
  'The agent needs, on the host:',
  '  NET_ADMIN     links, addresses, routes, nftables, tc/tcx programs on host-side veths',
  '  BPF, PERFMON  load eBPF programs and maps, read the flow ring buffer (kernels >= 5.8)',
  '  SYS_ADMIN     mount and pin in bpffs (/sys/fs/bpf), enter pod network namespaces (setns)',
  '  SYS_RESOURCE  raise RLIMIT_MEMLOCK for BPF maps on kernels before 5.11',
  'and the Bidirectional mount of /sys/fs/bpf (pins must outlive the container so enforcement',
  'survives an agent restart), which Kubernetes allows only to privileged containers.',
  'With SYS_ADMIN and BPF it holds most of what privileged adds anyway, so privileged is used',
  'rather than a capability list that gives no real confinement.',
].join('\n');

/** The DaemonSet: install-cni, then the agent, on every node. */
export function agentDaemonSet(options: WorkloadOptions): Record<string, unknown> {
  const selector = { 'app.kubernetes.io/name': 'twill', 'app.kubernetes.io/component': 'agent' };
  const configArgs = ['--config', AGENT_CONFIG_FILE, '--node-name', '$(NODE_NAME)'];
  const configMount = { name: 'config', mountPath: CONFIG_DIR, readOnly: true };
  const probe = (path: string, failureThreshold: number): Record<string, unknown> => ({
    httpGet: { host: HEALTH.host, port: HEALTH.port, path, scheme: 'HTTP' },
    periodSeconds: 10,
    timeoutSeconds: 5,
    failureThreshold,
  });
  const volumes: HostPathVolume[] = Object.values(VOLUMES);
  return withComment(
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: options.name, namespace: options.namespace, labels: { ...options.labels, ...selector } },
      spec: {
        selector: { matchLabels: selector },
        updateStrategy: withComment(
          { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
          'One node at a time: pods keep their addresses and pinned programs while their agent restarts.',
        ),
        template: {
          metadata: { labels: { ...options.labels, ...selector } },
          spec: withKeyComments({
            serviceAccountName: options.name,
            hostNetwork: true,
            dnsPolicy: 'ClusterFirstWithHostNet',
            priorityClassName: 'system-node-critical',
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            tolerations: withComment(
              [{ operator: 'Exists' }],
              'Every node, whatever its taints (control plane, NotReady, NoExecute): pods there need networking too.',
            ),
            terminationGracePeriodSeconds: 30,
            initContainers: [
              withComment(
                {
                  name: 'install-cni',
                  image: options.image,
                  command: ['twill-agent', 'install-cni', ...configArgs],
                  env: [NODE_NAME_ENV],
                  volumeMounts: [mount(VOLUMES.cniBin), mount(VOLUMES.cniNet), configMount],
                  securityContext: withComment(
                    { runAsUser: 0, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                    'Writes root-owned host folders as root; needs no capability.',
                  ),
                },
                'Writes the twill plugin into /opt/cni/bin and 10-twill.conflist into /etc/cni/net.d (atomically).',
              ),
            ],
            containers: [
              {
                name: 'agent',
                image: options.image,
                command: ['twill-agent', 'run', ...configArgs],
                env: [NODE_NAME_ENV],
                envFrom: withComment(
                  [{ configMapRef: { name: API_SERVER_CONFIG_MAP, optional: true } }],
                  `Optional: a ConfigMap ${API_SERVER_CONFIG_MAP} with KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT set to\nthe API server itself, where the kubernetes Service is not reachable before pod networking is\n(no kube-proxy yet, or a kube-proxy replacement that needs the agent first).`,
                ),
                securityContext: withComment({ privileged: true }, PRIVILEGED_WHY),
                livenessProbe: withComment(probe(HEALTH_PATHS.healthz, 6), 'The agent listens on loopback only: the kubelet probes from the node.'),
                readinessProbe: probe(HEALTH_PATHS.readyz, 3),
                resources: withComment(
                  { requests: { cpu: '250m', memory: '256Mi' } },
                  'Requests, no limits: killing the node\'s network agent for memory would cut every pod off.',
                ),
                volumeMounts: [
                  configMount,
                  mount(VOLUMES.bpffs, { mountPropagation: 'Bidirectional' }),
                  mount(VOLUMES.run),
                  mount(VOLUMES.data),
                  mount(VOLUMES.netns, { mountPropagation: 'HostToContainer' }),
                  mount(VOLUMES.modules, { readOnly: true }),
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: options.name } },
              ...volumes.map((v) => ({ name: v.name, hostPath: { path: v.path, type: v.type } })),
            ],
          }, {
            hostNetwork: "The agent programs the node's own network (links, routes, nftables, eBPF) and speaks BGP from its address.",
            dnsPolicy: 'On the host network, cluster DNS names resolve only with this policy.',
            priorityClassName: 'Evicting the network agent would cut every pod of the node off: schedule it first, evict it last.',
          }),
        },
      },
    },
    'twill-agent on every node.',
  );
}
