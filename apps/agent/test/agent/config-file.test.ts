// The twill-agent command line in-process: what a person typing it sees on stdout and
// stderr, and the exit code, for the config file, the flags and install-cni.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

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
});
