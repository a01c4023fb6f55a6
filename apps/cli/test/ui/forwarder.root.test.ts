// `twill ui --lab`'s forwarder on the real kernel: an HTTP server inside a scratch network
// namespace (its loopback only, as a lab node's dashboard), reached from the host's
// loopback through netnsForwarder: plain requests (the Host the browser sent arrives), a
// stream that is passed on as it comes, many connections at once, a large upload, a
// client that stops reading (the server is held back: no buffer grows), both ends closed
// together, a dashboard that is gone, and no socket left after close. Then `twill ui --lab`
// itself, over a fake agent status naming that namespace.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { Socket } from 'node:net';
import { resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { nodeIo, type CliIo } from '@twill/cli';
import { NetworkScratch, rootSkipReason, type ScratchNetns } from '@twill/sys/testing';

import { type CommandContext } from '../../src/context.js';
import { styleFor } from '../../src/output.js';
import { type ForwardTarget } from '../../src/ui/forward.js';
import { netnsForwarder } from '../../src/ui/sys/forwarder.js';
import { runUi } from '../../src/ui/ui.js';

const reason = rootSkipReason('runs an HTTP server in a scratch network namespace');
const SERVER = resolve(import.meta.dirname, 'netns-http-server.mjs');
const PORT = 9098;

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

function fetchVia(port: number, path: string, options: { method?: string; body?: Buffer } = {}): Promise<Answer> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => done({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on('error', fail);
    });
    req.on('error', fail);
    req.end(options.body);
  });
}

/** The response of a GET, once its head has come (the body still to read). */
function open(port: number, path: string): Promise<{ response: IncomingMessage; abort(): void }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (response) => done({ response, abort: () => req.destroy() }));
    req.on('error', fail);
    req.end();
  });
}

// This process's open sockets, by inode (`socket:[123]`).
function openSockets(): Set<string> {
  const sockets = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      if (link.startsWith('socket:')) sockets.add(link);
    } catch {
      // Closed while listed.
    }
  }
  return sockets;
}

// The sockets open now that were not in `before`.
const newSockets = (before: ReadonlySet<string>): string[] => [...openSockets()].filter((s) => !before.has(s));

describe.skipIf(reason)(`the dashboard forwarder on the real kernel${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  let ns: ScratchNetns;
  let server: ChildProcess;
  let said = '';
  let target: ForwardTarget;

  // Resolves once the server has said `text` (it says it on stdout).
  const serverSays = async (text: string): Promise<void> => {
    await expect.poll(() => said.includes(text), { timeout: 10_000 }).toBe(true);
  };

  beforeAll(async () => {
    ns = scratch.netns();
    target = { netns: ns.name, host: '127.0.0.1', port: PORT };
    server = spawn('ip', ['netns', 'exec', ns.name, process.execPath, SERVER, String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((done, fail) => {
      server.once('exit', (code) => fail(new Error(`the server in ${ns.name} exited with ${code}`)));
      server.stdout!.setEncoding('utf8').on('data', (text: string) => {
        said += text;
        if (said.includes('listening\n')) done();
      });
    });
  }, 20_000);

  afterAll(async () => {
    try {
      if (server?.pid !== undefined && server.exitCode === null) {
        const exited = new Promise((done) => server.once('exit', done));
        // `ip netns exec` execs node: the PID is the server's.
        process.kill(server.pid, 'SIGTERM');
        await exited;
      }
    } finally {
      scratch.cleanup();
    }
  });

  it("is not reachable from the host's loopback without the forward; the probe reaches it from inside", async () => {
    await expect(fetchVia(PORT, '/')).rejects.toThrow(/ECONNREFUSED/u);
    await expect(netnsForwarder.probe(target)).resolves.toBeUndefined();
    await expect(netnsForwarder.probe({ ...target, port: PORT + 1 })).rejects.toThrow(/ECONNREFUSED/u);
    await expect(netnsForwarder.probe({ ...target, netns: `${ns.name}-gone` })).rejects.toThrow(/ENOENT/u);
  });

  it('forwards requests with the Host the client sent, many connections at once, and a large upload', async () => {
    const forward = await netnsForwarder.listen(target, { host: '127.0.0.1', port: 0, onError: (error) => expect.fail(error.message) });
    try {
      expect((await fetchVia(forward.port, '/')).body.toString()).toBe(`host=127.0.0.1:${forward.port}`);
      const answers = await Promise.all(Array.from({ length: 200 }, () => fetchVia(forward.port, '/')));
      expect(answers.filter((a) => a.status === 200 && a.body.toString() === `host=127.0.0.1:${forward.port}`)).toHaveLength(200);
      const upload = Buffer.alloc(16 * 1024 * 1024);
      for (let i = 0; i < upload.length; i += 4096) upload.writeUInt32BE(i, i);
      const hashed = await fetchVia(forward.port, '/sha256', { method: 'POST', body: upload });
      expect(hashed.body.toString()).toBe(`${createHash('sha256').update(upload).digest('hex')} ${upload.length}`);
    } finally {
      await forward.close();
    }
  }, 60_000);

  it('passes a stream on as it comes, and closes the server side when the client goes', async () => {
    const forward = await netnsForwarder.listen(target, { host: '127.0.0.1', port: 0, onError: (error) => expect.fail(error.message) });
    try {
      const { response, abort } = await open(forward.port, '/events');
      expect(response.headers['content-type']).toBe('text/event-stream');
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      // The stream never ends: every event arrives while it is open.
      await expect.poll(() => text, { timeout: 10_000 }).toBe(Array.from({ length: 10 }, (_, i) => `data: ${i}\n\n`).join(''));
      expect(forward.connections).toBe(1);
      abort();
      await serverSays('closed /events');
      await expect.poll(() => forward.connections).toBe(0);
    } finally {
      await forward.close();
    }
  }, 30_000);

  it('holds the server back while the client does not read (back-pressure), then delivers every byte', async () => {
    const forward = await netnsForwarder.listen(target, { host: '127.0.0.1', port: 0, onError: (error) => expect.fail(error.message) });
    const MIB = 192;
    try {
      const { response } = await open(forward.port, `/flood?mib=${MIB}`);
      response.pause();
      // Until the server is stuck (or done): what it wrote no longer grows.
      const writtenNow = async (): Promise<number> => Number((await fetchVia(forward.port, '/written')).body.toString());
      let written = -1;
      for (let seen = await writtenNow(); seen !== written; seen = await writtenNow()) {
        written = seen;
        await new Promise((done) => setTimeout(done, 500));
      }
      // The socket buffers on both hops hold a few MiB; without back-pressure the forwarder
      // would have taken all of it into memory.
      expect(written).toBeGreaterThan(0);
      expect(written).toBeLessThan(48 * 1024 * 1024);
      let received = 0;
      response.on('data', (chunk: Buffer) => (received += chunk.length));
      await new Promise((done) => response.on('end', done).resume());
      expect(received).toBe(MIB * 1024 * 1024);
    } finally {
      await forward.close();
    }
  }, 120_000);

  it('closes a connection whose dashboard is gone, says why, and leaves no socket after close', async () => {
    const before = openSockets();
    const errors: string[] = [];
    const forward = await netnsForwarder.listen({ ...target, port: PORT + 1 }, { host: '127.0.0.1', port: 0, onError: (error) => errors.push(error.message) });
    await expect(fetchVia(forward.port, '/')).rejects.toThrow(/socket hang up|ECONNRESET/u);
    expect(errors).toEqual([`connecting to 127.0.0.1:${PORT + 1} in network namespace ${ns.name}: connect ECONNREFUSED 127.0.0.1:${PORT + 1}`]);
    await forward.close();

    // Connections open (a stream, an idle one) when it closes are closed both ways.
    const live = await netnsForwarder.listen(target, { host: '127.0.0.1', port: 0, onError: (error) => expect.fail(error.message) });
    const stream = await open(live.port, '/events');
    stream.response.resume();
    const idle = new Socket();
    await new Promise<void>((done) => idle.connect(live.port, '127.0.0.1', done));
    await expect.poll(() => live.connections).toBe(2);
    // The listener, and per connection the client's socket, the accepted one and the node side.
    expect(newSockets(before).length).toBeGreaterThanOrEqual(7);
    said = said.replaceAll('closed /events', '');
    const idleClosed = new Promise((done) => idle.on('close', done));
    await live.close();
    await serverSays('closed /events');
    await idleClosed;
    await expect(fetchVia(live.port, '/')).rejects.toThrow(/ECONNREFUSED/u);
    expect(live.connections).toBe(0);
    stream.abort();
    idle.destroy();
    // Every socket made here (listeners, both sides of each connection, the clients) is closed.
    await expect.poll(() => newSockets(before)).toEqual([]);
  }, 30_000);

  it('twill ui --lab forwards a node whose agent says its dashboard listens there, prints the URL with its token, and stops on the signal', async () => {
    const lab = '/run/twt-ui-lab';
    const state = { version: 1, id: 'abc123', phase: 'up', spec: {}, createdDir: false, entries: [], netns: [], processes: [], lab: { nodes: [{ name: 'node-1', netns: ns.name, apiSocket: `${lab}/api.sock` }] } };
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      ...nodeIo(),
      stdout: { write: (text) => void (stdout += text), isTTY: false },
      stderr: { write: (text) => void (stderr += text), isTTY: false },
      files: { kind: async (path) => (path === `${lab}/lab.json` ? 'file' : 'missing'), list: async () => [], readText: async () => JSON.stringify(state) },
      agentTransport: () => ({
        request: async () => ({ status: 200, body: JSON.stringify({ node: 'node-1', ui: { enabled: true, url: `http://127.0.0.1:${PORT}/#token=t0k`, listen: { host: '127.0.0.1', port: PORT }, listening: true, clients: 0 } }) }),
      }),
    };
    const ctx: CommandContext = { io, style: styleFor(io), command: 'ui' };
    let stop: ((signal: string) => void) | undefined;
    const ran = runUi(ctx, { lab, open: false }, { opener: () => expect.fail('--no-open'), forwarder: { ...netnsForwarder, onStop: (handler) => ((stop = handler), () => undefined) }, defaultLabDir: () => lab });
    await expect.poll(() => stdout, { timeout: 10_000 }).toMatch(/^node-1: http:\/\/127\.0\.0\.1:\d+\/#token=t0k\n$/u);
    const port = Number(/:(\d+)\//u.exec(stdout)?.[1]);
    expect((await fetchVia(port, '/')).body.toString()).toBe(`host=127.0.0.1:${port}`);
    stop!('SIGINT');
    expect(await ran).toBe(0);
    expect(stderr).toContain('twill: ui: SIGINT: closing 1 forwards');
    await expect(fetchVia(port, '/')).rejects.toThrow(/ECONNREFUSED/u);
  }, 30_000);
});
