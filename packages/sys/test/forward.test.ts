// The native forwarder (native/forward/twill-forward.c), exec'd as a runtime execs a
// plugin, against small frame servers written here: what it sends, what it prints, when
// it falls back to the standalone plugin, and that a server failing mid-request gets
// CNI code 11 without the request ever running twice.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const FORWARDER = join(import.meta.dirname, '..', 'build', 'Release', 'twill-forward');
const STDIN_CAP = 1024 * 1024 + 1;

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Request {
  readonly plugin: string;
  readonly env: string[];
  readonly stdin: Buffer;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twill-forward-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// The forwarder installed as `<dir>/demo-plugin`, with a standalone plugin beside it
// that reports how it was run and leaves a marker file.
function install(dir: string): { plugin: string; marker: string } {
  const plugin = join(dir, 'demo-plugin');
  const marker = join(dir, 'standalone-ran');
  copyFileSync(FORWARDER, plugin);
  writeFileSync(`${plugin}.standalone`, `#!/bin/sh\ntouch '${marker}'\necho "standalone $CNI_COMMAND $FOO"\ncat\nexit 4\n`, { mode: 0o755 });
  return { plugin, marker };
}

function run(plugin: string, env: Record<string, string>, stdin: string | Buffer = '{"cniVersion":"1.1.0"}'): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(plugin, [], { env: { PATH: '/usr/bin:/bin', CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', FOO: 'bar', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

// Reads one request frame off a connection (the layout of the forwarder's header comment).
function readRequest(socket: Socket): Promise<Request> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 8 || data.length < 8 + data.readUInt32BE(4)) return;
      if (data.subarray(0, 4).toString() !== 'TWQ1') reject(new Error('bad magic'));
      let at = 8;
      const field = (): Buffer => {
        const length = data.readUInt32BE(at);
        const value = data.subarray(at + 4, at + 4 + length);
        at += 4 + length;
        return value;
      };
      const plugin = field().toString();
      const count = data.readUInt32BE(at);
      at += 4;
      const env = Array.from({ length: count }, () => field().toString());
      resolve({ plugin, env, stdin: field() });
    });
  });
}

function response(exitCode: number, stdout: string, stderr: string): Buffer {
  const out = Buffer.from(stdout);
  const err = Buffer.from(stderr);
  const body = Buffer.alloc(12 + out.length + err.length);
  body.writeUInt32BE(exitCode, 0);
  body.writeUInt32BE(out.length, 4);
  out.copy(body, 8);
  body.writeUInt32BE(err.length, 8 + out.length);
  err.copy(body, 12 + out.length);
  const head = Buffer.alloc(8);
  head.write('TWR1');
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

// A server that hands each request to `reply` and records them.
async function frameServer(path: string, reply: (request: Request, socket: Socket) => void): Promise<Request[]> {
  const seen: Request[] = [];
  const server: Server = createServer((socket) => {
    // The forwarder may hang up first (it exits once it has its answer, or gives up).
    socket.on('error', () => undefined);
    void readRequest(socket).then((request) => {
      seen.push(request);
      reply(request, socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(() => server.close());
  return seen;
}

beforeAll(() => {
  if (!existsSync(FORWARDER)) throw new Error(`${FORWARDER} is missing: run \`npx node-gyp rebuild\` in packages/sys`);
});

describe('twill-forward with no server', () => {
  it('execs <own path>.standalone with the same environment and untouched stdin', async () => {
    const dir = tempDir();
    const { plugin } = install(dir);
    const out = await run(plugin, { TWILL_AGENT_SOCKET: join(dir, 'none.sock') }, '{"x":1}');
    expect(out).toEqual({ code: 4, stdout: 'standalone ADD bar\n{"x":1}', stderr: '' });
  });

  it('execs $TWILL_STANDALONE when set', async () => {
    const dir = tempDir();
    const { plugin } = install(dir);
    const other = join(dir, 'other');
    writeFileSync(other, '#!/bin/sh\necho other\n', { mode: 0o755 });
    expect(await run(plugin, { TWILL_AGENT_SOCKET: join(dir, 'none.sock'), TWILL_STANDALONE: other })).toMatchObject({ code: 0, stdout: 'other\n' });
  });

  it('falls back when the socket is stale (nobody listens on it)', async () => {
    const dir = tempDir();
    const { plugin } = install(dir);
    const stale = join(dir, 'stale.sock');
    // A process that binds and exits leaves its socket file behind.
    spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(stale)})`]);
    expect(existsSync(stale)).toBe(true);
    expect(await run(plugin, { TWILL_AGENT_SOCKET: stale })).toMatchObject({ code: 4, stdout: expect.stringContaining('standalone ADD') });
  });

  it('without a standalone plugin, answers CNI code 5 naming the file', async () => {
    const dir = tempDir();
    const plugin = join(dir, 'lonely');
    copyFileSync(FORWARDER, plugin);
    const out = await run(plugin, { TWILL_AGENT_SOCKET: join(dir, 'none.sock') });
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '1.1.0',
      code: 5,
      msg: 'no plugin server and no standalone plugin',
      details: `cannot exec ${plugin}.standalone: No such file or directory`,
    });
  });

  it('refuses a socket path longer than a unix address holds, with code 4', async () => {
    const dir = tempDir();
    const { plugin, marker } = install(dir);
    const out = await run(plugin, { TWILL_AGENT_SOCKET: `/tmp/${'x'.repeat(120)}` });
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 4, msg: 'TWILL_AGENT_SOCKET is longer than 107 bytes' });
    expect(existsSync(marker)).toBe(false);
  });
});

describe('twill-forward with a server', () => {
  it('sends the plugin name, the CNI_* variables and PATH, and stdin; relays the answer and its exit code', async () => {
    const dir = tempDir();
    const { plugin, marker } = install(dir);
    const socket = join(dir, 'agent.sock');
    const seen = await frameServer(socket, (_request, conn) => conn.end(response(3, '{"answer":true}\n', 'some log\n')));
    const out = await run(plugin, { TWILL_AGENT_SOCKET: socket, CNI_NETNS: '/proc/self/ns/net' }, '{"cniVersion":"1.0.0"}');
    expect(out).toEqual({ code: 3, stdout: '{"answer":true}\n', stderr: 'some log\n' });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.plugin).toBe('demo-plugin');
    expect([...(seen[0]?.env ?? [])].sort()).toEqual(['CNI_COMMAND=ADD', 'CNI_CONTAINERID=c1', 'CNI_NETNS=/proc/self/ns/net', 'PATH=/usr/bin:/bin']);
    expect(seen[0]?.stdin.toString()).toBe('{"cniVersion":"1.0.0"}');
    expect(existsSync(marker)).toBe(false);
  });

  it('stops reading stdin one byte over the plugins\' 1 MiB cap', async () => {
    const dir = tempDir();
    const { plugin } = install(dir);
    const socket = join(dir, 'agent.sock');
    const seen = await frameServer(socket, (_request, conn) => conn.end(response(0, '', '')));
    const out = await run(plugin, { TWILL_AGENT_SOCKET: socket }, Buffer.alloc(3 * 1024 * 1024, 0x20));
    expect(out.code).toBe(0);
    expect(seen[0]?.stdin.length).toBe(STDIN_CAP);
  });

  const failures: { name: string; reply: (conn: Socket) => void; env?: Record<string, string>; details: string }[] = [
    { name: 'closes the connection without answering', reply: (conn) => conn.destroy(), details: 'the server closed the connection before answering' },
    { name: 'answers with something that is not a response frame', reply: (conn) => conn.end('HTTP/1.1 400 Bad Request\r\n\r\n'), details: 'the answer is not a response frame' },
    {
      name: 'answers with a frame whose stdout overruns it',
      reply: (conn) => {
        const bad = response(0, 'abc', '');
        bad.writeUInt32BE(1000, 12);
        conn.end(bad);
      },
      details: "the answer's stdout overruns its frame",
    },
    { name: 'never answers (TWILL_FORWARD_TIMEOUT_MS=300)', reply: () => undefined, env: { TWILL_FORWARD_TIMEOUT_MS: '300' }, details: 'timed out waiting for the answer' },
  ];

  it.each(failures)('a server that $name: CNI code 11, exit 1, the standalone plugin never runs', async ({ reply, env, details }) => {
    const dir = tempDir();
    const { plugin, marker } = install(dir);
    const socket = join(dir, 'agent.sock');
    const seen = await frameServer(socket, (_request, conn) => reply(conn));
    const out = await run(plugin, { TWILL_AGENT_SOCKET: socket, ...env });
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '1.1.0', code: 11, msg: 'forwarding the request to the plugin server failed', details });
    expect(out.stderr).toBe(`twill-forward: ${details}\n`);
    expect(seen).toHaveLength(1);
    expect(existsSync(marker)).toBe(false);
  });

  it('a socket that refuses for lack of permission is an error, not a fallback', async () => {
    // Root ignores the socket's mode; a socket path under a regular file gives ENOTDIR instead.
    const dir = tempDir();
    const { plugin, marker } = install(dir);
    writeFileSync(join(dir, 'file'), '');
    const out = await run(plugin, { TWILL_AGENT_SOCKET: join(dir, 'file', 'agent.sock') });
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 11, details: 'connect: Not a directory' });
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('');
  });
});
