// `twill ui` and `twill ui --lab` as a user runs them, over a fake agent per node and a
// fake forwarder (forwarder.root.test.ts drives the real one): what is printed for a
// forwarded node, a node whose dashboard is off or whose agent is down, a port in use;
// --port-base; --no-open; the forwards closed on SIGINT/SIGTERM.
import { describe, expect, it } from 'vitest';

import { nodeIo, type CliIo } from '@twill/cli';

import { type AgentRequest, AgentTransportError } from '../../src/client/index.js';
import { type CommandContext } from '../../src/context.js';
import { CliError } from '../../src/errors.js';
import { styleFor } from '../../src/output.js';
import { dashboardTarget, type ForwardListenOptions, type ForwardTarget, forwardedUrl, parsePortBase, type UiForwarder } from '../../src/ui/forward.js';
import { runUi, type UiOptions } from '../../src/ui/ui.js';
import { twill } from '../helpers.js';

const LAB = '/run/twill-lab';

/** A lab node as lab.json records it (only what `ui --lab` reads matters). */
const node = (n: number) => ({ name: `node-${n}`, netns: `twl-abc-node-${n}`, apiSocket: `${LAB}/nodes/node-${n}/api.sock` });

function labFile(count: number): Record<string, string> {
  const state = { version: 1, id: 'abc123', phase: 'up', spec: {}, createdDir: false, entries: [], netns: [], processes: [], lab: { nodes: Array.from({ length: count }, (_, i) => node(i + 1)) } };
  return { [`${LAB}/lab.json`]: JSON.stringify(state) };
}

const serving = (port: number, token: string) => ({ enabled: true, url: `http://127.0.0.1:${port}/#token=${token}`, listen: { host: '127.0.0.1', port }, listening: true, clients: 0 });

/** What each node's agent answers for /v1/status `ui`; `down`: its socket refuses. */
type AgentUi = ReturnType<typeof serving> | { enabled: false; reason: string } | 'down';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** Forwards made: where to, on which port asked. */
  listened: { target: ForwardTarget; port: number }[];
  opened: string[];
  closed: number;
}

/**
 * Runs `twill ui ARGS` through runUi with the given agents and a fake forwarder; `stop`
 * is the signal sent once it forwards (the run ends then).
 */
async function runLab(options: UiOptions, agents: readonly AgentUi[], fake: { unreachable?: readonly string[]; inUse?: readonly number[] } = {}): Promise<Run> {
  const files = labFile(agents.length);
  let stdout = '';
  let stderr = '';
  const run: Run = { code: -1, stdout: '', stderr: '', listened: [], opened: [], closed: 0 };
  const real = nodeIo();
  const io: CliIo = {
    ...real,
    stdout: { write: (text) => void (stdout += text), isTTY: false },
    stderr: { write: (text) => void (stderr += text), isTTY: false },
    env: {},
    cwd: '/work',
    files: {
      kind: async (path) => (files[path] !== undefined ? 'file' : 'missing'),
      list: async () => [],
      readText: async (path) => files[path] ?? '',
    },
    agentTransport: (socket) => ({
      request: async (request: AgentRequest) => {
        const index = Number(/node-(\d+)/u.exec(socket)?.[1]) - 1;
        const ui = agents[index];
        expect(request.path).toBe('/v1/status');
        if (ui === 'down') throw new AgentTransportError('ECONNREFUSED', `connect ECONNREFUSED ${socket}`);
        return { status: 200, body: JSON.stringify({ node: `node-${index + 1}`, ui }) };
      },
    }),
  };
  const ctx: CommandContext = { io, style: styleFor(io), command: 'ui' };
  let nextPort = 40000;
  const forwarder: UiForwarder = {
    probe: async (target) => {
      if (fake.unreachable?.includes(target.netns)) throw new Error(`connect ECONNREFUSED ${target.host}:${target.port}`);
    },
    listen: async (target, listen: ForwardListenOptions) => {
      expect(listen.host).toBe('127.0.0.1');
      if (fake.inUse?.includes(listen.port)) throw new Error(`listen EADDRINUSE: address already in use 127.0.0.1:${listen.port}`);
      run.listened.push({ target, port: listen.port });
      return { port: listen.port === 0 ? nextPort++ : listen.port, connections: 1, close: async () => void (run.closed += 1) };
    },
    onStop: (handler) => {
      // SIGTERM arrives as soon as the forwards are up.
      queueMicrotask(() => handler('SIGTERM'));
      return () => undefined;
    },
  };
  try {
    run.code = await runUi(ctx, { lab: LAB, ...options }, { opener: (url) => (run.opened.push(url), { opened: true, with: 'xdg-open' }), forwarder, defaultLabDir: () => LAB });
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    run.code = error.exitCode;
    stderr += `${error.line()}\n`;
  }
  return { ...run, stdout, stderr };
}

describe('twill ui --lab', () => {
  it('forwards every node whose dashboard serves to a port of 127.0.0.1, keeping the token, opens the first, and closes them on SIGTERM', async () => {
    const run = await runLab({}, [serving(9098, 'tok1'), serving(9098, 'tok2')]);
    expect(run.stdout).toBe('node-1: http://127.0.0.1:40000/#token=tok1\nnode-2: http://127.0.0.1:40001/#token=tok2\n');
    expect(run.listened).toEqual([
      { target: { netns: 'twl-abc-node-1', host: '127.0.0.1', port: 9098 }, port: 0 },
      { target: { netns: 'twl-abc-node-2', host: '127.0.0.1', port: 9098 }, port: 0 },
    ]);
    expect(run.opened).toEqual(['http://127.0.0.1:40000/#token=tok1']);
    expect(run.stderr).toBe(
      "twill: ui: forwarding 2 of 2 dashboards from this host's loopback until Ctrl-C (SIGINT) or SIGTERM\ntwill: ui: opening it with xdg-open\ntwill: ui: SIGTERM: closing 2 forwards and 2 connections\n",
    );
    expect(run.closed).toBe(2);
    expect(run.code).toBe(0);
  });

  it('says on its line why a node is not forwarded: dashboard off, agent down, namespace unreachable; forwards the rest', async () => {
    const run = await runLab({ open: false }, [{ enabled: false, reason: 'ui.enabled is false (--no-ui)' }, 'down', serving(9098, 't3'), serving(9098, 't4')], { unreachable: ['twl-abc-node-3'] });
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('node-1: the dashboard is off: ui.enabled is false (--no-ui) (not forwarded)');
    expect(lines[1]).toBe('node-2: no agent at /run/twill-lab/nodes/node-2/api.sock (is twill-agent running? --agent-socket or TWILL_API_SOCKET) (not forwarded)');
    expect(lines[2]).toBe('node-3: its dashboard at 127.0.0.1:9098 cannot be reached in network namespace twl-abc-node-3: connect ECONNREFUSED 127.0.0.1:9098 (not forwarded)');
    expect(lines[3]).toBe('node-4: http://127.0.0.1:40000/#token=t4');
    expect(run.listened.map((l) => l.target.netns)).toEqual(['twl-abc-node-4']);
    // --no-open: nothing opened.
    expect(run.opened).toEqual([]);
    expect(run.stderr).not.toContain('opening');
    expect(run.code).toBe(0);
  });

  it('exits 1 without waiting when no node can be forwarded', async () => {
    const run = await runLab({}, ['down', { enabled: false, reason: 'x' }]);
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n').filter((l) => l.endsWith('(not forwarded)'))).toHaveLength(2);
    expect(run.stderr).toBe('');
    expect(run.opened).toEqual([]);
  });

  it('--port-base N: node-k on N+k-1, by its place in the lab even when an earlier node is not forwarded; a port in use is that node\'s line', async () => {
    const run = await runLab({ portBase: '9200', open: false }, ['down', serving(9098, 'a'), serving(9098, 'b')], { inUse: [9202] });
    expect(run.listened.map((l) => l.port)).toEqual([9201]);
    const lines = run.stdout.split('\n');
    expect(lines[1]).toBe('node-2: http://127.0.0.1:9201/#token=a');
    expect(lines[2]).toBe('node-3: cannot listen on 127.0.0.1:9202 (--port-base): listen EADDRINUSE: address already in use 127.0.0.1:9202 (not forwarded)');
  });

  it('refuses a --port-base that is not a port, or leaves no room for every node, before reading any agent', async () => {
    expect((await runLab({ portBase: '90x' }, [serving(9098, 'a')])).stderr).toBe('twill: ui: --port-base: must be a port from 1 to 65535 (got "90x")\n');
    const full = await runLab({ portBase: '65535' }, [serving(9098, 'a'), serving(9098, 'b')]);
    expect(full.code).toBe(2);
    expect(full.stderr).toBe('twill: ui: --port-base: 65535 leaves no room for 2 nodes (one port each, up to 65535): use at most 65534\n');
    expect(full.listened).toEqual([]);
  });
});

describe('twill ui: arguments', () => {
  it('takes --port-base only with --lab, and --agent-socket never with it', async () => {
    expect(await twill(['ui', '--port-base', '9200'])).toEqual({ code: 2, stdout: '', stderr: 'twill: ui: --port-base: only with --lab (an agent on this host is reached directly, without a forward)\n' });
    expect(await twill(['ui', '--lab', '--agent-socket', '/x.sock'])).toEqual({ code: 2, stdout: '', stderr: "twill: ui: --agent-socket: cannot be used with --lab (the lab names its nodes' agents)\n" });
  });

  it('says there is no lab in the folder', async () => {
    expect(await twill(['ui', '--lab', '/nowhere/lab', '--no-open'])).toEqual({ code: 1, stdout: '', stderr: 'twill: ui: --lab: no lab is up in /nowhere/lab (twill lab up starts one)\n' });
  });

  it('prints the URL with the token an agent on this host gives, and opens nothing with --no-open', async () => {
    const run = await twill(['ui', '--no-open', '--agent-socket', '/run/x.sock'], {
      agentTransport: () => ({ request: async () => ({ status: 200, body: JSON.stringify({ node: 'n', ui: serving(9098, 'abc') }) }) }),
    });
    expect(run).toEqual({ code: 0, stdout: 'http://127.0.0.1:9098/#token=abc\n', stderr: '' });
  });
});

describe('the forward addresses', () => {
  it("keeps the node URL's path and fragment (its token) on the forward's origin", () => {
    expect(forwardedUrl('http://127.0.0.1:9098/#token=a-b', 41000)).toBe('http://127.0.0.1:41000/#token=a-b');
    expect(forwardedUrl('http://[::1]:9098/', 41000)).toBe('http://127.0.0.1:41000/');
  });

  it('reaches an unspecified listen address on loopback, and refuses a name', () => {
    expect(dashboardTarget('ns', { host: '0.0.0.0', port: 1 })).toEqual({ netns: 'ns', host: '127.0.0.1', port: 1 });
    expect(dashboardTarget('ns', { host: '::', port: 1 })).toEqual({ netns: 'ns', host: '::1', port: 1 });
    expect(dashboardTarget('ns', { host: 'localhost', port: 1 })).toEqual({ reason: 'its dashboard listens on "localhost", which is not an IP address' });
  });

  it('--port-base: a port with room for every node', () => {
    expect(parsePortBase('ui', '9200', 3)).toBe(9200);
    expect(parsePortBase('ui', '65533', 3)).toBe(65533);
    for (const bad of ['0', '65536', '-1', '1e3', '', ' 9200']) expect(() => parsePortBase('ui', bad, 1), bad).toThrow(/--port-base: must be a port from 1 to 65535/u);
  });
});
