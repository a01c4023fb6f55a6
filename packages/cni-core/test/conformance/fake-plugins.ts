// Tiny `#!/bin/sh` CNI plugins written at test time, and a strict fake namespace port
// (temp files stand in for namespaces: a real one cannot be made without root).
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type NamespacePort, type ThrowawayNetns } from '../../src/conformance/types.js';

/** What a test plugin gets wrong. */
export const FLAW = {
  /** Prints a stack trace on stdout instead of the error document. */
  STACK_TRACE: 'stack-trace',
  /** Answers invalid JSON with code 7 instead of 6. */
  WRONG_CODE: 'wrong-code',
  /** DEL of an unknown container fails. */
  DEL_NOT_IDEMPOTENT: 'del-not-idempotent',
  /** DEL fails when the namespace is gone. */
  DEL_NEEDS_NETNS: 'del-needs-netns',
  /** ADD gives an address without a prefix length. */
  BAD_RESULT: 'bad-result',
  /** VERSION claims a malformed version. */
  BAD_VERSION: 'bad-version',
  /** Prints a log line on stdout before DEL succeeds. */
  CHATTY_DEL: 'chatty-del',
} as const;

/** One of {@link FLAW}. */
export type Flaw = (typeof FLAW)[keyof typeof FLAW];

/** Every version a test plugin claims by default. */
export const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

function script(stateDir: string, versions: readonly string[], flaws: ReadonlySet<Flaw>): string {
  const has = (flaw: Flaw): boolean => flaws.has(flaw);
  const claimed = (has(FLAW.BAD_VERSION) ? [...versions, '1.x'] : versions).map((v) => `"${v}"`).join(',');
  const prefix = has(FLAW.BAD_RESULT) ? '' : '/24';
  return `#!/bin/sh
# A CNI test plugin. Flaws: ${[...flaws].join(', ') || 'none'}.
STATE='${stateDir}'
VERSIONS='${claimed}'
input=$(cat)
fail() {
${has(FLAW.STACK_TRACE) ? `  echo "TypeError: $2"; echo "    at main (/opt/plugin.js:12:7)"; exit 1` : `  printf '{"cniVersion":"1.1.0","code":%s,"msg":"%s"}\\n' "$1" "$2"; exit 1`}
}
ver=$(printf '%s' "$input" | sed -n 's/.*"cniVersion":"\\([^"]*\\)".*/\\1/p')
[ -n "$CNI_COMMAND" ] || fail 4 "CNI_COMMAND: missing"
case "$CNI_COMMAND" in
  VERSION) printf '{"cniVersion":"%s","supportedVersions":[%s]}\\n' "\${ver:-1.1.0}" "$VERSIONS"; exit 0 ;;
  ADD|DEL|CHECK|GC|STATUS) ;;
  *) fail 4 "unknown CNI_COMMAND $CNI_COMMAND" ;;
esac
case "$CNI_COMMAND" in ADD|DEL|CHECK)
  [ -n "$CNI_CONTAINERID" ] || fail 4 "CNI_CONTAINERID: missing"
  case "$CNI_CONTAINERID" in [A-Za-z0-9]*) ;; *) fail 4 "CNI_CONTAINERID: invalid" ;; esac
  case "$CNI_CONTAINERID" in *[!A-Za-z0-9_.-]*) fail 4 "CNI_CONTAINERID: invalid" ;; esac
  [ -n "$CNI_IFNAME" ] || fail 4 "CNI_IFNAME: missing" ;;
esac
case "$CNI_COMMAND" in ADD|CHECK) [ -n "$CNI_NETNS" ] || fail 4 "CNI_NETNS: missing" ;; esac
case "$input" in '{'*'}') ;; *) fail ${has(FLAW.WRONG_CODE) ? 7 : 6} "invalid JSON" ;; esac
case ",$VERSIONS," in *",\\"$ver\\","*) ;; *) fail 1 "unsupported version $ver" ;; esac
case "$input" in *'"name":'*) ;; *) fail 7 "name: missing" ;; esac
case "$CNI_COMMAND" in
  ADD)
    [ -e "$CNI_NETNS" ] || fail 100 "no namespace at $CNI_NETNS"
    : > "$STATE/$CNI_CONTAINERID"
    case "$ver" in
      0.1.0|0.2.0) printf '{"cniVersion":"%s","ip4":{"ip":"10.0.0.2${prefix}"}}\\n' "$ver" ;;
      0.3.0|0.3.1|0.4.0) printf '{"cniVersion":"%s","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"version":"4","address":"10.0.0.2${prefix}","interface":0}]}\\n' "$ver" "$CNI_IFNAME" "$CNI_NETNS" ;;
      *) printf '{"cniVersion":"%s","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"address":"10.0.0.2${prefix}","interface":0}]}\\n' "$ver" "$CNI_IFNAME" "$CNI_NETNS" ;;
    esac ;;
  DEL)
${has(FLAW.DEL_NEEDS_NETNS) ? '    [ -e "$CNI_NETNS" ] || fail 100 "no namespace at $CNI_NETNS"\n' : ''}${has(FLAW.DEL_NOT_IDEMPOTENT) ? '    [ -e "$STATE/$CNI_CONTAINERID" ] || fail 100 "unknown container $CNI_CONTAINERID"\n' : ''}${has(FLAW.CHATTY_DEL) ? '    echo "deleting $CNI_CONTAINERID"\n' : ''}    rm -f "$STATE/$CNI_CONTAINERID" ;;
  CHECK) [ -e "$STATE/$CNI_CONTAINERID" ] || fail 100 "container $CNI_CONTAINERID is not attached" ;;
  GC)
    for f in "$STATE"/*; do
      [ -e "$f" ] || continue
      case "$input" in *"\\"containerID\\":\\"\${f##*/}\\""*) ;; *) rm -f "$f" ;; esac
    done ;;
  STATUS) ;;
esac
exit 0
`;
}

/** A folder of test plugins and their state, removed by {@link PluginFolder.remove}. */
export class PluginFolder {
  private constructor(
    /** The folder: put it on the suite's path. */
    readonly dir: string,
  ) {}

  /** A new empty folder under the system's temp folder. */
  static async create(): Promise<PluginFolder> {
    return new PluginFolder(await mkdtemp(join(tmpdir(), 'twill-conformance-')));
  }

  /** Writes plugin `name` with the given flaws; gives its state folder (one file per attached container). */
  async write(name: string, options: { flaws?: readonly Flaw[]; versions?: readonly string[] } = {}): Promise<string> {
    const state = join(this.dir, `${name}.state`);
    await mkdir(state, { recursive: true });
    const file = join(this.dir, name);
    await writeFile(file, script(state, options.versions ?? ALL_VERSIONS, new Set(options.flaws ?? [])));
    await chmod(file, 0o755);
    return state;
  }

  /** The containers a plugin still holds. */
  async attached(name: string): Promise<string[]> {
    return (await readdir(join(this.dir, `${name}.state`))).sort();
  }

  /** Removes the folder. */
  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A strict fake {@link NamespacePort}: each "namespace" is an empty temp file. Removing
 * one it never made throws; {@link FakeNamespaces.alive} lists what was not removed.
 */
export class FakeNamespaces implements NamespacePort {
  readonly #made = new Set<string>();
  readonly #alive = new Set<string>();
  #count = 0;

  constructor(readonly dir: string) {}

  async create(): Promise<ThrowawayNetns> {
    this.#count += 1;
    const path = join(this.dir, `netns-${this.#count}`);
    await writeFile(path, '', { flag: 'wx' });
    this.#made.add(path);
    this.#alive.add(path);
    return { path };
  }

  async remove(netns: ThrowawayNetns): Promise<void> {
    if (!this.#made.has(netns.path)) throw new Error(`fake netns: ${netns.path} was not made here`);
    await rm(netns.path, { force: true });
    this.#alive.delete(netns.path);
  }

  /** Namespaces made and not removed. */
  alive(): string[] {
    return [...this.#alive].sort();
  }

  /** How many were made. */
  get made(): number {
    return this.#count;
  }
}
