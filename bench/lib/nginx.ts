// Debian's nginx as a benchmark peer, started in a network namespace with a private
// prefix directory (configuration, pid file, error log and temporary paths all inside it:
// nothing under /etc/nginx or /var is read or written), in the foreground so that the
// caller holds the master's pid and stops exactly that process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Options for {@link startNginx}. */
export interface NginxOptions {
  /** The network namespace to run in. */
  readonly netns: string;
  /** A directory of its own (created if missing): configuration, pid, logs, temporary files. */
  readonly dir: string;
  /** Worker processes: a count, or `auto` (one per CPU). */
  readonly workers: number | 'auto';
  /** What goes inside `http { }` after the common settings: `server` and `upstream` blocks. */
  readonly http: string;
}

/** A running nginx. */
export interface Nginx {
  /** The master's pid. */
  readonly pid: number;
  /** The workers' pids (children of the master, read from /proc). */
  workerPids(): number[];
  /** Stops the master (SIGTERM: fast shutdown; SIGKILL after 3 s); the workers exit with it. */
  stop(): Promise<void>;
}

/** Its configuration: the common settings (logs off, keep-alive for the benchmark's long runs) and `http`. */
export function nginxConfig(options: Pick<NginxOptions, 'dir' | 'workers' | 'http'>): string {
  const { dir } = options;
  return `# written by bench/lib/nginx.ts
daemon off;
master_process on;
worker_processes ${options.workers};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  client_body_temp_path ${join(dir, 'tmp', 'body')};
  proxy_temp_path ${join(dir, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(dir, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(dir, 'tmp', 'scgi')};
  # wrk keeps its connections for the whole run: no close every 1000 requests (the default).
  keepalive_requests 1000000;
  keepalive_timeout 75s;
${options.http}
}
`;
}

/** The pids whose parent is `parent` (from /proc/PID/stat, field 4). */
function childrenOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return pids;
}

/**
 * Writes the configuration, checks it (`nginx -t`), starts nginx and waits until its
 * workers run (at most 5 s).
 * @throws {Error} with nginx's own message when the configuration is refused or it exits.
 */
export async function startNginx(options: NginxOptions): Promise<Nginx> {
  mkdirSync(join(options.dir, 'tmp'), { recursive: true });
  const conf = join(options.dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(options));
  const args = ['netns', 'exec', options.netns, 'nginx', '-p', options.dir, '-c', conf];
  const child: ChildProcess = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => void (stderr += b.toString()));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`nginx in ${options.netns} did not start`);
  const deadline = Date.now() + 5000;
  const want = options.workers === 'auto' ? 1 : options.workers;
  while (childrenOf(pid).length < want || !existsSync(join(options.dir, 'nginx.pid'))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) child.kill('SIGKILL');
      const log = existsSync(join(options.dir, 'error.log')) ? readFileSync(join(options.dir, 'error.log'), 'utf8') : '';
      throw new Error(`nginx in ${options.netns} (${conf}) ${child.exitCode === null ? 'did not start its workers in 5 s' : `exited ${child.exitCode}`}: ${stderr.trim()} ${log.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    pid,
    workerPids: () => childrenOf(pid),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
