// Real executables as test plugins: small `#!/bin/sh` scripts written to a temporary
// folder. Each call records its environment and stdin in a numbered folder of the call
// log, then answers as the test set it up (stdout, exit code, a sleep) per command.
// Nothing about the plugin is interpolated into the script: it learns its own name from
// `$0`, so names with shell metacharacters stay inert.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { CniRuntime, type CniRuntimeOptions } from '../../src/invoke/runtime.js';
import { nodePluginExec } from '../../src/invoke/sys/node-exec.js';
import { fileResultCache } from '../../src/invoke/sys/file-cache.js';

// $1.. are unused: a CNI plugin gets no arguments. Control files are looked up by the
// plugin's own file name, quoted, so `a;b` or `$(x)` in a name is never evaluated.
const SCRIPT = `#!/bin/sh
here=$(dirname "$0")
me=$(basename "$0")
log="$here/../log"
ctl="$here/../ctl/$me.$CNI_COMMAND"
n=$(ls "$log" | wc -l)
call="$log/$(printf '%04d' "$n")"
mkdir "$call"
printf '%s' "$me" > "$call/type"
printf '%s' "$0" > "$call/file"
env -0 > "$call/env"
cat > "$call/stdin"
echo $$ > "$call/pid"
[ -f "$ctl.stderr" ] && cat "$ctl.stderr" >&2
if [ -f "$ctl.sleep" ]; then sleep "$(cat "$ctl.sleep")" & echo $! > "$call/child"; wait; fi
[ -f "$ctl.out" ] && cat "$ctl.out"
[ -f "$ctl.code" ] && exit "$(cat "$ctl.code")"
exit 0
`;

/** One recorded plugin call. */
export interface RecordedCall {
  /** The plugin's file name. */
  readonly type: string;
  /** The path it ran from. */
  readonly file: string;
  /** Its CNI_COMMAND. */
  readonly command: string;
  /** Every variable it saw. */
  readonly env: Readonly<Record<string, string>>;
  /** Its stdin as text. */
  readonly stdinText: string;
  /** Its stdin parsed as JSON (undefined when it is not JSON). */
  readonly stdin: Record<string, unknown> | undefined;
  /** The shell's pid. */
  readonly pid: number;
  /** The pid of its `sleep` child, when it slept. */
  readonly childPid: number | undefined;
}

/** How a fake plugin answers one command. */
export interface Behaviour {
  /** Printed on stdout: a string as is, anything else as JSON. */
  readonly stdout?: unknown;
  readonly stderr?: string;
  readonly exitCode?: number;
  /** Seconds to sleep first (as a child of the script's shell). */
  readonly sleepSeconds?: number;
}

/** The VERSION answer of every fake plugin unless a test changes it. */
export const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

/** A folder of fake plugins, its call log, and a runtime over them. */
export class FakePlugins {
  /** The temporary root: `bin*` folders, `log`, `ctl`, `cache`. */
  readonly root = mkdtempSync(join(tmpdir(), 'twill-invoke-'));
  /** The first plugin folder (CNI_PATH's first entry). */
  readonly bin: string;
  readonly cacheDir: string;
  readonly #log: string;
  readonly #ctl: string;

  constructor() {
    this.bin = this.folder('bin');
    this.#log = join(this.root, 'log');
    this.#ctl = join(this.root, 'ctl');
    this.cacheDir = join(this.root, 'cache');
    mkdirSync(this.#log);
    mkdirSync(this.#ctl);
  }

  /** A further plugin folder next to `bin` (the script finds log/ctl as ../log, ../ctl). */
  folder(name: string): string {
    const dir = join(this.root, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Writes an executable fake plugin `name` into `dir` (default `bin`), answering VERSION with all versions. */
  plugin(name: string, dir = this.bin): string {
    const file = join(dir, name);
    writeFileSync(file, SCRIPT);
    chmodSync(file, 0o755);
    if (!existsSync(this.#control(name, 'VERSION', 'out'))) {
      this.on(name, 'VERSION', { stdout: { cniVersion: '1.1.0', supportedVersions: ALL_VERSIONS } });
    }
    return file;
  }

  /** Sets how plugin `name` answers `command` (replacing what was set before). */
  on(name: string, command: string, behaviour: Behaviour): void {
    for (const what of ['out', 'stderr', 'code', 'sleep']) rmSync(this.#control(name, command, what), { force: true });
    if (behaviour.stdout !== undefined) {
      const text = typeof behaviour.stdout === 'string' ? behaviour.stdout : JSON.stringify(behaviour.stdout);
      writeFileSync(this.#control(name, command, 'out'), text);
    }
    if (behaviour.stderr !== undefined) writeFileSync(this.#control(name, command, 'stderr'), behaviour.stderr);
    if (behaviour.exitCode !== undefined) writeFileSync(this.#control(name, command, 'code'), String(behaviour.exitCode));
    if (behaviour.sleepSeconds !== undefined) writeFileSync(this.#control(name, command, 'sleep'), String(behaviour.sleepSeconds));
  }

  /** Every call so far, in order; clears the log when `clear`. */
  calls(options: { clear?: boolean } = {}): RecordedCall[] {
    const out = readdirSync(this.#log)
      .sort()
      .map((entry): RecordedCall => {
        const dir = join(this.#log, entry);
        const env = Object.fromEntries(
          readFileSync(join(dir, 'env'), 'utf8')
            .split('\0')
            .filter((line) => line.includes('='))
            .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
        );
        const stdinText = readFileSync(join(dir, 'stdin'), 'utf8');
        let stdin: Record<string, unknown> | undefined;
        try {
          stdin = JSON.parse(stdinText) as Record<string, unknown>;
        } catch {
          stdin = undefined;
        }
        const pidText = existsSync(join(dir, 'pid')) ? readFileSync(join(dir, 'pid'), 'utf8') : '0';
        return {
          type: readFileSync(join(dir, 'type'), 'utf8'),
          file: readFileSync(join(dir, 'file'), 'utf8'),
          command: env['CNI_COMMAND'] ?? '',
          env,
          stdinText,
          stdin,
          pid: Number(pidText.trim()),
          childPid: existsSync(join(dir, 'child')) ? Number(readFileSync(join(dir, 'child'), 'utf8').trim()) : undefined,
        };
      });
    if (options.clear === true) for (const entry of readdirSync(this.#log)) rmSync(join(this.#log, entry), { recursive: true });
    return out;
  }

  /** `type/COMMAND` of every call so far, in order. */
  sequence(): string[] {
    return this.calls().map((c) => `${c.type}/${c.command}`);
  }

  /** A runtime over `bin` (or the given path) with the file cache under `cacheDir`. */
  runtime(options: Partial<CniRuntimeOptions> = {}): CniRuntime {
    return new CniRuntime({
      path: [this.bin],
      exec: nodePluginExec(),
      cache: fileResultCache(this.cacheDir),
      ...options,
    });
  }

  /** The libcni cache file of an attachment. */
  cacheFile(network: string, containerId: string, ifName: string): string {
    return join(this.cacheDir, 'results', `${network}-${containerId}-${ifName}`);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  #control(name: string, command: string, what: string): string {
    return join(this.#ctl, `${basename(name)}.${command}.${what}`);
  }
}

/** A result with one interface and one address, as a bridge-like plugin prints it. */
export function sampleResult(address: string, version = '1.0.0'): Record<string, unknown> {
  return {
    cniVersion: version,
    interfaces: [{ name: 'eth0', mac: '0a:58:0a:01:00:05', sandbox: '/var/run/netns/pod' }],
    ips: [{ address, interface: 0 }],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {},
  };
}

/** Whether a process is gone (or a zombie waiting to be reaped, which runs no more). */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name (proc(5)).
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

