// `twill lab status`'s text: each node's L7 proxy from its agent's /v1/status `l7`:
// running with its port, not running with why and what that means for the traffic HTTP
// rules decide, off with why, or not known (an agent that does not answer or predates it).

import { describe, expect, it } from 'vitest';

import { type L7StatusView } from '../../src/client/index.js';
import { type Lab, type LabNode, type LabNodeStatus } from '../../src/lab/ports.js';
import { l7StateText, labStatusText } from '../../src/lab/status-text.js';
import { styleFor } from '../../src/output.js';

const plain = styleFor({ stdout: { write: () => undefined, isTTY: false }, env: {} });

const node = (i: number): LabNode => ({
  name: `node-${i}`, netns: `twl-t-node-${i}`, address: `172.31.250.${10 + i}`, block: `10.244.${i}.0/26`, agentPid: 100 + i, agentSocket: '', apiSocket: `/lab/nodes/node-${i}/api.sock`,
  httpListen: '', logFile: `/lab/nodes/node-${i}/agent.log`, confDir: '', configFile: '', observerSocket: '',
});

const lab: Lab = {
  id: 't', dir: '/lab', spec: { nodes: 4, podsPerNode: 0, dataplane: 'nftables', tor: 'none', dir: '/lab' },
  fabric: { netns: 'twl-t-fabric', bridge: 'br', cidr: '172.31.250.0/24' },
  nodes: [1, 2, 3, 4].map(node), pods: [], tor: undefined, pool: { cidr: '10.244.0.0/16', blockSize: 26 }, asNumber: 64512,
  datastore: '/lab/data/twill.db', cniBinDir: '/lab/bin', upAt: '2026-11-29T02:00:00Z',
};

const redirect = { installed: true, missing: [], targets: { ingress4: 1, ingress6: 0, egress: 0 } };
const running: L7StatusView = { enabled: true, running: true, failClosed: true, listening: { port: 15001, address: '::' }, proxy: { connections: 0, deniedConnections: 0, refusedConnections: 0 }, redirect };

describe('twill lab status: the L7 proxy of each node', () => {
  it('says running with its port, not running with why, off with why, and - when the agent did not say', () => {
    const nodes: LabNodeStatus[] = [
      { node: node(1), agentAlive: true, bgpSessions: [{ peer: '172.31.250.12', state: 'Established' }], l7: running },
      { node: node(2), agentAlive: true, bgpSessions: [{ peer: '172.31.250.11', state: 'Established' }], l7: { enabled: true, running: false, failClosed: true, error: 'listen EADDRINUSE :::15001' } },
      { node: node(3), agentAlive: true, bgpSessions: [], l7: { enabled: false, reason: '--no-l7' } },
      { node: node(4), agentAlive: false, bgpSessions: [], problem: 'twill-agent (PID 104) is not running; see /lab/nodes/node-4/agent.log' },
    ];
    const text = labStatusText({ lab, nodes }, plain);
    expect(text.split('\n').slice(2, 7)).toEqual([
      'NODE    ADDRESS        BLOCK          AGENT          L7 PROXY          BGP SESSIONS',
      'node-1  172.31.250.11  10.244.1.0/26  running (101)  running (:15001)  172.31.250.12 Established',
      'node-2  172.31.250.12  10.244.2.0/26  running (102)  not running       172.31.250.11 Established',
      'node-3  172.31.250.13  10.244.3.0/26  running (103)  off               -',
      'node-4  172.31.250.14  10.244.4.0/26  not running    -                 unknown',
    ]);
    expect(text).toContain([
      'node-2: L7 proxy not running: listen EADDRINUSE :::15001; traffic an HTTP rule decides is denied (fail-closed)',
      'node-3: L7 proxy off (--no-l7): HTTP rules are not enforced',
      'node-4: twill-agent (PID 104) is not running; see /lab/nodes/node-4/agent.log',
      'ToR: none (full mesh)',
    ].join('\n'));
    expect(text).not.toContain('node-1: ');
  });

  it('names what the redirect misses when the agent gives no error, and that eBPF admits at L4 then', () => {
    expect(l7StateText({ enabled: true, running: false, failClosed: false, listening: { port: 15001, address: '::' }, redirect: { ...redirect, installed: false, missing: ['ip rule fwmark 0x400/0x400 lookup 100'] } }, plain)).toEqual({
      cell: 'not running',
      why: 'L7 proxy not running: its redirect misses ip rule fwmark 0x400/0x400 lookup 100; traffic an HTTP rule decides is admitted at L4, its HTTP rules unchecked',
    });
    expect(l7StateText({ enabled: true, running: false, failClosed: true, redirect: { ...redirect, installed: false, lastError: 'nft: No such file or directory' } }, plain).why).toBe('L7 proxy not running: its redirect: nft: No such file or directory; traffic an HTTP rule decides is denied (fail-closed)');
    expect(l7StateText(running, plain)).toEqual({ cell: 'running (:15001)' });
  });
});
