// Mistaken invocations: each gets exactly one line on stderr saying what and where,
// nothing on stdout, no stack trace, and exit code 2.

import { describe, expect, it } from 'vitest';

import { twill } from './helpers.js';
import { netpolClusterYaml } from './policy/cluster-yaml.js';

const FILES = {
  'cluster.yaml': netpolClusterYaml(),
  'policies/deny.yaml': 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\nspec:\n  podSelector: {}\n',
  'bad/broken.yaml': 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: broken, namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/33}\n',
  'bad/syntax.yaml': 'kind: NetworkPolicy\nmetadata: {name: [unclosed\n',
  'bad/service.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: x}\n',
  'bad/pod-ip.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec: {containers: []}\nstatus:\n  podIPs:\n  - ip: 10.1.1.300\n',
  'empty/README.txt': 'no policies here\n',
};
const SIM = ['policy', 'simulate', '--cluster', 'cluster.yaml', '--policies', 'policies'];
const PROBE = ['--from', 'x/a', '--to', 'y/b'];
const KINDS = 'ippools, ipamblocks, endpoints, networkpolicies (netpol; Calico: cnetpol; Cilium: cnp), globalnetworkpolicies (gnp), ciliumclusterwidenetworkpolicies (ccnp), networksets, globalnetworksets, tiers, bgppeers, bgpconfigurations, nodes, namespaces, pods';
const APPLY_KINDS = 'Namespace, Pod, NetworkPolicy, GlobalNetworkPolicy, NetworkSet, GlobalNetworkSet, Tier, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, Node, BGPPeer, BGPConfiguration, IPPool';

const CORPUS: readonly [args: readonly string[], line: string][] = [
  [[], 'twill: a command is required: status, get, describe, apply, delete, policy, observe, ipam, bgp, cni, lab, ui, completion (see twill --help)'],
  [['polcy'], 'twill: polcy: unknown command: expected status, get, describe, apply, delete, policy, observe, ipam, bgp, cni, lab, ui or completion (see twill --help)'],
  [['policy'], 'twill: policy: a command is required: simulate, lint, explain (see twill policy --help)'],
  [['policy', 'simulat'], 'twill: policy: simulat: unknown command: expected simulate, lint, explain (see twill policy --help)'],
  [['cni'], 'twill: cni: a command is required: add, check, del, gc, status (see twill cni --help)'],
  [['policy', 'simulate', '--cluter', 'cluster.yaml'], 'twill: policy simulate: --cluter: unknown option (did you mean --cluster?); see twill policy simulate --help'],
  [['policy', 'simulate', '--policies', 'policies', ...PROBE, '--port', '80'], 'twill: policy simulate: --cluster: required: the cluster snapshot (YAML of Namespace and Pod objects)'],
  [['policy', 'simulate', '--cluster', 'cluster.yaml', ...PROBE, '--port', '80'], 'twill: policy simulate: --policies: required: the policy files or folders'],
  [[...SIM, ...PROBE, '--port', '0'], 'twill: policy simulate: --port: must be 1-65535 (got 0)'],
  [[...SIM, ...PROBE, '--port', '70000'], 'twill: policy simulate: --port: must be 1-65535 (got 70000)'],
  [[...SIM, ...PROBE, '--port', 'http'], 'twill: policy simulate: --port: must be a port number 1-65535 (got "http")'],
  [[...SIM, ...PROBE, '--port'], 'twill: policy simulate: --port: needs a value'],
  [[...SIM, ...PROBE], 'twill: policy simulate: --port: required for one probe (or use --matrix for every pair)'],
  [[...SIM, '--from', 'x-a', '--to', 'y/b', '--port', '80'], 'twill: policy simulate: --from: must be NAMESPACE/POD (got "x-a")'],
  [[...SIM, '--from', 'x/A', '--to', 'y/b', '--port', '80'], 'twill: policy simulate: --from: pod "A" is not a Kubernetes name (lower-case letters, digits, \'-\' and \'.\')'],
  [[...SIM, '--from', 'x/q', '--to', 'y/b', '--port', '80'], 'twill: policy simulate: --from: no pod x/q in cluster.yaml'],
  [[...SIM, ...PROBE, '--port', '80', '--protocol', 'ICMP'], 'twill: policy simulate: --protocol: must be one of TCP, UDP, SCTP (got "ICMP")'],
  [[...SIM, ...PROBE, '--port', '80', '-o', 'xml'], 'twill: policy simulate: --output: must be one of table, wide, json, yaml (got "xml")'],
  [[...SIM, '--matrix', '--from', 'x/a'], 'twill: policy simulate: --from: cannot be used with --matrix (a matrix probes every pair; use --ports and --protocols)'],
  [[...SIM, ...PROBE, '--port', '80', '--ports', '80,81'], 'twill: policy simulate: --ports: only with --matrix (one probe takes --port and --protocol)'],
  [[...SIM, '--matrix', '--ports', '80,,81'], 'twill: policy simulate: --ports: must be a comma-separated list without empty items (got "80,,81")'],
  [[...SIM, '--matrix', '--ports', '80,80'], 'twill: policy simulate: --ports: lists 80 twice'],
  [[...SIM, '--matrix', '--protocols', 'TCP,GRE'], 'twill: policy simulate: --protocols: must be one of TCP, UDP, SCTP (got "GRE")'],
  [['policy', 'simulate', '--cluster', 'nope.yaml', '--policies', 'policies', ...PROBE, '--port', '80'], 'twill: policy simulate: --cluster: nope.yaml: no such file or folder'],
  [['policy', 'simulate', '--cluster', 'cluster.yaml', '--policies', 'empty', ...PROBE, '--port', '80'], 'twill: policy simulate: --policies: empty: no .yaml, .yml or .json files in this folder'],
  [['policy', 'simulate', '--cluster', 'cluster.yaml', '--policies', 'bad/broken.yaml', ...PROBE, '--port', '80'], 'twill: policy simulate: bad/broken.yaml:8: NetworkPolicy x/broken: spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR "10.0.0.0/33"'],
  [['policy', 'simulate', '--cluster', 'cluster.yaml', '--policies', 'bad/syntax.yaml', ...PROBE, '--port', '80'], 'twill: policy simulate: bad/syntax.yaml:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  [['policy', 'simulate', '--cluster', 'bad/service.yaml', '--policies', 'policies', ...PROBE, '--port', '80'], 'twill: policy simulate: bad/service.yaml:1: Service x/web: a cluster snapshot holds v1 Namespace and Pod objects (or Lists of them)'],
  [['policy', 'simulate', '--cluster', 'bad/pod-ip.yaml', '--policies', 'policies', ...PROBE, '--port', '80'], 'twill: policy simulate: bad/pod-ip.yaml:7: Pod x/a: status.podIPs[0]: invalid IP address "10.1.1.300"'],
  [['policy', 'lint'], 'twill: policy lint: PATH: required argument missing (usage: twill policy lint [options] <PATH...>)'],
  [['policy', 'lint', 'missing/'], 'twill: policy lint: PATH: missing/: no such file or folder'],
  [['cni', 'add'], 'twill: cni add: NETWORK: required argument missing (usage: twill cni add [options] <NETWORK> <NETNS>)'],
  [['cni', 'add', 'mynet'], 'twill: cni add: NETNS: required argument missing (usage: twill cni add [options] <NETWORK> <NETNS>)'],
  [['cni', 'del', 'mynet', '/run/netns/a', 'extra'], 'twill: cni del: unexpected argument "extra" (usage: twill cni del [options] <NETWORK> <NETNS>)'],
  [['cni', 'add', 'mynet', '/run/netns/a', '-o', 'table'], 'twill: cni add: --output: must be one of json, yaml (got "table")'],
  // status, get, describe, apply, delete: mistakes found before the agent is asked.
  [['get'], 'twill: get: KIND: required argument missing (usage: twill get [options] <KIND> [NAME])'],
  [['get', 'widgets'], `twill: get: KIND: unknown kind "widgets": expected one of ${KINDS}`],
  [['get', 'ippools', '-n', 'x'], 'twill: get: --namespace: ippools are cluster-wide, not in a namespace: drop -n'],
  [['describe', 'gnp', 'x', '-n', 'y'], 'twill: describe: --namespace: globalnetworkpolicies are cluster-wide, not in a namespace: drop -n'],
  [['get', 'netpol', '-n', 'a', '-A'], 'twill: get: --all-namespaces: cannot be used with --namespace'],
  [['get', 'netpol', 'web', '-A'], 'twill: get: --all-namespaces: cannot be used with a NAME ("web"): name its namespace with -n'],
  [['get', 'netpol', '-n', 'Bad_NS'], 'twill: get: --namespace: "Bad_NS" is not a namespace name (lower-case letters, digits and \'-\')'],
  [['get', 'ippools', '-o', 'xml'], 'twill: get: --output: must be one of table, wide, json, yaml (got "xml")'],
  [['get', 'ippools', 'a', 'b'], 'twill: get: unexpected argument "b" (usage: twill get [options] <KIND> [NAME])'],
  [['get', 'pool', '--agent-socket'], 'twill: get: --agent-socket: needs a value'],
  [['status', '--agent-socket', ''], 'twill: status: --agent-socket: must be a path (got "")'],
  [['status', '-o', 'xml'], 'twill: status: --output: must be one of table, wide, json, yaml (got "xml")'],
  [['describe', 'ippool'], 'twill: describe: NAME: required argument missing (usage: twill describe [options] <KIND> <NAME>)'],
  [['apply'], 'twill: apply: --filename: required: the files or folders to apply (-f FILE|DIR, or -f - for stdin)'],
  [['apply', '-f', 'nope.yaml'], 'twill: apply: --filename: nope.yaml: no such file or folder'],
  [['apply', '-f', 'bad/broken.yaml'], 'twill: apply: bad/broken.yaml:8: NetworkPolicy x/broken: spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR "10.0.0.0/33"'],
  [['apply', '-f', 'bad/syntax.yaml'], 'twill: apply: bad/syntax.yaml:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  [['apply', '-f', 'bad/service.yaml'], `twill: apply: bad/service.yaml:2: Service x/web: kind: not a kind twill applies (it takes ${APPLY_KINDS})`],
  [['apply', '-f', 'policies', '-n', 'y'], 'twill: apply: policies/deny.yaml:3: NetworkPolicy x/deny: metadata.namespace: "x" does not match --namespace "y"'],
  [['apply', '-f', 'policies', '-o', 'table'], 'twill: apply: --output: must be one of json, yaml (got "table")'],
  [['delete'], 'twill: delete: KIND: required: KIND NAME, or -f FILE|DIR|- (usage: twill delete KIND NAME [-n NS] | twill delete -f FILE)'],
  [['delete', 'ippool'], 'twill: delete: NAME: required: which ippool to delete'],
  [['delete', 'endpoints', 'x'], 'twill: delete: KIND: endpoints are read-only: the CNI plugin records them'],
  [['delete', 'ippool', 'x', '-f', 'policies'], 'twill: delete: KIND: cannot be used with --filename (the documents name what to delete)'],
  // ipam, bgp and policy explain: refused before any agent is asked.
  [['ipam'], 'twill: ipam: a command is required: show, check, release, why (see twill ipam --help)'],
  [['ipam', 'shwo'], 'twill: ipam: shwo: unknown command: expected show, check, release, why (see twill ipam --help)'],
  [['ipam', 'show', '--ip', '10.0.0.300'], 'twill: ipam show: --ip: must be an IPv4 or IPv6 address (got "10.0.0.300")'],
  [['ipam', 'show', '-o', 'wide'], 'twill: ipam show: --output: must be one of table, json, yaml (got "wide")'],
  [['ipam', 'check', '--blocks'], 'twill: ipam check: --blocks: unknown option; see twill ipam check --help'],
  [['ipam', 'release'], 'twill: ipam release: exactly one of --ip or --handle is required'],
  [['ipam', 'release', '--ip', '10.0.0.1', '--handle', 'net.c1'], 'twill: ipam release: --handle: cannot be used with --ip (release one address, or every address of one handle)'],
  [['ipam', 'release', '--handle', ' '], 'twill: ipam release: --handle: must not be empty'],
  [['ipam', 'why'], 'twill: ipam why: IP: required argument missing (usage: twill ipam why [options] <IP>)'],
  [['ipam', 'why', 'pod-a'], 'twill: ipam why: IP: must be an IPv4 or IPv6 address (got "pod-a")'],
  [['ipam', 'why', '10.0.0.1', '10.0.0.2'], 'twill: ipam why: unexpected argument "10.0.0.2" (usage: twill ipam why [options] <IP>)'],
  [['ipam', 'show', '--agent-socket', ''], 'twill: ipam show: --agent-socket: must be a path (got "")'],
  [['bgp'], 'twill: bgp: a command is required: peers, routes (see twill bgp --help)'],
  [['bgp', 'peers', 'all'], 'twill: bgp peers: unexpected argument "all" (usage: twill bgp peers [options])'],
  [['bgp', 'routes', '--peer', '10.0.0'], 'twill: bgp routes: --peer: must be a peer\'s IP address, or local (got "10.0.0")'],
  [['bgp', 'routes', '--prefix', '10.0.0.0'], 'twill: bgp routes: --prefix: must be a CIDR such as 10.0.0.0/24 or fd00::/64 (got "10.0.0.0")'],
  [['bgp', 'routes', '--prefix', '10.1.2.3/8'], 'twill: bgp routes: --prefix: 10.1.2.3/8 has host bits set (the network is 10.0.0.0/8)'],
  [['bgp', 'routes', '-o', 'xml'], 'twill: bgp routes: --output: must be one of table, wide, json, yaml (got "xml")'],
  [['policy', 'explain', '--to', 'x/b', '--port', '80'], 'twill: policy explain: --from: required'],
  [['policy', 'explain', '--from', 'x/a', '--to', 'y/b'], 'twill: policy explain: --port: required'],
  [['policy', 'explain', '--from', 'x/a', '--to', 'y/b', '--port', '99999'], 'twill: policy explain: --port: must be 1-65535 (got 99999)'],
  [['policy', 'explain', '--from', 'x', '--to', 'y/b', '--port', '80'], 'twill: policy explain: --from: must be NAMESPACE/POD (got "x")'],
  [['policy', 'explain', '--from', 'x/a', '--to', 'y/b', '--port', '80', '--protocol', 'ICMP'], 'twill: policy explain: --protocol: must be one of TCP, UDP, SCTP (got "ICMP")'],
  // observe and explain --flow: refused before any observer is asked.
  [['observe', '--verdict', 'DENIED'], 'twill: observe: --verdict: must be one of FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED (got "DENIED")'],
  [['observe', '--from-pod', 'frontend'], 'twill: observe: --from-pod: must be NAMESPACE/POD, or NAMESPACE/ for every pod of it (got "frontend")'],
  [['observe', '--to-pod', 'Prod/api'], 'twill: observe: --to-pod: namespace "Prod" is not a Kubernetes name (lower-case letters, digits, \'-\' and \'.\')'],
  [['observe', '--port', '0'], 'twill: observe: --port: must be 1-65535 (got 0)'],
  [['observe', '--port', 'http'], 'twill: observe: --port: must be a port number 1-65535 (got "http")'],
  [['observe', '--from-ip', '10.0.0.300'], 'twill: observe: --from-ip: must be an IP address or a CIDR such as 10.0.0.0/24 (got "10.0.0.300")'],
  [['observe', '--protocol', 'gre'], 'twill: observe: --protocol: must be one of tcp, udp, sctp, icmp, icmpv4, icmpv6, http (got "gre")'],
  [['observe', '--last', '0'], 'twill: observe: --last: must be a whole number of at least 1 (got "0")'],
  [['observe', '--first', '5', '--last', '5'], 'twill: observe: --first: cannot be used with --last (the oldest flows or the newest, not both)'],
  [['observe', '--first', '5', '-f'], 'twill: observe: --first: cannot be used with --follow (following shows the newest; use --since to start earlier)'],
  [['observe', '--pod', 'x/a', '--from-pod', 'x/b'], 'twill: observe: --pod: cannot be used with --from-pod (--pod already means either side)'],
  [['observe', '--since', 'yesterday'], 'twill: observe: --since: must be a time such as 2026-11-28T19:00:00Z or a time ago such as 90s, 5m, 2h (got "yesterday")'],
  [['observe', '--label', ''], 'twill: observe: --label: must be a label selector (got "")'],
  [['observe', '--label', 'app in (a'], 'twill: observe: --label: "app in (a" is not a label selector: a "(" without ")"'],
  [['observe', '--node', 'a/b'], 'twill: observe: --node: "a/b" is not a node name pattern (cluster names are not supported)'],
  [['observe', '--policy', 'a/b/c/d'], 'twill: observe: --policy: "a/b/c/d" is not a policy (`kind/namespace/name`, `namespace/name` or `name`)'],
  [['observe', '-o', 'yaml'], 'twill: observe: --output: must be one of compact, table, json (got "yaml")'],
  [['observe', '--server', 'nowhere'], 'twill: observe: --server: must be unix:///PATH or HOST:PORT (got "nowhere")'],
  [['observe', '--server', 'unix:///x.sock', '--lab'], 'twill: observe: --server: cannot be used with --lab (the lab names its nodes\' observers)'],
  [['observe', '--last'], 'twill: observe: --last: needs a value'],
  [['policy', 'explain', '--flow', 'abc'], 'twill: policy explain: --flow: must be a flow\'s UUID as twill observe -o json shows it (got "abc")'],
  [['policy', 'explain', '--flow', '6f1c2b1e-0a3d-4c5e-9f10-000000000001', '--from', 'x/a'], 'twill: policy explain: --from: cannot be used with --flow (the flow names its endpoints)'],
  [['policy', 'explain', '--from', 'x/a', '--to', 'y/b', '--port', '80', '--server', 'unix:///x.sock'], 'twill: policy explain: --server: only with --flow (a probe is evaluated by the agent, not read from the observer)'],
  [['policy', 'explain', '--from', 'x/a', '--to', 'y/b', '--port', '80', '--lab'], 'twill: policy explain: --lab: only with --flow (a probe is evaluated by one agent: --agent-socket names it)'],
  [['completion'], 'twill: completion: SHELL: required argument missing (usage: twill completion [options] <SHELL>)'],
  [['completion', 'fish'], 'twill: completion: SHELL: must be one of bash, zsh (got "fish")'],
];

describe('mistaken invocations', () => {
  it('are at least 20', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(20);
  });

  for (const [args, line] of CORPUS) {
    it(`twill ${args.join(' ')}`, async () => {
      const run = await twill(args, { files: FILES });
      expect(run.stderr).toBe(`${line}\n`);
      expect(run.stdout).toBe('');
      expect(run.code).toBe(2);
    });
  }

  it('no agent on the socket: one line naming it, exit 1 (not a usage mistake)', async () => {
    const line = (command: string, socket: string): string => `twill: ${command}: no agent at ${socket} (is twill-agent running? --agent-socket or TWILL_API_SOCKET)\n`;
    expect(await twill(['status', '--agent-socket', '/nonexistent/api.sock'])).toEqual({ code: 1, stdout: '', stderr: line('status', '/nonexistent/api.sock') });
    expect(await twill(['get', 'ippools'], { env: { TWILL_API_SOCKET: '/nonexistent/env.sock' } })).toEqual({ code: 1, stdout: '', stderr: line('get', '/nonexistent/env.sock') });
    // Relative to the working directory; the flag beats the environment.
    expect(await twill(['delete', 'ippool', 'x', '--agent-socket', 'run/api.sock'], { cwd: '/nonexistent', env: { TWILL_API_SOCKET: '/elsewhere.sock' } }))
      .toEqual({ code: 1, stdout: '', stderr: line('delete', '/nonexistent/run/api.sock') });
    expect(await twill(['apply', '-f', 'policies'], { files: FILES, env: { TWILL_API_SOCKET: '/nonexistent/api.sock' } })).toEqual({ code: 1, stdout: '', stderr: line('apply', '/nonexistent/api.sock') });
  });

  it('--help of status, get, describe, apply and delete: usage and examples on stdout, exit 0', async () => {
    for (const command of ['status', 'get', 'describe', 'apply', 'delete']) {
      const run = await twill([command, '--help']);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(new RegExp(`^Usage: twill ${command} `));
      expect(run.stdout).toContain('--agent-socket <path>');
      expect(run.stdout).toContain(`\nExamples:\n  twill ${command}`);
    }
    // KIND's plurals are offered by completion; delete does not offer the read-only views.
    const script = (await twill(['completion', 'bash'])).stdout;
    const offered = (command: string): string[] => (new RegExp(`'args\\|${command}\\|'\\) echo '([^']*)'`).exec(script)?.[1] ?? '').split(' ');
    expect(offered('get')).toEqual(expect.arrayContaining(['ippools', 'ipamblocks', 'endpoints', 'networkpolicies', 'cnetpol', 'globalnetworkpolicies', 'bgppeers', 'bgpconfigurations', 'nodes']));
    expect(offered('delete')).toContain('ippools');
    expect(offered('delete')).not.toContain('endpoints');
  });

  it('CNI environment mistakes name the variable', async () => {
    const env = { NETCONFPATH: '/nowhere' };
    expect((await twill(['cni', 'add', 'mynet', '/run/netns/a'], { env: { ...env, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME' } })).stderr)
      .toBe('twill: cni add: CNI_ARGS: invalid pair "K8S_POD_NAME": expected KEY=VALUE;KEY=VALUE\n');
    expect((await twill(['cni', 'add', 'mynet', '/run/netns/a'], { env: { ...env, CAP_ARGS: '[1]' } })).stderr)
      .toBe('twill: cni add: CAP_ARGS: must be a JSON object ({"portMappings": [...]})\n');
    const missing = await twill(['cni', 'check', 'mynet', '/run/netns/a'], { env });
    expect(missing).toEqual({ code: 2, stdout: '', stderr: 'twill: cni check: NETWORK: /nowhere: no network configurations found\n' });
  });

  it('--debug adds the stack after the line', async () => {
    const run = await twill([...SIM, ...PROBE, '--port', '0', '--debug'], { files: FILES });
    const lines = run.stderr.split('\n');
    expect(lines[0]).toBe('twill: policy simulate: --port: must be 1-65535 (got 0)');
    expect(lines[1]).toMatch(/^UsageError: --port: must be 1-65535/);
    expect(run.stderr).toMatch(/\n\s+at /);
    expect(run.code).toBe(2);
  });

  it('--help is not a mistake: help on stdout, exit 0, with examples', async () => {
    for (const args of [['--help'], ['policy', '--help'], ['policy', 'simulate', '--help'], ['policy', 'lint', '-h'], ['cni', 'add', '--help'], ['cni', 'gc', '--help'], ['completion', '--help'],
      ['ipam', '--help'], ['ipam', 'show', '--help'], ['ipam', 'check', '--help'], ['ipam', 'release', '--help'], ['ipam', 'why', '--help'], ['bgp', '--help'], ['bgp', 'peers', '--help'], ['bgp', 'routes', '--help'], ['policy', 'explain', '--help']]) {
      const run = await twill(args);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(/^Usage: twill/);
      expect(run.stdout).toContain('\nExamples:\n  ');
    }
  });
});
