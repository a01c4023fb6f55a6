import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { FdWatcher, type FdReadiness, type SysError, watchFd } from '../src/index.js';

/** A FIFO in a fresh folder, both ends open non-blocking. */
function fifo(): { path: string; reader: number; writer: number } {
  const dir = mkdtempSync(join(tmpdir(), 'twt-poll-'));
  folders.push(dir);
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  fds.push(reader, writer);
  return { path, reader, writer };
}

/** Reads what is in a non-blocking descriptor now. */
function drain(fd: number): string {
  const buffer = Buffer.alloc(4096);
  let text = '';
  for (;;) {
    try {
      const n = readSync(fd, buffer);
      if (n === 0) return text;
      text += buffer.toString('utf8', 0, n);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return text;
      throw error;
    }
  }
}

/** The next `count` callbacks of a watcher, as a promise. */
function calls(count: number): { callback: (error: SysError | undefined, ready: FdReadiness) => void; done: Promise<(SysError | FdReadiness)[]> } {
  const seen: (SysError | FdReadiness)[] = [];
  let resolve: (value: (SysError | FdReadiness)[]) => void = () => undefined;
  const done = new Promise<(SysError | FdReadiness)[]>((r) => (resolve = r));
  return {
    callback: (error, ready) => {
      seen.push(error ?? ready);
      if (seen.length === count) resolve(seen);
    },
    done,
  };
}

const folders: string[] = [];
const fds: number[] = [];
const watchers: FdWatcher[] = [];

afterEach(() => {
  for (const watcher of watchers.splice(0)) watcher.close();
  for (const fd of fds.splice(0)) closeSync(fd);
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function track(watcher: FdWatcher): FdWatcher {
  watchers.push(watcher);
  return watcher;
}

describe('watchFd', () => {
  it('calls back when the descriptor becomes readable, and again while data stays unread', async () => {
    const { reader, writer } = fifo();
    const { callback, done } = calls(2);
    const watcher = track(watchFd(reader, { readable: true }, callback));
    expect(watcher).toBeInstanceOf(FdWatcher);
    expect(watcher.fd).toBe(reader);
    writeSync(writer, 'records');
    // Level-triggered: the unread bytes make it ready on the next loop turn too.
    expect(await done).toEqual([
      { readable: true, writable: false, disconnect: false },
      { readable: true, writable: false, disconnect: false },
    ]);
    expect(drain(reader)).toBe('records');
  });

  it('does not call back before anything is written, nor after close', async () => {
    const { reader, writer } = fifo();
    const seen: string[] = [];
    let woken: () => void = () => undefined;
    const watcher = track(
      watchFd(reader, { readable: true }, () => {
        seen.push(drain(reader));
        woken();
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual([]);
    await new Promise<void>((resolve) => {
      woken = resolve;
      writeSync(writer, 'a');
    });
    expect(seen).toEqual(['a']);
    watcher.close();
    expect(watcher.closed).toBe(true);
    writeSync(writer, 'b');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual(['a']);
    expect(drain(reader)).toBe('b');
    watcher.close(); // twice does nothing
  });

  it('reports a writable descriptor', async () => {
    const { writer } = fifo();
    const { callback, done } = calls(1);
    track(watchFd(writer, { writable: true }, callback));
    expect(await done).toEqual([{ readable: false, writable: true, disconnect: false }]);
  });

  it('refuses a second watcher on one descriptor, a closed descriptor, a regular file and no events', () => {
    const { reader } = fifo();
    track(watchFd(reader, { readable: true }, () => undefined));
    expect(() => watchFd(reader, { readable: true }, () => undefined)).toThrowError(expect.objectContaining({ name: 'SysError', code: 'EEXIST', syscall: 'uv_poll_init' }));
    expect(() => watchFd(1_000_000, { readable: true }, () => undefined)).toThrowError(expect.objectContaining({ code: 'EBADF' }));
    const file = openSync(fileURLToPath(import.meta.url), 'r');
    fds.push(file);
    expect(() => watchFd(file, { readable: true }, () => undefined)).toThrowError(expect.objectContaining({ code: 'EPERM' }));
    expect(() => watchFd(reader, {}, () => undefined)).toThrowError(/no event to watch for/);
    expect(() => watchFd(-1, { readable: true }, () => undefined)).toThrowError(/fd -1 is not a file descriptor/);
  });

  it('wakes a process blocked on nothing but the watcher, and closing it lets the process exit', async () => {
    const { path, writer } = fifo();
    // The child watches the FIFO, prints what it reads on the first wakeup, closes the
    // watcher and has nothing else keeping it alive.
    const script = `
      import { openSync, readSync, constants } from 'node:fs';
      import { watchFd } from '${fileURLToPath(new URL('../src/index.ts', import.meta.url))}';
      const fd = openSync(${JSON.stringify(path)}, constants.O_RDONLY | constants.O_NONBLOCK);
      const watcher = watchFd(fd, { readable: true }, (error, ready) => {
        const buffer = Buffer.alloc(64);
        process.stdout.write('read ' + buffer.toString('utf8', 0, readSync(fd, buffer)));
        watcher.close();
      });
      process.stdout.write('watching\\n');
    `;
    const child = node(script);
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('watching')) resolve();
      }),
    );
    writeSync(writer, 'wakeup');
    expect(await exited).toBe(0);
    expect(output).toBe('watching\nread wakeup');
  }, 30_000);

  it('an unref-ed watcher does not keep the process alive', async () => {
    const { path } = fifo();
    const script = `
      import { openSync, constants } from 'node:fs';
      import { watchFd } from '${fileURLToPath(new URL('../src/index.ts', import.meta.url))}';
      const fd = openSync(${JSON.stringify(path)}, constants.O_RDONLY | constants.O_NONBLOCK);
      watchFd(fd, { readable: true }, () => process.stdout.write('woken')).unref();
      process.stdout.write('watching');
    `;
    const child = node(script);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    expect(output).toBe('watching');
  }, 30_000);
});

/** Runs an ES module script in a child Node that resolves twill's sources. */
function node(script: string): ReturnType<typeof spawn> & { stdout: NodeJS.ReadableStream } {
  return spawn(process.execPath, ['--conditions=@twill/source', '--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }) as ReturnType<typeof spawn> & {
    stdout: NodeJS.ReadableStream;
  };
}
