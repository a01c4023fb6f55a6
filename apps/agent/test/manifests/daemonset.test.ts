// The DaemonSet and its ConfigMap as a platform team reads them: on every node, on the
// host network, privileged with the reason written down, the host folders the agent and
// install-cni use, probes on the agent's loopback health server; the configuration file
// is one the agent accepts and selects the Kubernetes datastore.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import { parseAgentConfigText, resolveAgentConfig } from '../../src/agent/config.js';
import { manifestObjects, renderManifests } from '../../src/agent/manifests/index.js';

interface Container {
  name: string;
  image: string;
  command: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  envFrom?: { configMapRef: { name: string; optional?: boolean } }[];
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }[];
  livenessProbe?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

interface PodSpec {
  hostNetwork: boolean;
  dnsPolicy: string;
  priorityClassName: string;
  serviceAccountName: string;
  tolerations: Record<string, unknown>[];
  initContainers: Container[];
  containers: Container[];
  volumes: { name: string; hostPath?: { path: string; type: string }; configMap?: { name: string } }[];
}

function daemonSet(options: Parameters<typeof manifestObjects>[0] = {}): { spec: { updateStrategy: unknown; template: { spec: PodSpec } } } {
  return manifestObjects(options).find((o) => o['kind'] === 'DaemonSet') as never;
}

function mounts(container: Container, volumes: PodSpec['volumes']): string[] {
  return container.volumeMounts.map((m) => {
    const volume = volumes.find((v) => v.name === m.name);
    const source = volume?.hostPath?.path ?? `configmap:${volume?.configMap?.name ?? '?'}`;
    return `${source} -> ${m.mountPath}${m.readOnly === true ? ' ro' : ''}${m.mountPropagation === undefined ? '' : ` ${m.mountPropagation}`}`;
  });
}

describe('the DaemonSet', () => {
  const pod = daemonSet().spec.template.spec;
  const agent = pod.containers[0]!;
  const installCni = pod.initContainers[0]!;

  it('runs on every node, on the host network, first to schedule and last to evict', () => {
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.serviceAccountName).toBe('twill-agent');
    expect(daemonSet().spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
  });

  it('installs the CNI plugin first, then runs the agent with the node name from the downward API', () => {
    expect(pod.initContainers.map((c) => c.name)).toEqual(['install-cni']);
    expect(pod.containers.map((c) => c.name)).toEqual(['agent']);
    expect(installCni.command).toEqual(['twill-agent', 'install-cni', '--config', '/etc/twill/agent.yaml', '--node-name', '$(NODE_NAME)']);
    expect(agent.command).toEqual(['twill-agent', 'run', '--config', '/etc/twill/agent.yaml', '--node-name', '$(NODE_NAME)']);
    for (const container of [installCni, agent]) {
      expect(container.env).toEqual([{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }]);
    }
  });

  it('lets an optional ConfigMap point the agent at the API server directly (no kube-proxy yet)', () => {
    expect(agent.envFrom).toEqual([{ configMapRef: { name: 'twill-api-server', optional: true } }]);
    expect(renderManifests()).toMatch(/# Optional: a ConfigMap twill-api-server with KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/);
  });

  it('mounts the host folders each container uses, bpffs shared both ways and netns from the host', () => {
    expect(mounts(installCni, pod.volumes)).toEqual(['/opt/cni/bin -> /opt/cni/bin', '/etc/cni/net.d -> /etc/cni/net.d', 'configmap:twill-agent -> /etc/twill ro']);
    expect(mounts(agent, pod.volumes)).toEqual([
      'configmap:twill-agent -> /etc/twill ro',
      '/sys/fs/bpf -> /sys/fs/bpf Bidirectional',
      '/run/twill -> /run/twill',
      '/var/lib/twill -> /var/lib/twill',
      '/var/run/netns -> /var/run/netns HostToContainer',
      '/lib/modules -> /lib/modules ro',
    ]);
  });

  it('runs the agent privileged, and install-cni with no capability', () => {
    expect(agent.securityContext).toEqual({ privileged: true });
    expect(installCni.securityContext).toEqual({ runAsUser: 0, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  });

  it('says in the manifest which capabilities the agent needs and why it is privileged', () => {
    const text = renderManifests();
    const comment = text.slice(0, text.indexOf('privileged: true')).split('\n').slice(-12).join('\n');
    for (const word of ['NET_ADMIN', 'BPF', 'PERFMON', 'SYS_ADMIN', 'bpffs', 'setns', 'SYS_RESOURCE', 'Bidirectional', 'privileged']) {
      expect(comment).toContain(word);
    }
  });

  it('probes /healthz and /readyz on the loopback port the agent listens on, and requests resources', () => {
    expect(agent.livenessProbe).toMatchObject({ httpGet: { host: '127.0.0.1', port: 9099, path: '/healthz' } });
    expect(agent.readinessProbe).toMatchObject({ httpGet: { host: '127.0.0.1', port: 9099, path: '/readyz' } });
    expect(Object.keys(agent.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(agent.resources?.limits).toBeUndefined();
  });
});

describe("the agent's ConfigMap", () => {
  const file = (namespace?: string): string => {
    const configMap = manifestObjects(namespace === undefined ? {} : { namespace }).find((o) => o['kind'] === 'ConfigMap') as { data: Record<string, string> };
    expect(Object.keys(configMap.data)).toEqual(['agent.yaml']);
    return configMap.data['agent.yaml']!;
  };

  it('is a configuration the agent accepts: the Kubernetes datastore, Secrets from its namespace, health on loopback', () => {
    const settings = parseAgentConfigText('/etc/twill/agent.yaml', file());
    const config = resolveAgentConfig({ file: { path: '/etc/twill/agent.yaml', settings }, flags: { nodeName: 'node-1' }, hostname: 'ignored', detectedIpv4: '10.0.0.1/24' });
    expect(config.datastore).toEqual({ type: 'kubernetes', namespace: 'twill-system' });
    expect(config.nodeName).toBe('node-1');
    expect(config.http.listen).toEqual({ host: '127.0.0.1', port: 9099 });
    expect(config.cni).toMatchObject({ binDir: '/opt/cni/bin', confDir: '/etc/cni/net.d' });
  });

  it('names the namespace the manifests are rendered for', () => {
    expect(parseYaml(file('net-agents'))).toMatchObject({ datastore: { type: 'kubernetes', namespace: 'net-agents' } });
  });
});
