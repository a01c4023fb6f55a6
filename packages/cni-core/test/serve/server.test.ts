// servePlugins with the built native forwarder exec'd in front of it, as a runtime
// execs a plugin: the same answers as the plugin run standalone, many callers at once,
// fallback when no server runs, code 11 when the server dies mid-request, bad frames
// refused while the server stays up, and the socket's mode and stale-socket rules.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  CniError,
  decodeResponseFrame,
  encodeRequestFrame,
  installForwardedPlugin,
  type PluginHandlers,
  PluginServerError,
  type PluginServer,
  servePlugins,
} from '../../src/index.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twill-serve-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function serve(socketPath: string, plugins: Record<string, PluginHandlers>): Promise<PluginServer> {
  const server = await servePlugins({ socketPath, plugins });
  cleanups.push(() => server.close());
  return server;
}

// A plugin that answers ADD with an address made from the container ID, and fails DEL
// with its own code, so both paths of runPlugin show.
const echo: PluginHandlers = {
  add: ({ containerId }) => ({ cniVersion: '1.1.0', ips: [{ address: `10.9.0.${containerId.length}/24` }] }),
  del: ({ containerId }) => {
    throw new CniError(120, `no ${containerId}`);
  },
  check: () => undefined,
};

// The standalone plugin: a shell script printing what the server's answer would be, so
// answers with and without the server can be compared byte for byte.
const STANDALONE = `#!/bin/sh
cat >/dev/null
n=$(printf %s "$CNI_CONTAINERID" | wc -c)
printf '{\\n    "cniVersion": "1.0.0",\\n    "ips": [\\n        {\\n            "address": "10.9.0.%s/24"\\n        }\\n    ]\\n}\\n' "$n"
`;

async function installEcho(dir: string): Promise<string> {
  const { plugin } = await installForwardedPlugin({ binDir: join(dir, 'bin'), name: 'echo', standalone: STANDALONE });
  return plugin;
}

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function exec(plugin: string, env: Record<string, string>, stdin = '{"cniVersion":"1.0.0","name":"n","type":"echo"}'): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(plugin, [], {
      env: { PATH: '/usr/bin:/bin', CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

// One raw exchange with a server: bytes in, the bytes it answered before closing.
function exchange(path: string, bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

describe('the forwarder in front of servePlugins', () => {
  it('gives the same answer as the standalone plugin, and the plugin\'s own errors', async () => {
    const dir = tempDir();
    const plugin = await installEcho(dir);
    const socket = join(dir, 'agent.sock');
    const standalone = await exec(plugin, { TWILL_AGENT_SOCKET: socket });
    await serve(socket, { echo });
    const served = await exec(plugin, { TWILL_AGENT_SOCKET: socket });
    expect(served).toEqual({ code: 0, stdout: standalone.stdout, stderr: '' });
    expect(JSON.parse(served.stdout)).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.9.0.3/24' }] });
    const del = await exec(plugin, { TWILL_AGENT_SOCKET: socket, CNI_COMMAND: 'DEL' });
    expect(del.code).toBe(1);
    expect(JSON.parse(del.stdout)).toEqual({ cniVersion: '1.0.0', code: 120, msg: 'no abc' });
  });

  it('answers 32 callers at once, each its own answer', async () => {
    const dir = tempDir();
    const plugin = await installEcho(dir);
    const socket = join(dir, 'agent.sock');
    let running = 0;
    let most = 0;
    await serve(socket, {
      echo: {
        ...echo,
        add: async ({ containerId }) => {
          running += 1;
          most = Math.max(most, running);
          // Hold each request until several are in: they run concurrently, not in turn.
          await new Promise((resolve) => setTimeout(resolve, 50));
          running -= 1;
          return { cniVersion: '1.1.0', ips: [{ address: `10.9.0.${containerId.slice(1)}/24` }] };
        },
      },
    });
    const outcomes = await Promise.all(Array.from({ length: 32 }, (_, i) => exec(plugin, { TWILL_AGENT_SOCKET: socket, CNI_CONTAINERID: `c${i + 1}` })));
    expect(outcomes.map((o) => JSON.parse(o.stdout).ips[0].address)).toEqual(Array.from({ length: 32 }, (_, i) => `10.9.0.${i + 1}/24`));
    expect(most).toBeGreaterThan(1);
  });

  it('names the plugins it serves when asked for another', async () => {
    const dir = tempDir();
    const { plugin } = await installForwardedPlugin({ binDir: join(dir, 'bin'), name: 'other', standalone: STANDALONE });
    const socket = join(dir, 'agent.sock');
    await serve(socket, { echo });
    const out = await exec(plugin, { TWILL_AGENT_SOCKET: socket });
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '1.1.0', code: 5, msg: 'this plugin server does not serve "other"', details: 'it serves "echo"' });
  });

  it('after close, the socket is gone and the forwarder falls back to the standalone plugin', async () => {
    const dir = tempDir();
    const plugin = await installEcho(dir);
    const socket = join(dir, 'agent.sock');
    const server = await servePlugins({ socketPath: socket, plugins: { echo } });
    await server.close();
    expect(existsSync(socket)).toBe(false);
    expect(await exec(plugin, { TWILL_AGENT_SOCKET: socket })).toMatchObject({ code: 0, stdout: expect.stringContaining('10.9.0.3/24') });
  });

  it('a server process killed mid-request: code 11, and the request is not run again standalone', async () => {
    const dir = tempDir();
    const marker = join(dir, 'standalone-ran');
    const { plugin } = await installForwardedPlugin({ binDir: join(dir, 'bin'), name: 'echo', standalone: `#!/bin/sh\ntouch '${marker}'\n` });
    const socket = join(dir, 'agent.sock');
    // A separate process that accepts, reads the request and is then SIGKILLed.
    const script = `const s=require('net').createServer(c=>c.once('data',()=>process.stdout.write('got\\n'))).listen(${JSON.stringify(socket)},()=>process.stdout.write('up\\n'))`;
    const server = spawn(process.execPath, ['-e', script]);
    cleanups.push(() => server.kill('SIGKILL'));
    await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
    const call = exec(plugin, { TWILL_AGENT_SOCKET: socket });
    await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
    server.kill('SIGKILL');
    const out = await call;
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 11, details: 'the server closed the connection before answering' });
    expect(existsSync(marker)).toBe(false);
  });
});

describe('servePlugins', () => {
  it('creates the socket with mode 0600 (and its folder when missing)', async () => {
    const dir = tempDir();
    const socket = join(dir, 'run', 'twill', 'agent.sock');
    await serve(socket, { echo });
    const stats = lstatSync(socket);
    expect(stats.isSocket()).toBe(true);
    expect(stats.mode & 0o777).toBe(0o600);
  });

  it('answers a bad frame with code 6 on that connection and keeps serving', async () => {
    const dir = tempDir();
    const socket = join(dir, 'agent.sock');
    await serve(socket, { echo });
    const bad = decodeResponseFrame(await exchange(socket, new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')));
    expect(bad.exitCode).toBe(1);
    expect(JSON.parse(new TextDecoder().decode(bad.stdout))).toEqual({ cniVersion: '1.1.0', code: 6, msg: 'plugin server frame: not a "TWQ1" frame (at byte 0)' });
    const extra = encodeRequestFrame({ plugin: 'echo', env: {}, stdin: new Uint8Array() });
    const trailing = decodeResponseFrame(await exchange(socket, Uint8Array.from([...extra, 1, 2])));
    expect(JSON.parse(new TextDecoder().decode(trailing.stdout))).toMatchObject({ code: 6, msg: `plugin server frame: 2 bytes after the request frame (at byte ${extra.length})` });
    const good = decodeResponseFrame(
      await exchange(socket, encodeRequestFrame({ plugin: 'echo', env: { CNI_COMMAND: 'VERSION' }, stdin: new TextEncoder().encode('{"cniVersion":"1.0.0"}') })),
    );
    expect(good.exitCode).toBe(0);
    expect(JSON.parse(new TextDecoder().decode(good.stdout))).toMatchObject({ cniVersion: '1.0.0' });
  });

  it('replaces a stale socket, but not a live one, nor a file that is no socket', async () => {
    const dir = tempDir();
    const stale = join(dir, 'stale.sock');
    spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(stale)})`]);
    expect(lstatSync(stale).isSocket()).toBe(true);
    await serve(stale, { echo });
    const again = servePlugins({ socketPath: stale, plugins: { echo } });
    await expect(again).rejects.toThrow(PluginServerError);
    await expect(again).rejects.toThrow(`another process serves ${stale}`);
    const file = join(dir, 'file');
    writeFileSync(file, 'keep');
    await expect(servePlugins({ socketPath: file, plugins: { echo } })).rejects.toThrow(`${file} exists and is not a socket`);
  });

  it('close() waits for a request being answered and delivers its answer', async () => {
    const dir = tempDir();
    const plugin = await installEcho(dir);
    const socket = join(dir, 'agent.sock');
    let release: () => void = () => undefined;
    let started: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => (started = resolve));
    const server = await servePlugins({
      socketPath: socket,
      plugins: {
        echo: {
          ...echo,
          add: async () => {
            started();
            await new Promise<void>((resolve) => (release = resolve));
            return { cniVersion: '1.1.0', ips: [{ address: '10.9.0.77/24' }] };
          },
        },
      },
    });
    const call = exec(plugin, { TWILL_AGENT_SOCKET: socket });
    await inHandler;
    expect(server.inFlight).toBe(1);
    const closed = server.close();
    release();
    await closed;
    expect(await call).toMatchObject({ code: 0, stdout: expect.stringContaining('10.9.0.77/24') });
    expect(existsSync(socket)).toBe(false);
  });

  it('leaves a socket it no longer owns in place on close', async () => {
    const dir = tempDir();
    const socket = join(dir, 'agent.sock');
    const server = await servePlugins({ socketPath: socket, plugins: { echo } });
    // Another server took the path over (its socket renamed onto it).
    rmSync(socket);
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(socket, resolve));
    cleanups.push(() => other.close());
    await server.close();
    expect(lstatSync(socket).isSocket()).toBe(true);
  });
});
