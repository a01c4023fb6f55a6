// The twill-agent command line in-process: what a person typing it sees on stdout and
// stderr, and the exit code, for the config file, the flags and install-cni.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

import { type AgentProcessIo, agentMain, firstFoundIpv4, loadAgentConfig } from '../../src/agent/sys/main.js';

describe('twill-agent command line', () => {
  let dir: string;
  let out: string;
  let err: string;
  const io: AgentProcessIo = {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    // Never asked to stop: these runs end before an agent starts.
    stopSignal: () => new Promise(() => undefined),
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twt-agent-cli-'));
    out = '';
    err = '';
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the file given with --config, flags beating it', async () => {
    const file = join(dir, 'agent.json');
    await writeFile(file, JSON.stringify({ nodeName: 'from-file', routing: 'none', dataplane: 'ebpf' }));
    const config = await loadAgentConfig({ configFile: file, flags: { dataplane: 'none' } });
    expect(config).toMatchObject({ nodeName: 'from-file', routing: 'none', dataplane: 'none' });
  });

  it('says which file cannot be read, exit code 1', async () => {
    const missing = join(dir, 'missing.yaml');
    expect(await agentMain(['run', '--config', missing], io)).toBe(1);
    expect(err).toBe(`twill-agent: ${missing}: cannot be read: ENOENT: no such file or directory, open '${missing}'\n`);
  });

  it('names the file, the line and the column of a YAML error', async () => {
    const file = join(dir, 'agent.yaml');
    await writeFile(file, 'nodeName: a\nbgp: {asNumber: 1\n');
    expect(await agentMain(['--config', file], io)).toBe(1);
    expect(err).toBe(`twill-agent: ${file}: not valid YAML or JSON: Flow map in block collection must be sufficiently indented and end with a } at line 3, column 1\n`);
  });

  it('refuses a bad flag before starting anything', async () => {
    const file = join(dir, 'agent.yaml');
    await writeFile(file, `dataDir: ${dir}/data\nrouting: none\n`);
    expect(await agentMain(['run', '--config', file, '--agent-socket', join(dir, 'agent.sock'), '--dataplane', 'bpf'], io)).toBe(1);
    expect(err).toBe('twill-agent: --dataplane: must be one of "nftables", "ebpf", "none" (got "bpf")\n');
    await expect(stat(join(dir, 'data'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(dir, 'agent.sock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("takes the first uplink's IPv4 address when none is configured (Calico's first-found), and refuses BGP when there is none", async () => {
    const file = join(dir, 'agent.yaml');
    await writeFile(file, 'nodeName: n\n');
    expect((await loadAgentConfig({ configFile: file, detectIpv4: () => '192.0.2.7/24' })).nodeAddresses).toEqual({ ipv4: '192.0.2.7/24' });
    expect((await loadAgentConfig({ configFile: file, flags: { nodeIpv4: '198.51.100.1/24' }, detectIpv4: () => '192.0.2.7/24' })).nodeAddresses).toEqual({ ipv4: '198.51.100.1/24' });
    await expect(loadAgentConfig({ configFile: file, detectIpv4: () => undefined })).rejects.toThrow(
      `${file}: routing: "bgp" (the default) needs nodeAddresses.ipv4 (--node-ipv4): the router id and the next hop peers learn; set it, or choose routing "none"`,
    );
  });

  it('first-found skips loopback, pod links, bridges and link-local addresses', () => {
    const address = (cidr: string, internal = false) => ({ address: cidr.split('/')[0]!, netmask: '', family: 'IPv4' as const, mac: '', internal, cidr });
    expect(
      firstFoundIpv4({
        lo: [address('127.0.0.1/8', true)],
        tw0123456789abc: [address('169.254.1.1/32')],
        docker0: [address('172.17.0.1/16')],
        eth0: [address('169.254.9.9/16'), address('10.0.0.7/24')],
        eth1: [address('10.1.0.7/24')],
      }),
    ).toBe('10.0.0.7/24');
    expect(firstFoundIpv4({ lo: [address('127.0.0.1/8', true)] })).toBeUndefined();
  });

  it('gives usage errors exit code 2 with the usage, and --help exit code 0', async () => {
    expect(await agentMain(['run', '--bogus'], io)).toBe(2);
    expect(err).toContain("error: unknown option '--bogus'");
    expect(err).toContain('Usage: twill-agent run [options]');
    expect(await agentMain(['--help'], io)).toBe(0);
    expect(out).toContain('install-cni [options]');
  });

  it('--version prints the package version, exit code 0', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await agentMain(['--version'], io)).toBe(0);
    expect(out).toBe(`${version}\n`);
  });

  it('install-cni writes the binaries and the conflist where the flags say, and prints what it wrote', async () => {
    const file = join(dir, 'agent.yaml');
    await writeFile(file, 'nodeName: node-a\nnetwork: pods\ncni: {binDir: /nonexistent/bin, mtu: 1450}\n');
    const binDir = join(dir, 'bin');
    const confDir = join(dir, 'net.d');
    expect(await agentMain(['install-cni', '--config', file, '--bin-dir', binDir, '--conf-dir', confDir], io)).toBe(0);
    expect(err).toBe('');
    expect(JSON.parse(out)).toEqual({ plugin: join(binDir, 'twill'), standalone: join(binDir, 'twill.standalone'), conflist: join(confDir, '10-twill.conflist'), conflistChanged: true });
    const conflist = JSON.parse(await readFile(join(confDir, '10-twill.conflist'), 'utf8')) as { name: string; plugins: { mtu: number; ipam: { nodeName: string } }[] };
    expect(conflist).toMatchObject({ name: 'pods', plugins: [{ type: 'twill', mtu: 1450, ipam: { nodeName: 'node-a' } }] });
    // The standalone plugin runs the sources here (this module is not in dist/).
    expect(await readFile(join(binDir, 'twill.standalone'), 'utf8')).toContain('--conditions=@twill/source');
  });

  it('install-cni --datastore kubernetes writes a conflist the standalone plugin refuses: without the agent, twill fails with code 50 saying twill-agent is not running', { timeout: 60_000 }, async () => {
    const file = join(dir, 'agent.yaml');
    await writeFile(file, `nodeName: node-a\nnetwork: pods\nagentSocket: ${join(dir, 'agent.sock')}\ndataDir: ${join(dir, 'data')}\n`);
    const binDir = join(dir, 'bin');
    const confDir = join(dir, 'net.d');
    expect(await agentMain(['install-cni', '--config', file, '--bin-dir', binDir, '--conf-dir', confDir, '--datastore', 'kubernetes'], io)).toBe(0);
    const conflist = JSON.parse(await readFile(join(confDir, '10-twill.conflist'), 'utf8')) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
    expect(conflist.plugins[0]).toMatchObject({ type: 'twill', datastore: 'kubernetes' });

    // As a runtime execs it, with no agent on the socket: the forwarder runs the standalone plugin.
    const config = JSON.stringify({ cniVersion: conflist.cniVersion, name: conflist.name, ...conflist.plugins[0] });
    const answer = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(
        join(binDir, 'twill'),
        [],
        { env: { ...process.env, TWILL_AGENT_SOCKET: join(dir, 'agent.sock'), CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: binDir } },
        (_error, stdout) => resolve({ code: child.exitCode, stdout }),
      );
      child.stdin?.end(config);
    });
    expect(answer.code).toBe(1);
    expect(JSON.parse(answer.stdout)).toEqual({
      cniVersion: '1.1.0',
      code: 50,
      msg: `twill: twill-agent is not running (nothing answers on ${join(dir, 'agent.sock')}): with the kubernetes datastore only the agent can serve the plugin`,
      details: 'start twill-agent on this node (the twill DaemonSet) and try again',
    });
    // Nothing was made: no datastore folder.
    await expect(stat(join(dir, 'data'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads KUBECONFIG and the service account namespace file for the Kubernetes datastore', async () => {
    const namespaceFile = join(dir, 'namespace');
    await writeFile(namespaceFile, 'kube-system\n');
    await writeFile(join(dir, 'none.yaml'), '');
    expect((await loadAgentConfig({ flags: { routing: 'none', datastore: 'kubernetes' }, env: { KUBECONFIG: '/home/u/.kube/config' }, namespaceFile, configFile: join(dir, 'none.yaml') })).datastore).toEqual({
      type: 'kubernetes',
      kubeconfig: '/home/u/.kube/config',
      namespace: 'kube-system',
    });
    expect((await loadAgentConfig({ flags: { routing: 'none', datastore: 'kubernetes' }, env: {}, namespaceFile: join(dir, 'absent'), configFile: join(dir, 'none.yaml') })).datastore).toEqual({
      type: 'kubernetes',
      namespace: 'twill-system',
    });
  });

  it('manifests prints the Kubernetes objects as YAML for kubectl, in the namespace and with the image asked for', async () => {
    expect(await agentMain(['manifests', '--namespace', 'net', '--image', 'registry.local/twill:1', '--calico-crds'], io)).toBe(0);
    expect(err).toBe('');
    const documents = parseAllDocuments(out).map((document) => document.toJS() as { kind: string; metadata: { name: string; namespace?: string }; spec?: { group?: string } });
    expect(documents.find((d) => d.kind === 'DaemonSet')?.metadata).toMatchObject({ name: 'twill-agent', namespace: 'net' });
    expect(out).toContain('image: registry.local/twill:1');
    expect(documents.some((d) => d.kind === 'CustomResourceDefinition' && d.spec?.group === 'crd.projectcalico.org')).toBe(true);
    expect(documents.some((d) => d.kind === 'CustomResourceDefinition' && d.spec?.group === 'cilium.io')).toBe(false);

    out = '';
    expect(await agentMain(['manifests', '--namespace', 'Net'], io)).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(/^twill-agent: --namespace: must be a DNS-1123 label .*got "Net"\)\n$/u);
  });

  it('run on the Kubernetes datastore with a kubeconfig that cannot be read stops with exit 1 naming the file', async () => {
    const kubeconfig = join(dir, 'missing-kubeconfig');
    const args = ['run', '--datastore', 'kubernetes', '--kubeconfig', kubeconfig, '--routing', 'none', '--dataplane', 'none', '--http-listen', '127.0.0.1:0'];
    const sockets = ['--agent-socket', join(dir, 'agent.sock'), '--api-socket', join(dir, 'api.sock'), '--data-dir', join(dir, 'data')];
    expect(await agentMain([...args, ...sockets], io)).toBe(1);
    expect(err).toMatch(new RegExp(`^twill-agent: cannot load the kubeconfig ${kubeconfig}: .*ENOENT`, 'u'));
    await expect(stat(join(dir, 'agent.sock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
