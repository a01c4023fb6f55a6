// A unix socket that appears at its path with mode 0600 already set, and that replaces
// only a socket nobody answers on: bound in a fresh private folder beside the path,
// chmod-ed, then renamed onto the path. The plugin server (server.ts) and twill-agent's
// API server listen through it, so both follow one stale-socket rule.
import { chmod, lstat, mkdir, mkdtemp, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import { dirname, join } from 'node:path';

import { PLUGIN_SERVER_ERROR, PluginServerError } from '../errors.js';

/** A socket bound by {@link listenUnixSocket}. */
export interface UnixSocketBinding {
  /** The socket's path. */
  readonly socketPath: string;
  /** Removes the socket file, only when the path still is this socket (not one another server put there since). */
  remove(): Promise<void>;
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

// Whether a process accepts connections on `path` now.
function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error) => {
      if (errnoOf(error) === 'ECONNREFUSED' || errnoOf(error) === 'ENOENT') resolve(false);
      else reject(error);
    });
  });
}

// Refuses a path held by a live server or by something that is not a socket; a stale
// socket (nobody answers) is left for the rename to replace.
async function checkFree(path: string): Promise<void> {
  let kind;
  try {
    kind = await lstat(path);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return;
    throw error;
  }
  if (!kind.isSocket()) throw new PluginServerError(PLUGIN_SERVER_ERROR.NOT_A_SOCKET, `${path} exists and is not a socket`);
  if (await answers(path)) throw new PluginServerError(PLUGIN_SERVER_ERROR.SOCKET_IN_USE, `another process serves ${path}`);
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Makes `server` (a `node:net` or `node:http` server, not listening yet) listen on the
 * unix socket `socketPath`. The folder is created (mode 0755) when missing. The socket is
 * bound in a fresh private folder beside the path, set to mode 0600 and renamed onto the
 * path, so no client ever sees it with wider permissions; an existing socket is replaced
 * only when nothing answers on it (left by a killed process).
 * @throws PluginServerError `SOCKET_IN_USE` when a live server holds the path,
 * `NOT_A_SOCKET` when a file that is no socket does; a Node error when the folder or the
 * socket cannot be made. The server is closed when it fails.
 */
export async function listenUnixSocket(server: Server, socketPath: string): Promise<UnixSocketBinding> {
  const folder = dirname(socketPath);
  await mkdir(folder, { recursive: true, mode: 0o755 });
  await checkFree(socketPath);
  const staging = await mkdtemp(join(folder, '.twill-serve-'));
  const staged = join(staging, 'socket');
  let identity: { dev: number; ino: number };
  try {
    await listen(server, staged);
    await chmod(staged, 0o600);
    await rename(staged, socketPath);
    const stats = await stat(socketPath);
    identity = { dev: stats.dev, ino: stats.ino };
  } catch (error) {
    server.close();
    throw error;
  } finally {
    await rmdir(staging).catch(() => undefined);
  }
  return {
    socketPath,
    remove: async () => {
      try {
        const now = await stat(socketPath);
        if (now.dev === identity.dev && now.ino === identity.ino) await unlink(socketPath);
      } catch {
        // Already gone, or replaced by another server's socket: not ours to remove.
      }
    },
  };
}
