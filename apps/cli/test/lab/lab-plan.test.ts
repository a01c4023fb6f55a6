// A lab's plan: names that never collide, the fabric made only inside the lab's
// namespaces, BIRD's configuration as BIRD itself parses it, the resources written
// before the pods, and the state file's codec.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { type LabProgress, type LabSpec } from '../../src/lab/ports.js';
import { agentConfigText, birdConfigText, blockOf, conflistForNode, fabricBatch, labResources, parseBirdProtocols, planLab, planNamespaces } from '../../src/lab/plan.js';
import { progressWriter } from '../../src/lab/progress.js';
import { decodeLabState, encodeLabState, type LabState } from '../../src/lab/state.js';
import { styleFor } from '../../src/output.js';

const spec: LabSpec = { nodes: 2, podsPerNode: 2, dataplane: 'nftables', tor: 'bird', dir: '/tmp/lab' };

describe('planLab', () => {
  it('names every namespace after the lab id, pods with a dot no node or other pod can have', () => {
    const plan = planLab({ ...spec, pods: [{ name: 'b-c', namespace: 'a', node: 0, labels: {} }, { name: 'c', namespace: 'a-b', node: 1, labels: {} }] }, 'abc123');
    expect(planNamespaces(plan)).toEqual(['twl-abc123-fabric', 'twl-abc123-tor', 'twl-abc123-node-1', 'twl-abc123-node-2', 'twl-abc123-a.b-c', 'twl-abc123-a-b.c']);
    expect(plan.nodes.map((n) => [n.name, n.address, n.agentSocket, n.apiSocket, n.observerSocket])).toEqual([
      ['node-1', '172.31.250.11', '/tmp/lab/nodes/node-1/agent.sock', '/tmp/lab/nodes/node-1/api.sock', '/tmp/lab/nodes/node-1/observer.sock'],
      ['node-2', '172.31.250.12', '/tmp/lab/nodes/node-2/agent.sock', '/tmp/lab/nodes/node-2/api.sock', '/tmp/lab/nodes/node-2/observer.sock'],
    ]);
    expect(planLab({ ...spec, tor: 'none' }, 'abc123').tor).toBeUndefined();
  });

  it('makes the fabric inside its namespace: each veth is created there with its peer put straight into the node', () => {
    expect(fabricBatch(planLab({ ...spec, nodes: 1 }, 'abc123'))).toBe(
      [
        'link add fabric type bridge',
        'addr add 172.31.250.254/24 dev fabric',
        'link set fabric up',
        'link set lo up',
        'link add tor type veth peer name eth0 netns twl-abc123-tor',
        'link set tor master fabric',
        'link set tor up',
        'link add n1 type veth peer name eth0 netns twl-abc123-node-1',
        'link set n1 master fabric',
        'link set n1 up',
        '',
      ].join('\n'),
    );
  });

  it("gives each agent its node, sockets (its flow observer's in its folder), the shared datastore, BGP and the one pool", () => {
    const plan = planLab(spec, 'abc123');
    expect(agentConfigText(plan, plan.nodes[1]!)).toBe(
      [
        'nodeName: node-2',
        'dataDir: /tmp/lab/data',
        'agentSocket: /tmp/lab/nodes/node-2/agent.sock',
        'api:',
        '  socket: /tmp/lab/nodes/node-2/api.sock',
        'network: twill-lab',
        'dataplane: nftables',
        'nodeAddresses:',
        '  ipv4: 172.31.250.12/24',
        'routing: bgp',
        'http:',
        '  listen: 127.0.0.1:9099',
        'ui:',
        '  listen: 127.0.0.1:9098',
        'flows:',
        '  socket: /tmp/lab/nodes/node-2/observer.sock',
        'logLevel: info',
        'cni:',
        '  binDir: /tmp/lab/bin',
        '  confDir: /tmp/lab/net.d/node-2',
        '  mtu: 1500',
        '  pools:',
        '    - cidr: 10.244.0.0/16',
        '      blockSize: 26',
        '',
      ].join('\n'),
    );
  });

  it.skipIf(!existsSync('/usr/sbin/bird'))('writes a BIRD configuration BIRD parses (bird -p)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twt-lab-bird-'));
    try {
      const plan = planLab({ ...spec, nodes: 3, dir }, 'abc123');
      const file = join(dir, 'bird.conf');
      writeFileSync(file, birdConfigText(plan));
      expect(execFileSync('/usr/sbin/bird', ['-p', '-c', file], { encoding: 'utf8' })).toBe('');
      expect(birdConfigText(plan)).toContain('protocol bgp node_3 from lab_node { neighbor 172.31.250.13 as 64512; }');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the mesh off and the ToR as peer only with a ToR, then namespaces, then pods with labels and node', () => {
    const withTor = labResources(planLab({ ...spec, nodes: 1, podsPerNode: 1 }, 'abc123'));
    expect(withTor).toEqual([
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false, asNumber: 64512 } },
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: '172.31.250.1', asNumber: 64512 } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pod-1-1', namespace: 'default', labels: { app: 'pod-1-1' } }, spec: { nodeName: 'node-1' } },
    ]);
    expect(labResources(planLab({ ...spec, nodes: 1, podsPerNode: 1, tor: 'none' }, 'abc123')).map((r) => r.kind)).toEqual(['Namespace', 'Pod']);
  });

  it.each([
    ['10.244.0.67', 26, '10.244.0.64/26'],
    ['10.244.224.255', 26, '10.244.224.192/26'],
    ['10.244.3.1', 16, '10.244.0.0/16'],
    ['255.255.255.255', 30, '255.255.255.252/30'],
  ])('the block of %s at /%i is %s', (address, size, block) => {
    expect(blockOf(address, size)).toBe(block);
  });
});

describe('conflistForNode', () => {
  it("turns node-1's conflist into node-2's: its name for the pools' affinity and its agent's socket, nothing else", () => {
    const plan = planLab(spec, 'abc123');
    const [one, two] = plan.nodes;
    const written = { cniVersion: '1.1.0', name: 'twill-lab', plugins: [{ type: 'twill', mtu: 1500, dataDir: '/tmp/lab/data', agentSocket: one!.agentSocket, ipam: { type: 'twill-ipam', nodeName: 'node-1', pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }] } }, { type: 'portmap', agentSocket: one!.agentSocket }] };
    expect(JSON.parse(conflistForNode(JSON.stringify(written), one!, two!))).toEqual({
      ...written,
      plugins: [{ ...written.plugins[0], agentSocket: two!.agentSocket, ipam: { ...written.plugins[0]!.ipam, nodeName: 'node-2' } }, written.plugins[1]],
    });
  });
});

describe('parseBirdProtocols', () => {
  it("reads each BGP protocol's state and info from birdc show protocols, today's times and older dates alike", () => {
    const text = [
      'BIRD 2.0.12 ready.',
      'Name       Proto      Table      State  Since         Info',
      'device1    Device     ---        up     13:18:57.812  ',
      'node_1     BGP        ---        up     13:18:58.578  Established   ',
      'node_2     BGP        ---        start  2026-11-27 23:01:02  Active        Socket: Connection refused',
      '',
    ].join('\n');
    expect(parseBirdProtocols(text)).toEqual([
      { name: 'node_1', state: 'up', info: 'Established' },
      { name: 'node_2', state: 'start', info: 'Active        Socket: Connection refused' },
    ]);
  });
});

describe('the state file', () => {
  const state: LabState = { version: 1, id: 'abc123', spec, phase: 'building', createdDir: true, entries: ['lab.json', 'nodes'], netns: ['twl-abc123-fabric'], processes: [{ pid: 4242, startTime: '123456', what: 'twill-agent node-1' }] };

  it('reads back what it wrote', () => {
    expect(decodeLabState('/tmp/lab/lab.json', encodeLabState(state))).toEqual(state);
  });

  it.each([
    ['{', 'not JSON'],
    ['[]', 'not a lab state object'],
    [JSON.stringify({ ...state, version: 2 }), 'version: expected 1 (got 2)'],
    [JSON.stringify({ ...state, phase: 'down' }), 'phase: must be "building" or "up" (got "down")'],
    [JSON.stringify({ ...state, netns: ['eth0'] }), 'netns[0]: "eth0" is not a lab namespace'],
    [JSON.stringify({ ...state, entries: ['../etc'] }), `entries[0]: "../etc" is not a name in the lab's folder`],
    [JSON.stringify({ ...state, processes: [{ pid: 1, startTime: '1', what: 'init' }] }), 'processes[0]: must be {pid, startTime, what}'],
  ])('refuses %s: %s', (text, message) => {
    expect(() => decodeLabState('/tmp/lab/lab.json', text)).toThrow(`/tmp/lab/lab.json: ${message}`);
  });
});

describe('progress', () => {
  const events: LabProgress[] = [
    { step: 'namespaces', state: 'started' },
    { step: 'agents', state: 'started' },
    { step: 'namespaces', state: 'done', elapsedMs: 400, detail: '3 nodes' },
    { step: 'agents', state: 'failed', elapsedMs: 12_345, detail: 'exited' },
  ];
  const render = (tty: boolean): string => {
    let text = '';
    const writer = progressWriter({ isTTY: tty, write: (t) => (text += t) }, styleFor({ stdout: { isTTY: tty, write: () => undefined }, env: {} }));
    for (const event of events) writer.progress(event);
    return text;
  };

  it('piped: one plain line per finished step', () => {
    expect(render(false)).toBe('  0.4 s  ok namespaces  3 nodes\n 12.3 s  FAILED agents  exited\n');
  });

  it('on a terminal: marks and a status line of the running steps, rewritten in place', () => {
    const text = render(true);
    expect(text).toContain('\u001b[32m✓\u001b[0m namespaces');
    expect(text).toContain('… namespaces, agents');
    expect(text.endsWith('\u001b[31m✗\u001b[0m agents\u001b[2m  exited\u001b[0m\n')).toBe(true);
  });
});
